package io.vnrt.client;

import java.util.ArrayList;
import java.util.List;

/**
 * What to allocate: element type, shape and an optional name shown in stats and errors.
 *
 * @param dtype element type
 * @param shape dimensions, each >= 0; empty for a scalar
 * @param name display name, or "" for none
 */
public record TensorSpec(DType dtype, List<Long> shape, String name) {

  /** Validates and copies the shape. */
  public TensorSpec {
    if (dtype == null) {
      throw new IllegalArgumentException("dtype is required");
    }
    shape = List.copyOf(shape);
    name = name == null ? "" : name;
  }

  /** A typed tensor of the given dimensions. */
  public static TensorSpec of(DType dtype, long... dims) {
    List<Long> shape = new ArrayList<>(dims.length);
    for (long d : dims) {
      shape.add(d);
    }
    return new TensorSpec(dtype, shape, "");
  }

  /** An untyped buffer of {@code sizeBytes} bytes. */
  public static TensorSpec raw(long sizeBytes) {
    return of(DType.RAW, sizeBytes);
  }

  /** The same spec with a display name. */
  public TensorSpec named(String newName) {
    return new TensorSpec(dtype, shape, newName);
  }

  /** Number of elements (1 for a scalar). */
  public long elementCount() {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Size in bytes; throws ArithmeticException when it does not fit in a long. */
  public long sizeBytes() {
    return Math.multiplyExact(elementCount(), (long) dtype.byteSize());
  }

  @Override
  public String toString() {
    return (name.isEmpty() ? "" : "'" + name + "' ") + dtype + shape;
  }
}
