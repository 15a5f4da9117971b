package io.vnrt.client;

import io.vnrt.proto.v1.DataType;

/** Element type of a device tensor, with its size in bytes; bytes travel little-endian. */
public enum DType {
  /** IEEE 754 single precision. */
  FLOAT32(DataType.DATA_TYPE_FLOAT32, 4),
  /** IEEE 754 half precision. */
  FLOAT16(DataType.DATA_TYPE_FLOAT16, 2),
  /** bfloat16: the upper half of a float32. */
  BFLOAT16(DataType.DATA_TYPE_BFLOAT16, 2),
  /** IEEE 754 double precision. */
  FLOAT64(DataType.DATA_TYPE_FLOAT64, 8),
  /** Signed 8-bit integer. */
  INT8(DataType.DATA_TYPE_INT8, 1),
  /** Signed 16-bit integer. */
  INT16(DataType.DATA_TYPE_INT16, 2),
  /** Signed 32-bit integer. */
  INT32(DataType.DATA_TYPE_INT32, 4),
  /** Signed 64-bit integer. */
  INT64(DataType.DATA_TYPE_INT64, 8),
  /** Unsigned 8-bit integer. */
  UINT8(DataType.DATA_TYPE_UINT8, 1),
  /** Boolean, one byte per element. */
  BOOL(DataType.DATA_TYPE_BOOL, 1),
  /** Untyped bytes. */
  RAW(DataType.DATA_TYPE_RAW, 1);

  private final DataType proto;
  private final int byteSize;

  DType(DataType proto, int byteSize) {
    this.proto = proto;
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The contract's enum value for this type. */
  public DataType toProto() {
    return proto;
  }

  /** The SDK type for a contract value; fails on an unset or unknown value. */
  public static DType fromProto(DataType type) {
    for (DType d : values()) {
      if (d.proto == type) {
        return d;
      }
    }
    throw new IllegalArgumentException("no SDK type for " + type);
  }
}
