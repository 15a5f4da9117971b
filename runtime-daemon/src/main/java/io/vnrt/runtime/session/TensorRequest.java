package io.vnrt.runtime.session;

import io.vnrt.runtime.VnrtRuntimeException;
import java.util.List;

/**
 * What a client asks to allocate.
 *
 * @param deviceId the device (ignored for host placement)
 * @param coreId the global core charged, or -1 for the device as a whole
 * @param host true for daemon host memory instead of device HBM
 * @param dtype element type
 * @param shape dimensions; empty for a scalar (or, with RAW, for a buffer of rawSizeBytes)
 * @param rawSizeBytes the size of a RAW buffer (0 when the shape gives it); negative when an unsigned field overflowed
 * @param name display name, or ""
 */
public record TensorRequest(int deviceId, int coreId, boolean host, DType dtype, List<Long> shape, long rawSizeBytes,
    String name) {
  /** Longest accepted tensor name. */
  public static final int MAX_NAME_LENGTH = 256;

  /** Copies the shape. */
  public TensorRequest {
    shape = List.copyOf(shape);
    name = name == null ? "" : name;
  }

  /**
   * The byte size the request describes, checked: positive, no negative dimension, no overflow,
   * RAW size consistent with its shape. INVALID_ARGUMENT saying what was wrong otherwise.
   */
  public long sizeBytes() {
    if (name.length() > MAX_NAME_LENGTH) {
      throw VnrtRuntimeException.invalid("tensor name is " + name.length() + " characters long; at most "
          + MAX_NAME_LENGTH + " are allowed");
    }
    return sizeOf(dtype, shape, rawSizeBytes);
  }

  /** The byte size of {@code dtype} x {@code shape} (or a RAW size), validated as for {@link #sizeBytes()}. */
  public static long sizeOf(DType dtype, List<Long> shape, long rawSizeBytes) {
    for (int i = 0; i < shape.size(); i++) {
      if (shape.get(i) < 0) {
        throw VnrtRuntimeException.invalid("shape " + shape + " has dimension " + i + " = " + shape.get(i)
            + "; dimensions must be >= 0", "shape", shape);
      }
    }
    if (dtype == DType.RAW) {
      return rawSize(shape, rawSizeBytes);
    }
    long bytes;
    try {
      long elements = 1;
      for (long d : shape) {
        elements = Math.multiplyExact(elements, d);
      }
      bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
    } catch (ArithmeticException e) {
      throw VnrtRuntimeException.invalid("shape " + shape + " of " + dtype
          + " needs more than 2^63-1 bytes; no device can hold it", "shape", shape);
    }
    if (bytes == 0) {
      throw VnrtRuntimeException.invalid("shape " + shape + " has no elements; a tensor needs at least one byte",
          "shape", shape);
    }
    return bytes;
  }

  private static long rawSize(List<Long> shape, long rawSizeBytes) {
    if (rawSizeBytes < 0) {
      throw VnrtRuntimeException.invalid("size_bytes " + Long.toUnsignedString(rawSizeBytes)
          + " is too large: a tensor holds at most 2^63-1 bytes", "size_bytes", Long.toUnsignedString(rawSizeBytes));
    }
    long size = rawSizeBytes == 0 && shape.size() == 1 ? shape.getFirst() : rawSizeBytes;
    if (shape.size() > 1 || shape.size() == 1 && shape.getFirst() != size) {
      throw VnrtRuntimeException.invalid("a RAW tensor's shape must be empty or [size_bytes]; got shape " + shape
          + " with size_bytes " + rawSizeBytes, "shape", shape);
    }
    if (size == 0) {
      throw VnrtRuntimeException.invalid("size_bytes must be > 0 for a RAW tensor, got 0", "size_bytes", 0);
    }
    return size;
  }

  /** "tensor 'x' FLOAT32[2, 3]", for messages. */
  public String describe() {
    return "tensor " + (name.isEmpty() ? "" : "'" + name + "' ") + dtype + shape;
  }
}
