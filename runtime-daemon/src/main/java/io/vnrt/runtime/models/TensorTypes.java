package io.vnrt.runtime.models;

import io.vnrt.runtime.kernels.DType;

/** Converts between the element types of session tensors and of the engine. */
public final class TensorTypes {
  private TensorTypes() {
  }

  /** The engine type of a session tensor's type; null for RAW, which has none. */
  public static DType toEngine(io.vnrt.runtime.session.DType t) {
    return switch (t) {
      case FLOAT32 -> DType.FLOAT32;
      case FLOAT16 -> DType.FLOAT16;
      case BFLOAT16 -> DType.BFLOAT16;
      case FLOAT64 -> DType.FLOAT64;
      case INT8 -> DType.INT8;
      case INT16 -> DType.INT16;
      case INT32 -> DType.INT32;
      case INT64 -> DType.INT64;
      case UINT8 -> DType.UINT8;
      case BOOL -> DType.BOOL;
      case RAW -> null;
    };
  }

  /** The session type of an engine type; null when the contract has none (uint16/32/64, 8-bit floats...). */
  public static io.vnrt.runtime.session.DType toSession(DType t) {
    return switch (t) {
      case FLOAT32 -> io.vnrt.runtime.session.DType.FLOAT32;
      case FLOAT16 -> io.vnrt.runtime.session.DType.FLOAT16;
      case BFLOAT16 -> io.vnrt.runtime.session.DType.BFLOAT16;
      case FLOAT64 -> io.vnrt.runtime.session.DType.FLOAT64;
      case INT8 -> io.vnrt.runtime.session.DType.INT8;
      case INT16 -> io.vnrt.runtime.session.DType.INT16;
      case INT32 -> io.vnrt.runtime.session.DType.INT32;
      case INT64 -> io.vnrt.runtime.session.DType.INT64;
      case UINT8 -> io.vnrt.runtime.session.DType.UINT8;
      case BOOL -> io.vnrt.runtime.session.DType.BOOL;
      default -> null;
    };
  }

  /** dtype size × element count, or -1 when it overflows or a dim is negative. */
  public static long byteSize(DType dtype, long[] shape) {
    long n = dtype.byteSize();
    try {
      for (long d : shape) {
        if (d < 0) {
          return -1;
        }
        n = Math.multiplyExact(n, d);
      }
    } catch (ArithmeticException e) {
      return -1;
    }
    return n;
  }
}
