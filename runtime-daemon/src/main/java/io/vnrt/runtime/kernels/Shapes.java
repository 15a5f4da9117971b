package io.vnrt.runtime.kernels;

import java.util.Arrays;

/** Shape arithmetic shared by kernels: element counts, strides, numpy-style broadcasting. */
public final class Shapes {
    private Shapes() {}

    /** Product of the dimensions; throws ArithmeticException on overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Row-major strides in elements. */
    public static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** The numpy broadcast of two shapes, or IllegalArgumentException naming both. */
    public static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da == db || db == 1) {
                out[i] = da;
            } else if (da == 1) {
                out[i] = db;
            } else {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " cannot be broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
        }
        return out;
    }

    /** Broadcast of several shapes. */
    public static long[] broadcast(long[]... shapes) {
        long[] out = new long[0];
        for (long[] s : shapes) {
            out = broadcast(out, s);
        }
        return out;
    }

    /**
     * Strides (in elements) for reading a tensor of shape {@code in} as if it had the broadcast shape
     * {@code out}: broadcast dimensions get stride 0.
     */
    public static long[] broadcastStrides(long[] in, long[] out) {
        long[] inStrides = strides(in);
        long[] s = new long[out.length];
        int offset = out.length - in.length;
        for (int i = 0; i < out.length; i++) {
            int j = i - offset;
            s[i] = (j < 0 || in[j] == 1) ? 0 : inStrides[j];
        }
        return s;
    }

    /** Normalises a possibly negative axis against a rank, or IllegalArgumentException. */
    public static int axis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1)) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }
}
