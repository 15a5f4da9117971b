package io.vnrt.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.vnrt.proto.v1.InlineTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor in the client's memory: element type, shape and little-endian, row-major bytes. The
 * value carried inline by {@link Model#execute}; immutable (the bytes are copied in and out).
 */
public final class HostTensor {
  private final DType dtype;
  private final long[] shape;
  private final ByteString data;

  private HostTensor(DType dtype, long[] shape, ByteString data) {
    if (dtype == null || dtype == DType.RAW) {
      throw new IllegalArgumentException("a host tensor needs an element type (not " + dtype + ")");
    }
    long expected = TensorSpec.of(dtype, shape).sizeBytes();
    if (data.size() != expected) {
      throw new IllegalArgumentException(dtype + Arrays.toString(shape) + " takes " + expected + " bytes, got "
          + data.size());
    }
    this.dtype = dtype;
    this.shape = shape.clone();
    this.data = data;
  }

  /** A float32 tensor of {@code shape} holding {@code values} (row-major). */
  public static HostTensor ofFloats(long[] shape, float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new HostTensor(DType.FLOAT32, shape, UnsafeByteOperations.unsafeWrap(b.array()));
  }

  /** An int64 tensor of {@code shape} holding {@code values} (row-major). */
  public static HostTensor ofLongs(long[] shape, long... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new HostTensor(DType.INT64, shape, UnsafeByteOperations.unsafeWrap(b.array()));
  }

  /** A tensor of any type from its little-endian bytes (copied). */
  public static HostTensor ofBytes(DType dtype, long[] shape, byte[] littleEndian) {
    return new HostTensor(dtype, shape, ByteString.copyFrom(littleEndian));
  }

  /** The tensor carried by an inline message (its bytes are shared, not copied: protobuf bytes are immutable). */
  public static HostTensor fromProto(InlineTensor t) {
    return new HostTensor(DType.fromProto(t.getDtype()), dims(t.getShapeList()), t.getData());
  }

  /**
   * A message's shape as an array. A plain loop, not a stream: this runs on every execution's
   * result, and in a fresh JVM each stream pipeline and method reference costs its first caller
   * a linkage and runs interpreted.
   */
  static long[] dims(java.util.List<Long> shape) {
    long[] out = new long[shape.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = shape.get(i);
    }
    return out;
  }

  static HostTensor of(DType dtype, long[] shape, ByteString data) {
    return new HostTensor(dtype, shape, data);
  }

  /** The inline message for this tensor. */
  public InlineTensor toProto() {
    InlineTensor.Builder b = InlineTensor.newBuilder().setDtype(dtype.toProto()).setData(data);
    for (long d : shape) {
      b.addShape(d);
    }
    return b.build();
  }

  /** Element type. */
  public DType dtype() {
    return dtype;
  }

  /** Dimensions (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** Type and shape as a spec. */
  public TensorSpec spec() {
    return TensorSpec.of(dtype, shape);
  }

  /** Number of elements. */
  public long elementCount() {
    return spec().elementCount();
  }

  /** Size in bytes. */
  public int sizeBytes() {
    return data.size();
  }

  /** The little-endian bytes (a copy). */
  public byte[] bytes() {
    return data.toByteArray();
  }

  /** The little-endian bytes as a read-only buffer (no copy). */
  public ByteBuffer byteBuffer() {
    return data.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The elements of a float32 tensor. */
  public float[] floats() {
    require(DType.FLOAT32);
    float[] out = new float[data.size() / 4];
    byteBuffer().asFloatBuffer().get(out);
    return out;
  }

  /** The elements of an int64 tensor. */
  public long[] longs() {
    require(DType.INT64);
    long[] out = new long[data.size() / 8];
    byteBuffer().asLongBuffer().get(out);
    return out;
  }

  ByteString data() {
    return data;
  }

  private void require(DType wanted) {
    if (dtype != wanted) {
      throw new IllegalStateException("tensor is " + dtype + ", not " + wanted);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HostTensor t && t.dtype == dtype && Arrays.equals(t.shape, shape) && t.data.equals(data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + data.hashCode();
  }

  @Override
  public String toString() {
    return "HostTensor[" + dtype + Arrays.toString(shape) + "]";
  }
}
