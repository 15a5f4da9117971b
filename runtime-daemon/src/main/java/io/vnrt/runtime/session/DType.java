package io.vnrt.runtime.session;

/** Element type of a tensor and its size; tensor bytes are little-endian. */
public enum DType {
  /** IEEE 754 single precision. */
  FLOAT32(4),
  /** IEEE 754 half precision. */
  FLOAT16(2),
  /** bfloat16: the upper half of a float32. */
  BFLOAT16(2),
  /** IEEE 754 double precision. */
  FLOAT64(8),
  /** Signed 8-bit integer. */
  INT8(1),
  /** Signed 16-bit integer. */
  INT16(2),
  /** Signed 32-bit integer. */
  INT32(4),
  /** Signed 64-bit integer. */
  INT64(8),
  /** Unsigned 8-bit integer. */
  UINT8(1),
  /** Boolean, one byte per element. */
  BOOL(1),
  /** Untyped bytes. */
  RAW(1);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }
}
