package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Det: the determinant of each square matrix in [..., M, M], by LU decomposition with partial
 * pivoting in double precision (one M×M copy in the workspace at a time).
 */
final class DetOp implements Kernel {
    private final TensorType out;
    private final int m;
    private final long matrices;

    private DetOp(TensorType out, int m, long matrices) {
        this.out = out;
        this.m = m;
        this.matrices = matrices;
    }

    static Kernel create(NodeContext n) {
        TensorType x = n.inputType(0);
        if (!x.dtype().isFloatingPoint() || x.dtype().isSmallFloat()) {
            throw n.error("input must be float32, float16, bfloat16 or float64, got " + x);
        }
        long[] s = x.shape();
        if (s.length < 2 || s[s.length - 1] != s[s.length - 2]) {
            throw n.error("input must be [..., M, M] (square matrices), got " + x);
        }
        long[] os = Arrays.copyOf(s, s.length - 2);
        TensorType out = new TensorType(x.dtype(), os);
        return new DetOp(out, Math.toIntExact(s[s.length - 1]), out.elementCount());
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public long workspaceBytes() {
        return (long) m * m * 8;
    }

    @Override
    public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
        Tensor x = in[0];
        MemorySegment a = ctx.workspace();
        long mm = (long) m * m;
        for (long b = 0; b < matrices; b++) {
            for (long i = 0; i < mm; i++) {
                a.setAtIndex(Tensor.F64, i, x.getDouble(b * mm + i));
            }
            outs[0].setDouble(b, determinant(a, m));
        }
    }

    /** Determinant of the m×m row-major matrix in a (destroyed). */
    static double determinant(MemorySegment a, int m) {
        double det = 1;
        for (int c = 0; c < m; c++) {
            int pivot = c;
            double best = Math.abs(a.getAtIndex(Tensor.F64, (long) c * m + c));
            for (int r = c + 1; r < m; r++) {
                double v = Math.abs(a.getAtIndex(Tensor.F64, (long) r * m + c));
                if (v > best) {
                    best = v;
                    pivot = r;
                }
            }
            if (best == 0) {
                return 0;
            }
            if (pivot != c) {
                for (int k = 0; k < m; k++) {
                    double t = a.getAtIndex(Tensor.F64, (long) c * m + k);
                    a.setAtIndex(Tensor.F64, (long) c * m + k, a.getAtIndex(Tensor.F64, (long) pivot * m + k));
                    a.setAtIndex(Tensor.F64, (long) pivot * m + k, t);
                }
                det = -det;
            }
            double d = a.getAtIndex(Tensor.F64, (long) c * m + c);
            det *= d;
            for (int r = c + 1; r < m; r++) {
                double f = a.getAtIndex(Tensor.F64, (long) r * m + c) / d;
                if (f == 0) {
                    continue;
                }
                for (int k = c + 1; k < m; k++) {
                    long at = (long) r * m + k;
                    a.setAtIndex(Tensor.F64, at, a.getAtIndex(Tensor.F64, at) - f * a.getAtIndex(Tensor.F64, (long) c * m + k));
                }
            }
        }
        return det;
    }
}
