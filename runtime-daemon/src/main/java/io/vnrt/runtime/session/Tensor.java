package io.vnrt.runtime.session;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.DeviceSet;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A tensor owned by a session: a typed view of [blockOffset, blockOffset + sizeBytes) of a shared
 * HBM block. Its memory is reached only through a {@link Pin}, which keeps it alive while in use.
 */
public final class Tensor {
  private final String handle;
  private final String name;
  private final DType dtype;
  private final List<Long> shape;
  private final long sizeBytes;
  private final int deviceId;
  private final int coreId;
  private final boolean host;
  private final String parentHandle;
  private final long parentOffset;
  private final SharedBlock block;
  private final long blockOffset;
  private final DeviceSet devices;
  private final AtomicBoolean live = new AtomicBoolean(true);

  Tensor(String handle, String name, DType dtype, List<Long> shape, long sizeBytes, int deviceId, int coreId,
      boolean host, String parentHandle, long parentOffset, SharedBlock block, long blockOffset, DeviceSet devices) {
    this.handle = handle;
    this.name = name;
    this.dtype = dtype;
    this.shape = List.copyOf(shape);
    this.sizeBytes = sizeBytes;
    this.deviceId = deviceId;
    this.coreId = coreId;
    this.host = host;
    this.parentHandle = parentHandle;
    this.parentOffset = parentOffset;
    this.block = block;
    this.blockOffset = blockOffset;
    this.devices = devices;
  }

  /** The opaque handle. */
  public String handle() {
    return handle;
  }

  /** Display name, or "". */
  public String name() {
    return name;
  }

  /** Element type. */
  public DType dtype() {
    return dtype;
  }

  /** Dimensions. */
  public List<Long> shape() {
    return shape;
  }

  /** Size in bytes. */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** Device holding the bytes, or {@link DeviceSet#HOST_DEVICE_ID}. */
  public int deviceId() {
    return deviceId;
  }

  /** Global core charged, or -1. */
  public int coreId() {
    return coreId;
  }

  /** True for daemon host memory. */
  public boolean isHost() {
    return host;
  }

  /** For a slice, the handle it was cut from; otherwise "". */
  public String parentHandle() {
    return parentHandle;
  }

  /** For a slice, its byte offset within its parent; otherwise 0. */
  public long parentOffset() {
    return parentOffset;
  }

  /** False once freed. */
  public boolean isLive() {
    return live.get();
  }

  SharedBlock block() {
    return block;
  }

  long blockOffset() {
    return blockOffset;
  }

  /**
   * Keeps the tensor's memory alive until the pin is closed, even if the tensor is freed
   * meanwhile. NOT_FOUND if already freed; UNAVAILABLE if the runtime is shutting down.
   */
  public Pin pin() {
    devices.enter();
    if (!live.get() || !block.retain()) {
      devices.exit();
      throw Session.notFound(handle);
    }
    return new Pin();
  }

  /** Marks the tensor dead and drops its reference; returns the bytes given back to the pool now. */
  long release() {
    if (!live.compareAndSet(true, false)) {
      return 0;
    }
    devices.enter();
    try {
      return block.release();
    } finally {
      devices.exit();
    }
  }

  /** "tensor 'x' FLOAT32[2, 3]". */
  public String describe() {
    return "tensor " + (name.isEmpty() ? "" : "'" + name + "' ") + dtype + shape;
  }

  @Override
  public String toString() {
    return describe() + " (" + sizeBytes + " bytes " + (host ? "on host" : "on device " + deviceId) + ")";
  }

  /** A tensor's memory held open for one operation (a read, write or copy). Close exactly when done. */
  public final class Pin implements AutoCloseable {
    private final AtomicBoolean open = new AtomicBoolean(true);

    private Pin() {
    }

    /** The tensor's bytes; valid until {@link #close()}. */
    public MemorySegment segment() {
      return block.block().segment().asSlice(blockOffset, sizeBytes);
    }

    /** The pinned tensor. */
    public Tensor tensor() {
      return Tensor.this;
    }

    /** Lets go of the memory; idempotent. */
    @Override
    public void close() {
      if (open.compareAndSet(true, false)) {
        block.release();
        devices.exit();
      }
    }
  }
}
