package io.vnrt.client;

import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.TensorReadCall;
import io.vnrt.client.internal.TensorWriteCall;
import io.vnrt.client.internal.UnaryCall;
import io.vnrt.client.internal.WireFormat;
import io.vnrt.proto.v1.CopyTensorRequest;
import io.vnrt.proto.v1.FreeTensorRequest;
import io.vnrt.proto.v1.FreeTensorResponse;
import io.vnrt.proto.v1.GetTensorRequest;
import io.vnrt.proto.v1.Placement;
import io.vnrt.proto.v1.SliceTensorRequest;
import io.vnrt.proto.v1.TensorInfo;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A tensor in a device's HBM (or the daemon's host memory), owned by a {@link Session}.
 * Bytes are stored little-endian; writes and reads stream in chunks, so tensors of any size
 * move without one large message. Closing it frees it.
 */
public final class DeviceTensor implements AutoCloseable {
  private final Session session;
  private final TensorInfo info;
  private final TensorSpec spec;
  private final AtomicBoolean freed = new AtomicBoolean();

  DeviceTensor(Session session, TensorInfo info) {
    this.session = session;
    this.info = info;
    this.spec = new TensorSpec(DType.fromProto(info.getDtype()), info.getShapeList(), info.getName());
  }

  /** The opaque handle, valid only within the owning session. */
  public String handle() {
    return info.getHandle();
  }

  /** Element type, shape and name. */
  public TensorSpec spec() {
    return spec;
  }

  /** Size in bytes. */
  public long sizeBytes() {
    return info.getSizeBytes();
  }

  /** Device holding the tensor, or -1 for host memory. */
  public int deviceId() {
    return info.getDeviceId();
  }

  /** Global core the tensor is attributed to, or -1. */
  public int coreId() {
    return info.getCoreId();
  }

  /** True when the tensor lives in the daemon's host memory rather than HBM. */
  public boolean isHost() {
    return info.getPlacement() == Placement.PLACEMENT_HOST;
  }

  /** The description returned at allocation. */
  public TensorInfo info() {
    return info;
  }

  /** Asks the daemon for the tensor's current description (NotFoundException once freed). */
  public TensorInfo describe() {
    try {
      return session.memoryBlocking().getTensor(GetTensorRequest.newBuilder().setHandle(handle()).build());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  /** Writes {@code data} at the start of the tensor. */
  public void write(float[] data) {
    write(0, data);
  }

  /** Writes {@code data} at byte {@code offsetBytes}. */
  public void write(long offsetBytes, float[] data) {
    push(offsetBytes, MemorySegment.ofArray(data), WireFormat.FLOATS);
  }

  /** Writes {@code data} at the start of the tensor. */
  public void write(long[] data) {
    write(0, data);
  }

  /** Writes {@code data} at byte {@code offsetBytes}. */
  public void write(long offsetBytes, long[] data) {
    push(offsetBytes, MemorySegment.ofArray(data), WireFormat.LONGS);
  }

  /** Writes the buffer's remaining bytes at the start of the tensor, advancing its position. */
  public void write(ByteBuffer src) {
    write(0, src);
  }

  /** Writes the buffer's remaining bytes at byte {@code offsetBytes}, advancing its position. */
  public void write(long offsetBytes, ByteBuffer src) {
    long n = push(offsetBytes, MemorySegment.ofBuffer(src), WireFormat.BYTES);
    src.position(src.position() + (int) n);
  }

  /** Writes all bytes of {@code src} at the start of the tensor. */
  public void write(MemorySegment src) {
    write(0, src);
  }

  /** Writes all bytes of {@code src} at byte {@code offsetBytes}. */
  public void write(long offsetBytes, MemorySegment src) {
    push(offsetBytes, src, WireFormat.BYTES);
  }

  /** Asynchronous write of floats at byte {@code offsetBytes}; {@code data} must not change until the future completes. */
  public CompletableFuture<Long> writeAsync(long offsetBytes, float[] data) {
    return stream(offsetBytes, MemorySegment.ofArray(data), WireFormat.FLOATS);
  }

  /**
   * Asynchronous write of all bytes of {@code src} at byte {@code offsetBytes}; the future
   * yields the bytes written. {@code src} must be usable from any thread (not from a confined
   * arena) and must not change until the future completes.
   */
  public CompletableFuture<Long> writeAsync(long offsetBytes, MemorySegment src) {
    return stream(offsetBytes, src, WireFormat.BYTES);
  }

  private CompletableFuture<Long> stream(long offsetBytes, MemorySegment src, WireFormat format) {
    return TensorWriteCall.start(session.memory(), handle(), offsetBytes, src, format, VnrtClient.CHUNK_BYTES);
  }

  private long push(long offsetBytes, MemorySegment src, WireFormat format) {
    return TensorWriteCall.write(session.memory(), handle(), offsetBytes, src, format, VnrtClient.CHUNK_BYTES);
  }

  // ---- reads -------------------------------------------------------------------------------

  /** Reads the whole tensor as floats. */
  public float[] readFloats() {
    float[] out = new float[elements(Float.BYTES)];
    pull(0, MemorySegment.ofArray(out), WireFormat.FLOATS);
    return out;
  }

  /** Asynchronous {@link #readFloats()}. */
  public CompletableFuture<float[]> readFloatsAsync() {
    float[] out = new float[elements(Float.BYTES)];
    return fetch(0, MemorySegment.ofArray(out), WireFormat.FLOATS).thenApply(n -> out);
  }

  /** Reads the whole tensor as longs. */
  public long[] readLongs() {
    long[] out = new long[elements(Long.BYTES)];
    pull(0, MemorySegment.ofArray(out), WireFormat.LONGS);
    return out;
  }

  private int elements(int elementBytes) {
    long size = sizeBytes();
    if (size % elementBytes != 0 || size / elementBytes > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("tensor " + spec + " of " + size + " bytes does not fit a Java array of "
          + elementBytes + "-byte elements; read it into a MemorySegment instead");
    }
    return (int) (size / elementBytes);
  }

  /** Fills the buffer's remaining bytes from the start of the tensor, advancing its position. */
  public void read(ByteBuffer dst) {
    read(0, dst);
  }

  /** Fills the buffer's remaining bytes from byte {@code offsetBytes}, advancing its position. */
  public void read(long offsetBytes, ByteBuffer dst) {
    if (dst.isReadOnly()) {
      throw new IllegalArgumentException("cannot read into a read-only buffer");
    }
    long n = pull(offsetBytes, MemorySegment.ofBuffer(dst), WireFormat.BYTES);
    dst.position(dst.position() + (int) n);
  }

  /** Fills {@code dst} from the start of the tensor. */
  public void read(MemorySegment dst) {
    read(0, dst);
  }

  /** Fills {@code dst} from byte {@code offsetBytes} of the tensor. */
  public void read(long offsetBytes, MemorySegment dst) {
    pull(offsetBytes, dst, WireFormat.BYTES);
  }

  /**
   * Asynchronous read filling {@code dst} from byte {@code offsetBytes}; yields the bytes read.
   * {@code dst} must be usable from any thread (not from a confined arena).
   */
  public CompletableFuture<Long> readAsync(long offsetBytes, MemorySegment dst) {
    return fetch(offsetBytes, dst, WireFormat.BYTES);
  }

  private CompletableFuture<Long> fetch(long offsetBytes, MemorySegment dst, WireFormat format) {
    return TensorReadCall.start(session.memory(), handle(), offsetBytes, dst, format, VnrtClient.CHUNK_BYTES);
  }

  private long pull(long offsetBytes, MemorySegment dst, WireFormat format) {
    return TensorReadCall.read(session.memory(), handle(), offsetBytes, dst, format, VnrtClient.CHUNK_BYTES);
  }

  // ---- copies and slices -------------------------------------------------------------------

  /** Copies this whole tensor into {@code dst} (same session), at its start. */
  public long copyTo(DeviceTensor dst) {
    return copyTo(dst, 0, 0, sizeBytes());
  }

  /** Copies {@code lengthBytes} from {@code srcOffset} of this tensor to {@code dstOffset} of {@code dst}. */
  public long copyTo(DeviceTensor dst, long srcOffset, long dstOffset, long lengthBytes) {
    try {
      return session.memoryBlocking().copyTensor(CopyTensorRequest.newBuilder()
          .setSrcHandle(handle()).setSrcOffsetBytes(srcOffset)
          .setDstHandle(dst.handle()).setDstOffsetBytes(dstOffset)
          .setLengthBytes(lengthBytes)
          .build()).getBytesCopied();
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /**
   * A new handle aliasing bytes [offsetBytes, offsetBytes + spec.sizeBytes()) of this tensor.
   * The memory is released only once this tensor and all its slices are freed.
   */
  public DeviceTensor slice(long offsetBytes, TensorSpec sliceSpec) {
    try {
      TensorInfo sliced = session.memoryBlocking().sliceTensor(SliceTensorRequest.newBuilder()
          .setHandle(handle())
          .setOffsetBytes(offsetBytes)
          .setSizeBytes(sliceSpec.sizeBytes())
          .setDtype(sliceSpec.dtype().toProto())
          .addAllShape(sliceSpec.shape())
          .setName(sliceSpec.name())
          .build());
      return new DeviceTensor(session, sliced);
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  // ---- freeing -----------------------------------------------------------------------------

  /**
   * Frees the tensor; its handle is dead afterwards. Returns the bytes returned to the pool
   * now (0 for a slice, or while slices or a running read still hold the memory).
   */
  public long free() {
    return Errors.await(freeAsync());
  }

  /** Asynchronous {@link #free()}. */
  public CompletableFuture<Long> freeAsync() {
    freed.set(true);
    FreeTensorRequest request = FreeTensorRequest.newBuilder().setHandle(handle()).build();
    CompletableFuture<FreeTensorResponse> call = UnaryCall.start(o -> session.memory().freeTensor(request, o));
    return call.thenApply(FreeTensorResponse::getFreedBytes);
  }

  /**
   * Frees the tensor unless already freed through this object or by closing its session; quiet
   * when the session expired meanwhile (expiry freed the tensor).
   */
  @Override
  public void close() {
    if (!freed.get() && !session.isClosed()) {
      try {
        free();
      } catch (SessionClosedException e) {
        // the daemon ended the session, and with it this tensor
      }
    }
  }

  @Override
  public String toString() {
    return "DeviceTensor[" + spec + (isHost() ? " on host" : " on device " + deviceId()) + "]";
  }
}
