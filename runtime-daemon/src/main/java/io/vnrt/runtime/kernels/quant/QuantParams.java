package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.Arrays;

/**
 * What the quantized operators share: the integer ranges of the quantized types, round half to
 * even with saturation, and the load-time checks of scales and zero points (shape against the
 * granularity, zero point's type against the quantized type, constant zero points in range).
 */
public final class QuantParams {
    private QuantParams() {}

    /** Smallest value of an integer quantized type. */
    public static long min(DType t) {
        return switch (t) {
            case INT8 -> -128;
            case INT16 -> -32768;
            case INT4 -> -8;
            case INT2 -> -2;
            case INT32 -> Integer.MIN_VALUE;
            default -> 0;
        };
    }

    /** Largest value of an integer quantized type. */
    public static long max(DType t) {
        return switch (t) {
            case INT8 -> 127;
            case UINT8 -> 255;
            case INT16 -> 32767;
            case UINT16 -> 65535;
            case INT4 -> 7;
            case UINT4 -> 15;
            case INT2 -> 1;
            case UINT2 -> 3;
            case INT32 -> Integer.MAX_VALUE;
            default -> throw new IllegalArgumentException(t + " is not an integer quantized type");
        };
    }

    /** int8 or uint8: the operands of the integer GEMM. */
    public static boolean isByte(DType t) {
        return t == DType.INT8 || t == DType.UINT8;
    }

    /** round(v) half to even, saturated to [lo, hi]; NaN goes to 0 (as a C cast would give no defined value). */
    public static long roundSaturate(double v, long lo, long hi) {
        if (Double.isNaN(v)) {
            return 0;
        }
        double r = Math.rint(v);
        if (r <= lo) {
            return lo;
        }
        if (r >= hi) {
            return hi;
        }
        return (long) r;
    }

    /**
     * Checks that input {@code input} (a zero point called {@code name}) has type {@code expected}
     * and, when constant, values in that type's range. Returns its values as ints when constant,
     * else null.
     */
    public static int[] checkZeroPoint(NodeContext node, int input, String name, DType expected) {
        TensorType t = node.inputType(input);
        if (t.dtype() != expected) {
            throw node.error(name + " is " + t + " but must have the quantized type " + expected.displayName()
                    + " (the type of " + (input == 2 ? "the input/output" : "its operand") + ")");
        }
        Tensor c = node.constantInput(input);
        if (c == null || expected.isSmallFloat()) {
            return null;
        }
        int[] v = new int[Math.toIntExact(c.elementCount())];
        long lo = min(expected);
        long hi = max(expected);
        for (int i = 0; i < v.length; i++) {
            long x = c.getLong(i);
            if (x < lo || x > hi) {
                throw node.error(name + " element " + i + " is " + x + ", out of the range [" + lo + ", " + hi
                        + "] of " + expected.displayName());
            }
            v[i] = (int) x;
        }
        return v;
    }

    /**
     * Checks a scale/zero-point shape for a per-tensor or per-vector parameter: one element, or a
     * 1-D tensor of {@code length} elements (what {@code what} names). Returns true when per-vector.
     */
    public static boolean checkVector(NodeContext node, int input, String name, long length, String what) {
        TensorType t = node.inputType(input);
        if (t.elementCount() == 1 && t.rank() <= 1) {
            return false;
        }
        if (t.rank() == 1 && t.shape()[0] == length) {
            return true;
        }
        throw node.error(name + " has shape " + Arrays.toString(t.shape()) + "; expected a scalar or a 1-D tensor of "
                + length + " elements (" + what + ")");
    }

    /**
     * A MatMul's constant quantized weight [K, N] with its float32 scale and zero point (per tensor or
     * one per column), checked; {@code zeroPoints} has one entry per column either way.
     */
    public record ConstantWeight(Tensor w, int k, int n, Tensor scale, boolean perColumn, int[] zeroPoints) {}

    /**
     * Checks the weight at {@code input}, its scale at {@code input + 1} and its optional zero point
     * at {@code input + 2} against the activation {@code x} ({@code xName}); {@code name} is how
     * errors call the weight ("W") and {@code prefix} its parameters' prefix ("w").
     */
    public static ConstantWeight constantWeight(NodeContext node, TensorType x, String xName, int input, String name,
                                                String prefix) {
        Tensor w = node.constantInput(input);
        if (w == null || w.rank() != 2 || !isByte(w.dtype())) {
            throw node.error(name + " must be a constant int8 or uint8 matrix, the node gives " + node.inputType(input));
        }
        int k = Math.toIntExact(w.dim(0));
        int n = Math.toIntExact(w.dim(1));
        if (x.shape()[x.rank() - 1] != k) {
            throw node.error(xName + " is " + x + " but " + name + " has " + k + " rows");
        }
        Tensor scale = node.constantInput(input + 1);
        if (scale == null || scale.dtype() != DType.FLOAT32) {
            throw node.error(name + "'s scale must be a constant float32");
        }
        String columns = "one per column of " + name;
        boolean perColumn = checkVector(node, input + 1, prefix + "_scale", n, columns);
        int[] zp = new int[perColumn ? n : 1];
        if (node.hasInput(input + 2)) {
            if (node.constantInput(input + 2) == null) {
                throw node.error(name + "'s zero point must be constant");
            }
            if (checkVector(node, input + 2, prefix + "_zero_point", n, columns) != perColumn) {
                throw node.error(prefix + "_zero_point " + node.inputType(input + 2) + " and " + prefix + "_scale "
                        + node.inputType(input + 1) + " must have the same shape");
            }
            zp = checkZeroPoint(node, input + 2, prefix + "_zero_point", w.dtype());
        }
        int[] zeroPoints = new int[n];
        for (int j = 0; j < n; j++) {
            zeroPoints[j] = zp[perColumn ? j : 0];
        }
        return new ConstantWeight(w, k, n, scale, perColumn, zeroPoints);
    }

    /** The values of a run-time zero-point tensor as ints (null tensor: null). */
    public static int[] ints(Tensor t, int[] into) {
        if (t == null) {
            return null;
        }
        int n = Math.toIntExact(t.elementCount());
        int[] v = into != null && into.length == n ? into : new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = (int) t.getLong(i);
        }
        return v;
    }

    /** A float-typed scale's element as float (float32, float16 or bfloat16). */
    public static float scale(Tensor t, long i) {
        return (float) t.getDouble(i);
    }

    /**
     * The requantization multiplier {@code x_scale · w_scale / y_scale}, each step rounded to the
     * scales' type (float32, float16 or bfloat16) as the ONNX reference computes it.
     */
    public static double multiplier(DType scaleType, float xs, float ws, float ys) {
        return round(scaleType, round(scaleType, xs * ws) / ys);
    }

    /** v rounded to float32, float16 or bfloat16. */
    public static float round(DType t, float v) {
        return switch (t) {
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BFLOAT16 -> Float.intBitsToFloat((Tensor.floatToBfloat16(v) & 0xFFFF) << 16);
            default -> v;
        };
    }
}
