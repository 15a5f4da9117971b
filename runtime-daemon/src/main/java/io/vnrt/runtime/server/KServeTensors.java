package io.vnrt.runtime.server;

import io.vnrt.proto.inference.InferTensorContents;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.kernels.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * KServe's typed tensor contents (fp32_contents, int64_contents...) to and from little-endian
 * element bytes. FP16 and BF16 have no typed field: they travel only as raw bytes.
 */
final class KServeTensors {
  private KServeTensors() {
  }

  /** The bytes of an input given as typed contents; INVALID_ARGUMENT when the field or count is wrong. */
  static byte[] toBytes(String input, DType dtype, long elements, InferTensorContents c) {
    int count = switch (dtype) {
      case BOOL -> c.getBoolContentsCount();
      case INT8, INT16, INT32 -> c.getIntContentsCount();
      case INT64 -> c.getInt64ContentsCount();
      case UINT8, UINT16, UINT32 -> c.getUintContentsCount();
      case UINT64 -> c.getUint64ContentsCount();
      case FLOAT32 -> c.getFp32ContentsCount();
      case FLOAT64 -> c.getFp64ContentsCount();
      default -> throw VnrtRuntimeException.invalid("input '" + input + "': " + KServeTypes.name(dtype)
          + " has no typed contents field; send it in raw_input_contents", "input", input);
    };
    if (count != elements) {
      throw VnrtRuntimeException.invalid("input '" + input + "': its shape holds " + elements + " elements but "
          + field(dtype) + " has " + count, "input", input, "expected_elements", elements, "given_elements", count);
    }
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(elements * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      switch (dtype) {
        case BOOL -> b.put((byte) (c.getBoolContents(i) ? 1 : 0));
        case INT8 -> b.put((byte) ranged(input, c.getIntContents(i), Byte.MIN_VALUE, Byte.MAX_VALUE));
        case INT16 -> b.putShort((short) ranged(input, c.getIntContents(i), Short.MIN_VALUE, Short.MAX_VALUE));
        case INT32 -> b.putInt(c.getIntContents(i));
        case INT64 -> b.putLong(c.getInt64Contents(i));
        case UINT8 -> b.put((byte) ranged(input, Integer.toUnsignedLong(c.getUintContents(i)), 0, 0xff));
        case UINT16 -> b.putShort((short) ranged(input, Integer.toUnsignedLong(c.getUintContents(i)), 0, 0xffff));
        case UINT32 -> b.putInt(c.getUintContents(i));
        case UINT64 -> b.putLong(c.getUint64Contents(i));
        case FLOAT32 -> b.putFloat(c.getFp32Contents(i));
        case FLOAT64 -> b.putDouble(c.getFp64Contents(i));
        default -> throw new IllegalStateException("unreachable: " + dtype);
      }
    }
    return b.array();
  }

  private static long ranged(String input, long v, long min, long max) {
    if (v < min || v > max) {
      throw VnrtRuntimeException.invalid("input '" + input + "': value " + v + " is outside [" + min + ", " + max
          + "] of its datatype", "input", input);
    }
    return v;
  }

  /** The typed field KServe uses for a datatype. */
  static String field(DType dtype) {
    return switch (dtype) {
      case BOOL -> "bool_contents";
      case INT8, INT16, INT32 -> "int_contents";
      case INT64 -> "int64_contents";
      case UINT8, UINT16, UINT32 -> "uint_contents";
      case UINT64 -> "uint64_contents";
      case FLOAT32 -> "fp32_contents";
      case FLOAT64 -> "fp64_contents";
      default -> "raw_input_contents";
    };
  }

  /** True when the datatype has a typed contents field. */
  static boolean hasTypedField(DType dtype) {
    return !field(dtype).equals("raw_input_contents");
  }

  /** Typed contents of an output's little-endian bytes (the datatype must have a typed field). */
  static InferTensorContents fromBytes(DType dtype, byte[] data) {
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    while (b.hasRemaining()) {
      switch (dtype) {
        case BOOL -> c.addBoolContents(b.get() != 0);
        case INT8 -> c.addIntContents(b.get());
        case INT16 -> c.addIntContents(b.getShort());
        case INT32 -> c.addIntContents(b.getInt());
        case INT64 -> c.addInt64Contents(b.getLong());
        case UINT8 -> c.addUintContents(Byte.toUnsignedInt(b.get()));
        case UINT16 -> c.addUintContents(Short.toUnsignedInt(b.getShort()));
        case UINT32 -> c.addUintContents(b.getInt());
        case UINT64 -> c.addUint64Contents(b.getLong());
        case FLOAT32 -> c.addFp32Contents(b.getFloat());
        case FLOAT64 -> c.addFp64Contents(b.getDouble());
        default -> throw new IllegalArgumentException(dtype + " has no typed contents field");
      }
    }
    return c.build();
  }
}
