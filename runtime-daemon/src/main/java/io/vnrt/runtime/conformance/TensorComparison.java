package io.vnrt.runtime.conformance;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.util.Arrays;

/**
 * Compares an actual tensor with an expected one the way the conformance suite does: dtype and
 * shape must match; floats within |a-b| <= atol + rtol*|b| (NaN equals NaN, infinities must match);
 * integers and bools exactly.
 */
public final class TensorComparison {
    public static final double RTOL = 1e-3;
    public static final double ATOL = 1e-7;

    private TensorComparison() {}

    /** Null when equal within tolerance, else a description of the worst mismatch. */
    public static String compare(Tensor actual, Tensor expected) {
        if (actual.dtype() != expected.dtype()) {
            return "dtype " + actual.dtype().displayName() + ", expected " + expected.dtype().displayName()
                    + " (shape " + Arrays.toString(actual.shape()) + ")";
        }
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            return "shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape());
        }
        long n = expected.elementCount();
        DType t = expected.dtype();
        long worst = -1;
        double worstExcess = -1;
        int mismatches = 0;
        if (t.isFloatingPoint()) {
            for (long i = 0; i < n; i++) {
                double a = actual.getDouble(i);
                double b = expected.getDouble(i);
                if (Double.isNaN(a) && Double.isNaN(b)) {
                    continue;
                }
                double excess;
                if (Double.isNaN(a) || Double.isNaN(b) || Double.isInfinite(a) || Double.isInfinite(b)) {
                    excess = a == b ? -1 : Double.POSITIVE_INFINITY;
                } else {
                    excess = Math.abs(a - b) - (ATOL + RTOL * Math.abs(b));
                }
                if (excess > 0) {
                    mismatches++;
                    if (excess > worstExcess) {
                        worstExcess = excess;
                        worst = i;
                    }
                }
            }
            if (worst < 0) {
                return null;
            }
            return describe(actual, expected, worst, mismatches, fmt(actual.getDouble(worst)), fmt(expected.getDouble(worst)));
        }
        for (long i = 0; i < n; i++) {
            if (actual.getLong(i) != expected.getLong(i)) {
                mismatches++;
                if (worst < 0) {
                    worst = i;
                }
            }
        }
        if (worst < 0) {
            return null;
        }
        return describe(actual, expected, worst, mismatches, str(actual, worst), str(expected, worst));
    }

    private static String str(Tensor t, long i) {
        if (t.dtype() == DType.BOOL) {
            return t.getLong(i) != 0 ? "true" : "false";
        }
        if (t.dtype() == DType.UINT64) {
            return Long.toUnsignedString(t.getLong(i));
        }
        return Long.toString(t.getLong(i));
    }

    private static String fmt(double v) {
        return Double.toString(v);
    }

    private static String describe(Tensor actual, Tensor expected, long flat, int mismatches, String got, String want) {
        long[] shape = expected.shape();
        long[] idx = new long[shape.length];
        long rest = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = rest % shape[d];
            rest /= shape[d];
        }
        return "worst mismatch at " + Arrays.toString(idx) + ": got " + got + ", expected " + want + " (" + mismatches + " of "
                + expected.elementCount() + " elements differ; shape " + Arrays.toString(shape) + ", "
                + expected.dtype().displayName() + ")";
    }
}
