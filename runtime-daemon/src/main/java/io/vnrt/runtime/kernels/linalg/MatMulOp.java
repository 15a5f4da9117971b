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
 * kernel. Optional fusion hooks: the attribute {@code vnrt_scale} (a following Mul by a scalar,
 * applied to each sum first), a third input, a bias of shape [N] added to every row, the
 * attribute {@code vnrt_activation}, and operands and output read and written through the axis
 * permutations of folded Transposes ({@link Layout}).
 */
final class MatMulOp {
    private MatMulOp() {}

    static Kernel create(NodeContext node) {
        TensorType ta = node.inputType(0);
        TensorType tb = node.inputType(1);
        if (ta.dtype() != tb.dtype()) {
            throw node.error("A is " + ta + " but B is " + tb + "; both must have the same type");
        }
        Layout l = Layout.of(node, ta.shape(), node.attrInts("vnrt_permA", null), tb.shape(),
                node.attrInts("vnrt_permB", null), node.attrInts("vnrt_permY", null));
        Activation act = Activation.of(node);
        float actAlpha = node.attrFloat("vnrt_alpha", 0.01f);
        float scale = node.attrFloat("vnrt_scale", 1f);
        boolean hasBias = node.hasInput(2);
        if (hasBias && node.inputType(2).elementCount() != l.n) {
            throw node.error("fused bias has type " + node.inputType(2) + ", expected " + l.n + " elements");
        }
        TensorType out = new TensorType(ta.dtype(), l.outShape);
        if (ta.dtype() == DType.FLOAT32) {
            return new FloatMatMul(l, out, node, hasBias, act, actAlpha, scale);
        }
        if (act != null || hasBias || node.hasAttribute("vnrt_scale")) {
            return new GenericEpilogue(new GenericMatMul(l, out), scale, hasBias ? 2 : -1, act, actAlpha);
        }
        return new GenericMatMul(l, out);
    }

    /**
     * Shapes and strides of a (broadcast) batched matrix product, resolved once at compile time.
     * An operand can be read through a permutation of its axes ({@code vnrt_permA}, {@code vnrt_permB}:
     * the perm of a Transpose the graph optimizer folded in, so the operand is the Transpose's input
     * read in place), and the output written through one ({@code vnrt_permY}: a following
     * Transpose). All offsets and strides are in elements.
     */
    static final class Layout {
        int m;
        int n;
        int k;
        long[] outShape;
        /** Per output batch entry: element offset of its A matrix, of its C matrix, and index of its B matrix. */
        long[] aOff;
        long[] cOff;
        int[] bIndex;
        /** Per distinct B matrix: element offset. */
        long[] bSrc;
        int bCount;
        long ars;
        long aks;
        long bks;
        long bns;
        long ldc;
        long cns;

        static Layout of(NodeContext node, long[] sa, long[] sb) {
            return of(node, sa, null, sb, null, null);
        }

        static Layout of(NodeContext node, long[] sa, long[] pa, long[] sb, long[] pb, long[] py) {
            if (sa.length == 0 || sb.length == 0) {
                throw node.error("MatMul operands must have rank >= 1, got " + Arrays.toString(sa) + " and "
                        + Arrays.toString(sb));
            }
            long[] stA = permuted(node, "vnrt_permA", Shapes.strides(sa), pa);
            long[] stB = permuted(node, "vnrt_permB", Shapes.strides(sb), pb);
            long[] a = permuted(node, "vnrt_permA", sa, pa);
            long[] b = permuted(node, "vnrt_permB", sb, pb);
            if (a.length == 1) {
                a = new long[] {1, a[0]};
                stA = new long[] {a[1] * stA[0], stA[0]};
            }
            if (b.length == 1) {
                b = new long[] {b[0], 1};
                stB = new long[] {stB[0], 1};
            }
            Layout l = new Layout();
            l.m = Math.toIntExact(a[a.length - 2]);
            l.k = Math.toIntExact(a[a.length - 1]);
            l.n = Math.toIntExact(b[b.length - 1]);
            if (b[b.length - 2] != l.k) {
                throw node.error("inner dimensions differ: A " + Arrays.toString(sa) + ", B " + Arrays.toString(sb)
                        + (pa != null || pb != null ? " (read through vnrt_permA " + Arrays.toString(pa) + ", vnrt_permB "
                        + Arrays.toString(pb) + ")" : ""));
            }
            l.ars = stA[stA.length - 2];
            l.aks = stA[stA.length - 1];
            l.bks = stB[stB.length - 2];
            l.bns = stB[stB.length - 1];
            long[] ab = Arrays.copyOf(a, a.length - 2);
            long[] bb = Arrays.copyOf(b, b.length - 2);
            long[] ob;
            try {
                ob = Shapes.broadcast(ab, bb);
            } catch (IllegalArgumentException e) {
                throw node.error("batch dimensions: " + e.getMessage());
            }
            int extra = (sa.length > 1 ? 1 : 0) + (sb.length > 1 ? 1 : 0);
            long[] logical = Arrays.copyOf(ob, ob.length + extra);
            int o = ob.length;
            if (sa.length > 1) {
                logical[o++] = l.m;
            }
            if (sb.length > 1) {
                logical[o] = l.n;
            }
            // C's logical strides: contiguous, or those of the permuted output the Transpose wanted
            long[] stC;
            if (py == null) {
                l.outShape = logical;
                stC = Shapes.strides(logical);
            } else {
                checkPerm(node, "vnrt_permY", py, logical.length);
                l.outShape = new long[logical.length];
                for (int d = 0; d < py.length; d++) {
                    l.outShape[d] = logical[(int) py[d]];
                }
                long[] actual = Shapes.strides(l.outShape);
                stC = new long[logical.length];
                for (int d = 0; d < py.length; d++) {
                    stC[(int) py[d]] = actual[d];
                }
            }
            l.ldc = sa.length > 1 ? stC[ob.length] : l.n;
            l.cns = sb.length > 1 ? stC[stC.length - 1] : 1;
            int batch = Math.toIntExact(Shapes.elementCount(ob));
            long[] as = batchStrides(ab, Arrays.copyOf(stA, ab.length), ob);
            long[] bs = Shapes.broadcastStrides(bb, ob);
            long[] bSrcStrides = Arrays.copyOf(stB, bb.length);
            l.aOff = new long[batch];
            l.cOff = new long[batch];
            l.bIndex = new int[batch];
            l.bCount = Math.toIntExact(Shapes.elementCount(bb));
            l.bSrc = new long[l.bCount];
            long[] idx = new long[ob.length];
            for (int t = 0; t < batch; t++) {
                long ao = 0;
                long bi = 0;
                long co = 0;
                for (int d = 0; d < ob.length; d++) {
                    ao += idx[d] * as[d];
                    bi += idx[d] * bs[d];
                    co += idx[d] * stC[d];
                }
                l.aOff[t] = ao;
                l.bIndex[t] = (int) bi;
                l.cOff[t] = co;
                next(idx, ob);
            }
            long[] bIdx = new long[bb.length];
            for (int i = 0; i < l.bCount; i++) {
                long off = 0;
                for (int d = 0; d < bb.length; d++) {
                    off += bIdx[d] * bSrcStrides[d];
                }
                l.bSrc[i] = off;
                next(bIdx, bb);
            }
            return l;
        }

        /** The shape (or strides) {@code v} with its axes in the order {@code perm} (null: as they are). */
        private static long[] permuted(NodeContext node, String attr, long[] v, long[] perm) {
            if (perm == null) {
                return v;
            }
            checkPerm(node, attr, perm, v.length);
            long[] out = new long[v.length];
            for (int d = 0; d < v.length; d++) {
                out[d] = v[(int) perm[d]];
            }
            return out;
        }

        private static void checkPerm(NodeContext node, String attr, long[] perm, int rank) {
            boolean[] seen = new boolean[rank];
            boolean ok = perm.length == rank;
            for (int d = 0; ok && d < rank; d++) {
                ok = perm[d] >= 0 && perm[d] < rank && !seen[(int) perm[d]];
                if (ok) {
                    seen[(int) perm[d]] = true;
                }
            }
            if (!ok) {
                throw node.error(attr + " " + Arrays.toString(perm) + " is not a permutation of " + rank + " axes");
            }
        }

        /** Strides over the broadcast batch shape {@code out} of batch dims {@code in} whose own strides are {@code st}. */
        private static long[] batchStrides(long[] in, long[] st, long[] out) {
            long[] s = new long[out.length];
            int offset = out.length - in.length;
            for (int i = offset; i < out.length; i++) {
                s[i] = in[i - offset] == 1 ? 0 : st[i - offset];
            }
            return s;
        }

        private static void next(long[] idx, long[] shape) {
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    return;
                }
                idx[d] = 0;
            }
        }

        int batch() {
            return aOff.length;
        }

        /** Whether A, B and C are the plain contiguous matrices of an unpermuted MatMul. */
        boolean contiguous() {
            boolean plain = ars == k && aks == 1 && bks == n && bns == 1 && ldc == n && cns == 1;
            for (int t = 0; plain && t < batch(); t++) {
                plain = cOff[t] == (long) t * m * n;
            }
            for (int i = 0; plain && i < bCount; i++) {
                plain = bSrc[i] == (long) i * k * n;
            }
            return plain;
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
        /** A following Mul by a scalar constant, absorbed: the epilogue's alpha. */
        private final float scale;
        private final long[] aOff;
        private final long[] bOff;
        private final long[] cOff;
        private final long[] bSrc;
        private final long bks;
        private final long bns;
        private final long ars;
        private final long aks;
        private final long ldc;

        FloatMatMul(Layout l, TensorType out, NodeContext node, boolean hasBias, Activation act, float actAlpha,
                    float scale) {
            Tensor constB = node.constantInput(1);
            this.out = out;
            this.k = l.k;
            this.n = l.n;
            this.bCount = l.bCount;
            this.hasBias = hasBias;
            this.act = act;
            this.actAlpha = actAlpha;
            this.scale = scale;
            this.packedOne = Sgemm.packedBytes(l.k, l.n);
            this.bSrc = l.bSrc;
            this.bks = l.bks;
            this.bns = l.bns;
            this.ars = l.ars;
            this.aks = l.aks;
            this.ldc = l.ldc;
            if (l.cns != 1 && l.n > 1) {
                throw node.error("vnrt_permY must keep the output's last axis last (float32 GEMMs write whole rows)");
            }
            int batch = l.batch();
            boolean aContiguous = l.contiguous();
            for (int t = 0; t < batch; t++) {
                aContiguous &= l.aOff[t] == (long) t * l.m * l.k;
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
                    aOff[t] = l.aOff[t] * 4L;
                    bOff[t] = l.bIndex[t] * packedOne;
                    cOff[t] = l.cOff[t] * 4L;
                }
            }
            packed = constB == null ? null : node.packedConstant(1, "sgemm B panels", packedOne * bCount,
                    dst -> packAll(constB.data(), dst));
        }

        private void packAll(MemorySegment b, MemorySegment dst) {
            int panels = Sgemm.panels(n);
            for (int i = 0; i < bCount; i++) {
                Sgemm.packB(b, bSrc[i] * 4L, bks * 4L, bns * 4L, k, n, dst, i * packedOne, 0, panels);
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
                            Sgemm.packB(b, bSrc[i] * 4L, bks * 4L, bns * 4L, k, n, dst, i * packedOne, p, p + 1);
                        }
                    });
                }
            }
            Sgemm.Epilogue ep = hasBias || act != null || scale != 1f
                    ? new Sgemm.Epilogue(scale, false, hasBias ? in[2].data() : null, null, 0, act, actAlpha)
                    : Sgemm.Epilogue.PLAIN;
            Sgemm.Problem p = new Sgemm.Problem(aOff.length, m, n, k, in[0].data(), aOff, ars * 4L, aks * 4L,
                    bp, bOff, outs[0].data(), cOff, ldc * 4L);
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
                long ao = l.aOff[t];
                long bo = l.bSrc[l.bIndex[t]];
                long co = l.cOff[t];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        long ai = ao + i * l.ars;
                        long bi = bo + j * l.bns;
                        long ci = co + i * l.ldc + j * l.cns;
                        if (integer) {
                            long s = 0;
                            for (int q = 0; q < k; q++) {
                                s += a.getLong(ai + q * l.aks) * b.getLong(bi + q * l.bks);
                            }
                            c.setLong(ci, s);
                        } else {
                            double s = 0;
                            for (int q = 0; q < k; q++) {
                                s += a.getDouble(ai + q * l.aks) * b.getDouble(bi + q * l.bks);
                            }
                            c.setDouble(ci, s);
                        }
                    }
                }
            }
        }
    }
}
