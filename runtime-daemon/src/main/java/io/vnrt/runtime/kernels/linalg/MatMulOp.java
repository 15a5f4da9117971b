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
 * MatMul (numpy semantics: 1-D operands promoted then squeezed, batch dimensions broadcast).
 * Float32 goes through {@link Sgemm}; a constant B (weights) is packed once here and kept with the
 * kernel. Optional fusion hooks: a third input, a bias of shape [N] added to every row, and the
 * attribute {@code vnrt_activation}.
 */
final class MatMulOp {
    private MatMulOp() {}

    static Kernel create(NodeContext node) {
        TensorType ta = node.inputType(0);
        TensorType tb = node.inputType(1);
        if (ta.dtype() != tb.dtype()) {
            throw node.error("A is " + ta + " but B is " + tb + "; both must have the same type");
        }
        Layout l = Layout.of(node, ta.shape(), tb.shape());
        Activation act = Activation.of(node);
        float actAlpha = node.attrFloat("vnrt_alpha", 0.01f);
        boolean hasBias = node.hasInput(2);
        if (hasBias && node.inputType(2).elementCount() != l.n) {
            throw node.error("fused bias has type " + node.inputType(2) + ", expected " + l.n + " elements");
        }
        TensorType out = new TensorType(ta.dtype(), l.outShape);
        if (ta.dtype() == DType.FLOAT32) {
            return new FloatMatMul(l, out, node, hasBias, act, actAlpha);
        }
        if (act != null || hasBias) {
            throw node.error("fused bias/activation is only supported for float32, got " + ta.dtype());
        }
        return new GenericMatMul(l, out);
    }

    /** Shapes of a (broadcast) batched matrix product, resolved once at compile time. */
    static final class Layout {
        int m;
        int n;
        int k;
        long[] outShape;
        /** Per output batch entry: index of the A matrix and of the B matrix. */
        int[] aIndex;
        int[] bIndex;
        int bCount;

        static Layout of(NodeContext node, long[] sa, long[] sb) {
            if (sa.length == 0 || sb.length == 0) {
                throw node.error("MatMul operands must have rank >= 1, got " + Arrays.toString(sa) + " and "
                        + Arrays.toString(sb));
            }
            long[] a = sa.length == 1 ? new long[] {1, sa[0]} : sa;
            long[] b = sb.length == 1 ? new long[] {sb[0], 1} : sb;
            Layout l = new Layout();
            l.m = Math.toIntExact(a[a.length - 2]);
            l.k = Math.toIntExact(a[a.length - 1]);
            l.n = Math.toIntExact(b[b.length - 1]);
            if (b[b.length - 2] != l.k) {
                throw node.error("inner dimensions differ: A " + Arrays.toString(sa) + ", B " + Arrays.toString(sb));
            }
            long[] ab = Arrays.copyOf(a, a.length - 2);
            long[] bb = Arrays.copyOf(b, b.length - 2);
            long[] ob;
            try {
                ob = Shapes.broadcast(ab, bb);
            } catch (IllegalArgumentException e) {
                throw node.error("batch dimensions: " + e.getMessage());
            }
            int batch = Math.toIntExact(Shapes.elementCount(ob));
            long[] as = Shapes.broadcastStrides(ab, ob);
            long[] bs = Shapes.broadcastStrides(bb, ob);
            l.aIndex = new int[batch];
            l.bIndex = new int[batch];
            l.bCount = Math.toIntExact(Shapes.elementCount(bb));
            long[] idx = new long[ob.length];
            for (int t = 0; t < batch; t++) {
                long ai = 0;
                long bi = 0;
                for (int d = 0; d < ob.length; d++) {
                    ai += idx[d] * as[d];
                    bi += idx[d] * bs[d];
                }
                l.aIndex[t] = (int) ai;
                l.bIndex[t] = (int) bi;
                for (int d = ob.length - 1; d >= 0; d--) {
                    if (++idx[d] < ob[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
            int extra = (sa.length > 1 ? 1 : 0) + (sb.length > 1 ? 1 : 0);
            long[] out = Arrays.copyOf(ob, ob.length + extra);
            int o = ob.length;
            if (sa.length > 1) {
                out[o++] = l.m;
            }
            if (sb.length > 1) {
                out[o] = l.n;
            }
            l.outShape = out;
            return l;
        }

        int batch() {
            return aIndex.length;
        }
    }

    /** Float32 through the packed GEMM. */
    static final class FloatMatMul implements Kernel {
        private final TensorType out;
        private final int m;
        private final int n;
        private final int k;
        private final int bCount;
        private final long packedOne;
        /** B packed at compile time (weights), or null to pack per run into the workspace. */
        private final MemorySegment packed;
        private final boolean hasBias;
        private final Activation act;
        private final float actAlpha;
        private final long[] aOff;
        private final long[] bOff;
        private final long[] cOff;

        FloatMatMul(Layout l, TensorType out, NodeContext node, boolean hasBias, Activation act, float actAlpha) {
            Tensor constB = node.constantInput(1);
            this.out = out;
            this.k = l.k;
            this.n = l.n;
            this.bCount = l.bCount;
            this.hasBias = hasBias;
            this.act = act;
            this.actAlpha = actAlpha;
            this.packedOne = Sgemm.packedBytes(l.k, l.n);
            int batch = l.batch();
            boolean aContiguous = true;
            for (int t = 0; t < batch; t++) {
                aContiguous &= l.aIndex[t] == t;
            }
            if (bCount == 1 && aContiguous && batch > 1) {
                // One weight matrix under a batch of rows: one tall GEMM tiles better than many short ones.
                this.m = l.m * batch;
                this.aOff = new long[1];
                this.bOff = new long[1];
                this.cOff = new long[1];
            } else {
                this.m = l.m;
                this.aOff = new long[batch];
                this.bOff = new long[batch];
                this.cOff = new long[batch];
                for (int t = 0; t < batch; t++) {
                    aOff[t] = (long) l.aIndex[t] * l.m * l.k * 4L;
                    bOff[t] = l.bIndex[t] * packedOne;
                    cOff[t] = (long) t * l.m * l.n * 4L;
                }
            }
            packed = constB == null ? null : node.packedConstant(1, "sgemm B panels", packedOne * bCount,
                    dst -> packAll(constB.data(), dst));
        }

        private void packAll(MemorySegment b, MemorySegment dst) {
            int panels = Sgemm.panels(n);
            for (int i = 0; i < bCount; i++) {
                Sgemm.packB(b, (long) i * k * n * 4L, n * 4L, 4, k, n, dst, i * packedOne, 0, panels);
            }
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public long workspaceBytes() {
            return packed == null ? packedOne * bCount : 0;
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment bp = packed;
            if (bp == null) {
                bp = ctx.workspace();
                MemorySegment b = in[1].data();
                MemorySegment dst = bp;
                int panels = Sgemm.panels(n);
                long work = (long) bCount * k * n;
                if (work < 4 * Sgemm.MIN_TASK_MACS || ctx.parallelism() == 1) {
                    packAll(b, dst);
                } else {
                    int tasks = Math.min(bCount * panels, ctx.parallelism() * 2);
                    int units = bCount * panels;
                    ctx.parallelFor(tasks, t -> {
                        for (int u = (int) ((long) t * units / tasks); u < (long) (t + 1) * units / tasks; u++) {
                            int i = u / panels;
                            int p = u % panels;
                            Sgemm.packB(b, (long) i * k * n * 4L, n * 4L, 4, k, n, dst, i * packedOne, p, p + 1);
                        }
                    });
                }
            }
            Sgemm.Epilogue ep = hasBias || act != null
                    ? new Sgemm.Epilogue(1f, false, hasBias ? in[2].data() : null, null, 0, act, actAlpha)
                    : Sgemm.Epilogue.PLAIN;
            Sgemm.Problem p = new Sgemm.Problem(aOff.length, m, n, k, in[0].data(), aOff, k * 4L, 4,
                    bp, bOff, outs[0].data(), cOff, n * 4L);
            Sgemm.run(p, ep, ctx);
        }
    }

    /** Other dtypes: exact integer arithmetic in long, floating point in double. */
    static final class GenericMatMul implements Kernel {
        private final Layout l;
        private final TensorType out;

        GenericMatMul(Layout l, TensorType out) {
            this.l = l;
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
            Tensor c = outs[0];
            boolean integer = !out.dtype().isFloatingPoint();
            int m = l.m;
            int n = l.n;
            int k = l.k;
            for (int t = 0; t < l.batch(); t++) {
                long ao = (long) l.aIndex[t] * m * k;
                long bo = (long) l.bIndex[t] * k * n;
                long co = (long) t * m * n;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        if (integer) {
                            long s = 0;
                            for (int q = 0; q < k; q++) {
                                s += a.getLong(ao + (long) i * k + q) * b.getLong(bo + (long) q * n + j);
                            }
                            c.setLong(co + (long) i * n + j, s);
                        } else {
                            double s = 0;
                            for (int q = 0; q < k; q++) {
                                s += a.getDouble(ao + (long) i * k + q) * b.getDouble(bo + (long) q * n + j);
                            }
                            c.setDouble(co + (long) i * n + j, s);
                        }
                    }
                }
            }
        }
    }
}
