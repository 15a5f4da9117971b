package io.vnrt.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A typed, shaped view over bytes in a MemorySegment (an HBM slice, or host memory for constants).
 * Elements are little-endian and row-major. The typed accessors are for reference paths and
 * index-heavy operators; hot loops use the segment directly with the Vector API.
 */
public final class Tensor {
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    public static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    private final DType dtype;
    private final long[] shape;
    private final long elementCount;
    private final MemorySegment data;
    /** Non-null for a constant whose bytes were not placed (only a packed copy exists): why. */
    private final String withheld;

    /** Wraps {@code data}, which must be exactly the tensor's byte size. */
    public Tensor(DType dtype, long[] shape, MemorySegment data) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.elementCount = Shapes.elementCount(shape);
        long bytes = elementCount * dtype.byteSize();
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor " + dtype.displayName() + Arrays.toString(shape) + " needs "
                    + bytes + " bytes, segment has " + data.byteSize());
        }
        this.data = data;
        this.withheld = null;
    }

    private Tensor(DType dtype, long[] shape, String withheld) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.elementCount = Shapes.elementCount(shape);
        this.data = MemorySegment.NULL;
        this.withheld = withheld;
    }

    /**
     * A tensor with a type and shape but no bytes: a model constant the loader kept only in
     * packed form. Reading its data throws IllegalStateException with {@code why}.
     */
    public static Tensor withheld(DType dtype, long[] shape, String why) {
        return new Tensor(dtype, shape, why);
    }

    /** A new zeroed tensor in GC-managed off-heap memory (for constants and tests, not hot paths). */
    public static Tensor allocate(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Shapes.elementCount(shape), dtype.byteSize());
        return new Tensor(dtype, shape, Arena.ofAuto().allocate(Math.max(bytes, 1), 64).asSlice(0, bytes));
    }

    /** A float32 tensor holding {@code values}. */
    public static Tensor ofFloats(long[] shape, float... values) {
        Tensor t = allocate(DType.FLOAT32, shape);
        MemorySegment.copy(values, 0, t.data, F32, 0, values.length);
        return t;
    }

    /** An int64 tensor holding {@code values}. */
    public static Tensor ofLongs(long[] shape, long... values) {
        Tensor t = allocate(DType.INT64, shape);
        MemorySegment.copy(values, 0, t.data, I64, 0, values.length);
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public long dim(int i) {
        return shape[i];
    }

    public int rank() {
        return shape.length;
    }

    public long elementCount() {
        return elementCount;
    }

    public long byteSize() {
        return withheld != null ? elementCount * dtype.byteSize() : data.byteSize();
    }

    public MemorySegment data() {
        if (withheld != null) {
            throw new IllegalStateException(withheld);
        }
        return data;
    }

    public TensorType type() {
        return new TensorType(dtype, shape);
    }

    /** The same bytes seen with another shape of the same element count. */
    public Tensor reshape(long... newShape) {
        return new Tensor(dtype, newShape, data());
    }

    public float getFloat(long i) {
        return data.getAtIndex(F32, i);
    }

    public void setFloat(long i, float v) {
        data.setAtIndex(F32, i, v);
    }

    /** Element i converted to double, for any numeric dtype. */
    public double getDouble(long i) {
        return switch (dtype) {
            case FLOAT32 -> data.getAtIndex(F32, i);
            case FLOAT64 -> data.getAtIndex(F64, i);
            case FLOAT16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            case BFLOAT16 -> Float.intBitsToFloat((data.getAtIndex(I16, i) & 0xFFFF) << 16);
            case INT8 -> data.get(I8, i);
            case UINT8, BOOL -> data.get(I8, i) & 0xFF;
            case INT16 -> data.getAtIndex(I16, i);
            case UINT16 -> data.getAtIndex(I16, i) & 0xFFFF;
            case INT32 -> data.getAtIndex(I32, i);
            case UINT32 -> data.getAtIndex(I32, i) & 0xFFFFFFFFL;
            case INT64 -> data.getAtIndex(I64, i);
            case UINT64 -> unsignedToDouble(data.getAtIndex(I64, i));
            case INT4, INT2 -> data.get(I8, i);
            case UINT4, UINT2 -> data.get(I8, i) & 0xFF;
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1 ->
                    MiniFloats.decode(dtype, data.get(I8, i));
            case STRING -> throw new UnsupportedOperationException("string tensors are not supported");
        };
    }

    /** Element i converted to long (floats truncate toward zero), for any numeric dtype. */
    public long getLong(long i) {
        return switch (dtype) {
            case INT8, INT4, INT2 -> data.get(I8, i);
            case UINT8, BOOL, UINT4, UINT2 -> data.get(I8, i) & 0xFF;
            case INT16 -> data.getAtIndex(I16, i);
            case UINT16 -> data.getAtIndex(I16, i) & 0xFFFF;
            case INT32 -> data.getAtIndex(I32, i);
            case UINT32 -> data.getAtIndex(I32, i) & 0xFFFFFFFFL;
            case INT64, UINT64 -> data.getAtIndex(I64, i);
            default -> (long) getDouble(i);
        };
    }

    /**
     * Stores v converted to this tensor's dtype (integers wrap like a C cast; bool is v != 0;
     * 8/4-bit floats saturate, see {@link #setDouble(long, double, boolean)}).
     */
    public void setDouble(long i, double v) {
        setDouble(i, v, true);
    }

    /** Like {@link #setDouble(long, double)}; {@code saturate} is Cast's attribute for the 8-bit float formats. */
    public void setDouble(long i, double v, boolean saturate) {
        switch (dtype) {
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1 ->
                    data.set(I8, i, (byte) MiniFloats.encode(dtype, v, saturate));
            case FLOAT32 -> data.setAtIndex(F32, i, (float) v);
            case FLOAT64 -> data.setAtIndex(F64, i, v);
            case FLOAT16 -> data.setAtIndex(I16, i, Float.floatToFloat16((float) v));
            case BFLOAT16 -> data.setAtIndex(I16, i, floatToBfloat16((float) v));
            case BOOL -> data.set(I8, i, (byte) (v != 0 ? 1 : 0));
            case UINT64 -> data.setAtIndex(I64, i, doubleToUnsigned(v));
            default -> setLong(i, (long) v);
        }
    }

    /** Stores v converted to this tensor's dtype (integers wrap; bool is v != 0). */
    public void setLong(long i, long v) {
        switch (dtype) {
            case INT8, UINT8 -> data.set(I8, i, (byte) v);
            // 4- and 2-bit integers keep the low bits, like any narrowing integer cast
            case INT4 -> data.set(I8, i, (byte) ((v << 60) >> 60));
            case UINT4 -> data.set(I8, i, (byte) (v & 0xF));
            case INT2 -> data.set(I8, i, (byte) ((v << 62) >> 62));
            case UINT2 -> data.set(I8, i, (byte) (v & 0x3));
            case BOOL -> data.set(I8, i, (byte) (v != 0 ? 1 : 0));
            case INT16, UINT16 -> data.setAtIndex(I16, i, (short) v);
            case INT32, UINT32 -> data.setAtIndex(I32, i, (int) v);
            case INT64, UINT64 -> data.setAtIndex(I64, i, v);
            default -> setDouble(i, v);
        }
    }

    /** Round-to-nearest-even conversion of a float to bfloat16 bits. */
    public static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static double unsignedToDouble(long v) {
        double d = (double) (v >>> 1) * 2.0;
        return d + (v & 1);
    }

    private static long doubleToUnsigned(double v) {
        if (v < 0x1p63) {
            return (long) v;
        }
        return (long) (v - 0x1p63) ^ Long.MIN_VALUE;
    }

    /** The elements as a long array (int64 shape tensors and the like). */
    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(elementCount)];
        for (int i = 0; i < out.length; i++) {
            out[i] = getLong(i);
        }
        return out;
    }

    /** The elements as a float array. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(elementCount)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) getDouble(i);
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor " + dtype.displayName() + Arrays.toString(shape);
    }
}
