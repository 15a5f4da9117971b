package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Gemm: Y = alpha·A'·B' + beta·C with A', B' optionally transposed and C broadcast to [M, N].
 * Float32 through {@link Sgemm} (A read in place through strides, B packed once when constant);
 * a row-vector C with beta 1 becomes the epilogue's bias, any other C is written first and
 * accumulated into.
 */
final class GemmOp {
    private GemmOp() {}

    static Kernel create(NodeContext node) {
        TensorType ta = node.inputType(0);
        TensorType tb = node.inputType(1);
        if (ta.rank() != 2 || tb.rank() != 2) {
            throw node.error("A and B must be matrices, got " + ta + " and " + tb);
        }
        boolean transA = node.attrInt("transA", 0) != 0;
        boolean transB = node.attrInt("transB", 0) != 0;
        int m = (int) (transA ? ta.shape()[1] : ta.shape()[0]);
        int k = (int) (transA ? ta.shape()[0] : ta.shape()[1]);
        int kb = (int) (transB ? tb.shape()[1] : tb.shape()[0]);
        int n = (int) (transB ? tb.shape()[0] : tb.shape()[1]);
        if (k != kb) {
            throw node.error("inner dimensions differ: A " + ta + (transA ? "ᵀ" : "") + ", B " + tb
                    + (transB ? "ᵀ" : ""));
        }
        float alpha = node.attrFloat("alpha", 1f);
        float beta = node.attrFloat("beta", 1f);
        long[] cShape = node.hasInput(2) ? node.inputType(2).shape() : null;
        if (cShape != null) {
            try {
                long[] bc = Shapes.broadcast(cShape, new long[] {m, n});
                if (bc.length != 2 || bc[0] != m || bc[1] != n) {
                    throw new IllegalArgumentException("broadcasts to " + Arrays.toString(bc));
                }
            } catch (IllegalArgumentException e) {
                throw node.error("C of shape " + Arrays.toString(cShape) + " cannot broadcast to [" + m + ", " + n
                        + "]: " + e.getMessage());
            }
        }
        TensorType out = new TensorType(ta.dtype(), new long[] {m, n});
        Activation act = Activation.of(node);
        float actAlpha = node.attrFloat("vnrt_alpha", 0.01f);
        GemmShape g = new GemmShape(m, n, k, transA, transB, alpha, beta, cShape, act, actAlpha);
        if (ta.dtype() == DType.FLOAT32) {
            return new FloatGemm(g, out, node);
        }
        if (act != null) {
            // GenericGemm computes alpha·AB + beta·C only; the activation runs after it
            return new GenericEpilogue(new GenericGemm(g, out), 1f, -1, act, actAlpha);
        }
        return new GenericGemm(g, out);
    }

    record GemmShape(int m, int n, int k, boolean transA, boolean transB, float alpha, float beta,
                     long[] cShape, Activation act, float actAlpha) {
        boolean cIsRowBias() {
            return cShape != null && beta == 1f && Shapes.elementCount(cShape) == n
                    && (cShape.length == 1 || (cShape.length == 2 && cShape[0] == 1));
        }

        boolean usesC() {
            return cShape != null && beta != 0f;
        }
    }

    /** Writes scale·C broadcast to [M, N] into y. */
    static void fillC(GemmShape g, Tensor c, Tensor y, float scale) {
        long[] st = Shapes.broadcastStrides(g.cShape, new long[] {g.m, g.n});
        for (int i = 0; i < g.m; i++) {
            for (int j = 0; j < g.n; j++) {
                y.setDouble((long) i * g.n + j, scale * c.getDouble(i * st[0] + j * st[1]));
            }
        }
    }

    static final class FloatGemm implements Kernel {
        private final GemmShape g;
        private final TensorType out;
        private final long packedBytes;
        private final MemorySegment packed;
        private final long[] zero = {0};

        FloatGemm(GemmShape g, TensorType out, NodeContext node) {
            this.g = g;
            this.out = out;
            this.packedBytes = Sgemm.packedBytes(g.k, g.n);
            Tensor constB = node.constantInput(1);
            packed = constB == null ? null : node.packedConstant(1, "sgemm B panels" + (g.transB ? " (transposed)" : ""),
                    packedBytes, dst -> pack(constB.data(), dst));
        }

        private void pack(MemorySegment b, MemorySegment dst) {
            long ks = g.transB ? 4 : g.n * 4L;
            long ns = g.transB ? g.k * 4L : 4;
            Sgemm.packB(b, 0, ks, ns, g.k, g.n, dst, 0, 0, Sgemm.panels(g.n));
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public long workspaceBytes() {
            return packed == null ? packedBytes : 0;
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment bp = packed;
            if (bp == null) {
                bp = ctx.workspace();
                pack(in[1].data(), bp);
            }
            MemorySegment colBias = null;
            boolean accumulate = false;
            if (g.alpha == 0f) {
                // The GEMM path pre-scales C by beta/alpha; with alpha 0, Y is beta·C alone.
                if (g.usesC()) {
                    fillC(g, in[2], outs[0], g.beta);
                } else {
                    outs[0].data().fill((byte) 0);
                }
                if (g.act != null) {
                    g.act.applyInPlace(outs[0].data(), 0, g.m * g.n, g.actAlpha);
                }
                return;
            }
            if (g.usesC()) {
                if (g.cIsRowBias()) {
                    colBias = in[2].data();
                } else {
                    // The epilogue scales the finished sum by alpha: alpha·(AB + (beta/alpha)·C).
                    fillC(g, in[2], outs[0], g.beta / g.alpha);
                    accumulate = true;
                }
            }
            Sgemm.Epilogue ep = new Sgemm.Epilogue(g.alpha, accumulate, colBias, null, 0, g.act, g.actAlpha);
            long ars = g.transA ? 4 : g.k * 4L;
            long aks = g.transA ? g.m * 4L : 4;
            Sgemm.run(new Sgemm.Problem(1, g.m, g.n, g.k, in[0].data(), zero, ars, aks, bp, zero,
                    outs[0].data(), zero, g.n * 4L), ep, ctx);
        }
    }

    /** Other dtypes: double for floating point, exact long for integers. */
    static final class GenericGemm implements Kernel {
        private final GemmShape g;
        private final TensorType out;

        GenericGemm(GemmShape g, TensorType out) {
            this.g = g;
            this.out = out;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            Tensor a = in[0];
            Tensor b = in[1];
            Tensor y = outs[0];
            long[] st = g.cShape == null ? null : Shapes.broadcastStrides(g.cShape, new long[] {g.m, g.n});
            boolean integer = !out.dtype().isFloatingPoint();
            for (int i = 0; i < g.m; i++) {
                for (int j = 0; j < g.n; j++) {
                    long idx = (long) i * g.n + j;
                    if (integer) {
                        long s = 0;
                        for (int q = 0; q < g.k; q++) {
                            s += a.getLong(g.transA ? (long) q * g.m + i : (long) i * g.k + q)
                                    * b.getLong(g.transB ? (long) j * g.k + q : (long) q * g.n + j);
                        }
                        long v = (long) g.alpha * s;
                        if (g.usesC()) {
                            v += (long) g.beta * in[2].getLong(i * st[0] + j * st[1]);
                        }
                        y.setLong(idx, v);
                    } else {
                        double s = 0;
                        for (int q = 0; q < g.k; q++) {
                            s += a.getDouble(g.transA ? (long) q * g.m + i : (long) i * g.k + q)
                                    * b.getDouble(g.transB ? (long) j * g.k + q : (long) q * g.n + j);
                        }
                        double v = g.alpha * s;
                        if (g.usesC()) {
                            v += g.beta * in[2].getDouble(i * st[0] + j * st[1]);
                        }
                        y.setDouble(idx, v);
                    }
                }
            }
        }
    }
}
