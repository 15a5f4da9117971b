package io.vnrt.runtime.session;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.DeviceSet;
import io.vnrt.runtime.memory.HbmBlock;
import io.vnrt.runtime.memory.HbmExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import io.vnrt.runtime.memory.SharedMemoryRegistry;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * A client's lease: it owns tensors, addressed by unguessable handles valid only here. It expires
 * after its TTL without calls (calls in progress hold it open); closing or expiry frees everything.
 */
public final class Session {
  private static final int MAX_HANDLE_SHOWN = 48;

  private final String id;
  private final String publicId;
  private final String clientName;
  private final long ttlNanos;
  private final int maxTensors;
  private final DeviceSet devices;
  private final SessionRegistry registry;
  private final Ticker ticker;
  private final SessionQuota quota;
  private final Map<String, Tensor> tensors = new ConcurrentHashMap<>();
  private final SharedMemoryRegistry sharedMemory = new SharedMemoryRegistry(SharedMemoryRegistry.DEV_SHM);
  /** Guards the lease state below; held only for a few field updates, never across I/O or memory work. */
  private final Object lease = new Object();
  private volatile boolean closed;
  private volatile long lastUsedNanos;
  private int activeCalls;

  Session(String id, String clientName, long ttlNanos, int maxTensors, QuotaLimits limits, DeviceSet devices,
      SessionRegistry registry, Ticker ticker) {
    this.id = id;
    this.publicId = id.substring(0, SessionRegistry.PUBLIC_ID_LENGTH);
    this.clientName = clientName;
    this.ttlNanos = ttlNanos;
    this.maxTensors = maxTensors;
    this.devices = devices;
    this.registry = registry;
    this.ticker = ticker;
    this.lastUsedNanos = ticker.nanos();
    this.quota = new SessionQuota(describe(), limits);
  }

  /** The session's quotas and their use: the Model and Execution services acquire from it. */
  public SessionQuota quota() {
    return quota;
  }

  /** The secret id the client sends in metadata. Never log it: use {@link #publicId()}. */
  public String id() {
    return id;
  }

  /** The first 8 hex digits of the id: shown in logs, stats and errors. */
  public String publicId() {
    return publicId;
  }

  /** The client's name given at open. */
  public String clientName() {
    return clientName;
  }

  /** The lease in nanoseconds. */
  public long ttlNanos() {
    return ttlNanos;
  }

  /** True once closed or expired. */
  public boolean isClosed() {
    return closed;
  }

  /** "session 3f2a1b9c (client 'svc')". */
  public String describe() {
    return "session " + publicId + " (client '" + clientName + "')";
  }

  // ---- lease -------------------------------------------------------------------------------

  /** Renews the lease; returns the nanoseconds left. */
  public long renew() {
    long now = ticker.nanos();
    lastUsedNanos = now;
    return ttlNanos;
  }

  /** Marks a call as running (renewing the lease); false if the session is already closed. */
  public boolean beginCall() {
    synchronized (lease) {
      if (closed) {
        return false;
      }
      activeCalls++;
      lastUsedNanos = ticker.nanos();
      return true;
    }
  }

  /** Marks the end of a call started with {@link #beginCall()}; the lease runs from now. */
  public void endCall() {
    synchronized (lease) {
      activeCalls--;
      lastUsedNanos = ticker.nanos();
    }
  }

  /** Calls in progress; the lease runs only while there are none. */
  public int activeCalls() {
    synchronized (lease) {
      return activeCalls;
    }
  }

  /** Closes the session if its lease ran out with no call running; true if it did. */
  boolean expireIfIdle(long now) {
    synchronized (lease) {
      if (closed || activeCalls > 0 || now - lastUsedNanos < ttlNanos) {
        return false;
      }
      closed = true;
      return true;
    }
  }

  /** Marks the session closed; false if it already was. */
  boolean markClosed() {
    synchronized (lease) {
      if (closed) {
        return false;
      }
      closed = true;
      return true;
    }
  }

  /** Nanoseconds since the last call ended or began, at {@code now} of the registry's ticker. */
  public long idleNanos(long now) {
    return now - lastUsedNanos;
  }

  /** The session's shared-memory regions, unmapped when it ends. */
  public SharedMemoryRegistry sharedMemory() {
    return sharedMemory;
  }

  /** Frees every tensor and unmaps every shared-memory region of a session already marked closed. */
  ReclaimReport freeAll() {
    sharedMemory.close();
    int count = 0;
    long bytes = 0;
    for (String handle : List.copyOf(tensors.keySet())) {
      Tensor t = tensors.remove(handle);
      if (t != null) {
        count++;
        bytes += release(t);
      }
    }
    return new ReclaimReport(count, 0, bytes);
  }

  // ---- tensors -----------------------------------------------------------------------------

  /** Allocates a tensor; INVALID_ARGUMENT, RESOURCE_EXHAUSTED or SESSION_CLOSED explain a refusal. */
  public Tensor allocate(TensorRequest request) {
    long size = request.sizeBytes();
    checkOpen();
    if (tensors.size() >= maxTensors) {
      throw VnrtRuntimeException.exhausted(describe() + " already holds " + tensors.size()
          + " tensors, the most a session may hold; free some first", Map.of("max_tensors", String.valueOf(maxTensors)),
          null);
    }
    HbmPool pool;
    int deviceId;
    int coreId = -1;
    if (request.host()) {
      pool = devices.hostPool();
      deviceId = DeviceSet.HOST_DEVICE_ID;
    } else {
      Device device = devices.device(request.deviceId());
      if (request.coreId() != -1 && !device.spec().hasCore(request.coreId())) {
        throw VnrtRuntimeException.invalid("core " + request.coreId() + " is not a core of device "
            + device.id() + " (its cores: " + device.spec().coreIds().stream().map(String::valueOf)
                .collect(Collectors.joining(", ")) + ")", "core_id", request.coreId(), "device_id", device.id());
      }
      pool = device.pool();
      deviceId = device.id();
      coreId = request.coreId();
    }
    if (!request.host()) {
      quota.acquireHbm(size);
    }
    HbmBlock block = null;
    try {
      block = pool.allocate(size, MemoryCategory.TENSORS, publicId, clientName, coreId, null, request.describe());
    } catch (HbmExhaustedException e) {
      throw VnrtRuntimeException.exhausted(e.getMessage(), e.facts(), e);
    } finally {
      if (block == null && !request.host()) {
        quota.releaseHbm(size);
      }
    }
    Tensor tensor = new Tensor(registry.newHandle(), request.name(), request.dtype(), request.shape(), size,
        deviceId, coreId, request.host(), "", 0, new SharedBlock(block), 0, devices);
    return register(tensor);
  }

  /** Adds a new tensor to the table, undoing it if the session closed meanwhile. */
  private Tensor register(Tensor tensor) {
    tensors.put(tensor.handle(), tensor);
    if (closed && tensors.remove(tensor.handle()) != null) {
      release(tensor);
      throw closedError();
    }
    return tensor;
  }

  private void checkOpen() {
    if (closed) {
      throw closedError();
    }
  }

  private VnrtRuntimeException closedError() {
    return VnrtRuntimeException.sessionClosed(describe() + " is closed", "session", publicId);
  }

  /** The live tensor with this handle; NOT_FOUND for unknown, freed or foreign handles. */
  public Tensor tensor(String handle) {
    if (handle == null || handle.isEmpty()) {
      throw VnrtRuntimeException.invalid("a tensor handle is required", "handle", "");
    }
    Tensor t = tensors.get(handle);
    if (t == null) {
      throw notFound(handle);
    }
    return t;
  }

  static VnrtRuntimeException notFound(String handle) {
    return VnrtRuntimeException.notFound("no tensor with handle '" + shortHandle(handle) + "' in this session: it "
        + "is unknown, was freed, or belongs to another session", "handle", shortHandle(handle));
  }

  static String shortHandle(String handle) {
    return handle.length() <= MAX_HANDLE_SHOWN ? handle : handle.substring(0, MAX_HANDLE_SHOWN) + "…";
  }

  /** Releases a tensor taken out of the table, giving its HBM quota back if it held device memory of its own. */
  private long release(Tensor t) {
    if (countsTowardsHbmQuota(t)) {
      quota.releaseHbm(t.sizeBytes());
    }
    return t.release();
  }

  private static boolean countsTowardsHbmQuota(Tensor t) {
    return !t.isHost() && t.parentHandle().isEmpty();
  }

  /** The session's live tensors. */
  public List<Tensor> tensors() {
    return new ArrayList<>(tensors.values());
  }

  /**
   * Frees a tensor: its handle is dead at once. Returns the bytes given back to the pool now: 0
   * for a slice, or while slices of it or running operations still hold its memory.
   */
  public long free(String handle) {
    Tensor t = tensor(handle);
    if (tensors.remove(handle, t)) {
      return release(t);
    }
    throw notFound(handle);
  }

  /**
   * A new handle aliasing [offset, offset + size) of a tensor. {@code dtype} RAW takes the size
   * from {@code sizeBytes}; other types from the shape (sizeBytes must then be 0 or match).
   */
  public Tensor slice(String handle, long offset, long sizeBytes, DType dtype, List<Long> shape, String name) {
    checkOpen();
    Tensor parent = tensor(handle);
    long size;
    if (dtype == DType.RAW) {
      size = TensorRequest.sizeOf(DType.RAW, shape, sizeBytes);
    } else {
      size = TensorRequest.sizeOf(dtype, shape, 0);
      if (sizeBytes != 0 && sizeBytes != size) {
        throw VnrtRuntimeException.invalid("size_bytes " + Long.toUnsignedString(sizeBytes) + " does not match "
            + dtype + shape + ", which is " + size + " bytes", "size_bytes", Long.toUnsignedString(sizeBytes));
      }
    }
    checkRange("slice", offset, size, parent);
    if (name != null && name.length() > TensorRequest.MAX_NAME_LENGTH) {
      throw VnrtRuntimeException.invalid("tensor name is " + name.length() + " characters long; at most "
          + TensorRequest.MAX_NAME_LENGTH + " are allowed");
    }
    if (!parent.block().retain()) {
      throw notFound(handle);
    }
    Tensor slice = new Tensor(registry.newHandle(), name == null ? "" : name, dtype,
        dtype == DType.RAW ? List.of(size) : shape, size, parent.deviceId(), parent.coreId(), parent.isHost(),
        parent.handle(), offset, parent.block(), parent.blockOffset() + offset, devices);
    return register(slice);
  }

  /** INVALID_ARGUMENT unless [offset, offset + length) lies inside the tensor (offsets may arrive unsigned). */
  static void checkRange(String what, long offset, long length, Tensor t) {
    if (offset < 0 || length < 0 || offset > t.sizeBytes() || length > t.sizeBytes() - offset) {
      throw VnrtRuntimeException.invalid(what + " of " + Long.toUnsignedString(length) + " bytes at offset "
          + Long.toUnsignedString(offset) + " goes past the end of " + t.describe() + " of " + t.sizeBytes()
          + " bytes", "offset_bytes", Long.toUnsignedString(offset), "length_bytes", Long.toUnsignedString(length),
          "size_bytes", t.sizeBytes());
    }
  }

  /**
   * Copies {@code length} bytes (0: the rest of the source) between two tensors of the session;
   * overlapping ranges of one tensor are copied as if through a temporary buffer.
   */
  public long copy(String srcHandle, long srcOffset, String dstHandle, long dstOffset, long length) {
    Tensor src = tensor(srcHandle);
    Tensor dst = tensor(dstHandle);
    checkRange("copy source", srcOffset, 0, src);
    long n = length == 0 ? src.sizeBytes() - srcOffset : length;
    checkRange("copy source", srcOffset, n, src);
    checkRange("copy destination", dstOffset, n, dst);
    try (Tensor.Pin from = src.pin(); Tensor.Pin to = dst.pin()) {
      MemorySegment.copy(from.segment(), srcOffset, to.segment(), dstOffset, n);
    }
    return n;
  }

  /**
   * Starts a streamed write at {@code offset}; {@code totalBytes} (0: not announced) must then
   * arrive exactly. Close the returned write when the stream ends, however it ends.
   */
  public TensorWrite beginWrite(String handle, long offset, long totalBytes) {
    Tensor t = tensor(handle);
    checkRange("write", offset, 0, t);
    if (totalBytes != 0) {
      checkRange("write", offset, totalBytes, t);
    }
    return new TensorWrite(t.pin(), offset, totalBytes);
  }

  /**
   * Starts a streamed read of [offset, offset + length) (length 0: to the end) in chunks of
   * {@code chunkBytes}. Close the returned read when the stream ends, however it ends.
   */
  public TensorRead beginRead(String handle, long offset, long length, long chunkBytes) {
    Tensor t = tensor(handle);
    checkRange("read", offset, 0, t);
    long n = length == 0 ? t.sizeBytes() - offset : length;
    checkRange("read", offset, n, t);
    return new TensorRead(t.pin(), offset, offset + n, chunkBytes);
  }

  @Override
  public String toString() {
    return describe();
  }
}
