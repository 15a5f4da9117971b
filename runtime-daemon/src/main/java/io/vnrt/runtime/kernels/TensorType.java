package io.vnrt.runtime.kernels;

import java.util.Arrays;

/** A tensor's element type and concrete shape, as known when a plan is compiled. */
public record TensorType(DType dtype, long[] shape) {

    public TensorType {
        shape = shape.clone();
    }

    /** Number of elements (1 for a scalar). */
    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Bytes the tensor occupies. */
    public long byteSize() {
        return Math.multiplyExact(elementCount(), dtype.byteSize());
    }

    public int rank() {
        return shape.length;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorType t && t.dtype == dtype && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return dtype.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return dtype.displayName() + Arrays.toString(shape);
    }
}
