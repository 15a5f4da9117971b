package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.elementwise.ErfGelu;
import io.vnrt.runtime.kernels.quant.QuantParams;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optimizer's fusion of {@code DynamicQuantizeLinear(A) -> MatMulInteger(A_q, B, A_zp, B_zp)
 * -> Cast(float) -> Mul(A_scale · B_scale) [-> Add(bias)]} (what {@code quantize_dynamic} writes
 * for every weight MatMul) into one kernel, op {@code DynamicQuantizeMatMul} of the engine's own
 * domain. Inputs: A (float32, [..., M, K] or [K]), B (constant int8 or uint8 [K, N]), B's
 * scale (constant float32, one or one per column), B's zero point (constant, optional, same
 * shape), bias (constant float32 [N], optional). Output float32 [..., M, N].
 *
 * <p>Per execution it does what the unfused nodes do, in the same arithmetic: A's range and
 * DynamicQuantizeLinear's scale and zero point, A quantized to uint8 (round half to even) into
 * the workspace, the exact int32 product, then {@code (float) acc * (a_scale * b_scale[n])
 * (+ bias[n])} in float32, so its output equals the unfused graph's bit for bit. B is packed once
 * at load: for {@link NativeQgemm}'s machine-code tiles (VNNI or AVX2) where they run, else for {@link Igemm}.
 *
 * <p>A following activation the graph optimizer absorbed ({@code vnrt_activation}) is applied in
 * the same epilogue, while the values are in cache: the Erf-form GELU as {@link ErfGelu} (vnrt's
 * own Div/Erf/Add/Mul arithmetic), the others as the float GEMMs' fused {@link Activation}.
 */
public final class DynamicQuantizeMatMulOp {
    /** The operator's name in {@link io.vnrt.runtime.kernels.OpRegistry#VNRT_DOMAIN}. */
    public static final String OP = "DynamicQuantizeMatMul";
    /**
     * Attribute of a node whose B is several weights side by side (the optimizer's merge of Q, K
     * and V reading one activation): the column count of each, one output each, in order.
     */
    public static final String SPLITS = "vnrt_splits";

    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final VectorSpecies<Integer> I = VectorShape.INT;
    private static final int LANES = F.length();
    /** Bytes with one lane per float lane (null at 128 bits, where no 32-bit byte vector exists). */
    private static final VectorSpecies<Byte> B = LANES >= 8
            ? VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(LANES * 8)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Adding and subtracting 1.5·2^23 rounds a float of magnitude below 2^22 to an integer, half to even. */
    private static final float ROUND = 12582912f;
    private static final long MIN_TASK_MACS = 64_000;
    /** Panels of C (32 int32 columns each) between epilogues: 256 columns, 128 KB for 128 rows (in L2). */
    private static final int EPILOGUE_PANELS = 8;

    private DynamicQuantizeMatMulOp() {}

    /** Creates the kernel; every operand but A must be constant (the optimizer only fuses such nodes). */
    public static Kernel create(NodeContext node) {
        TensorType ta = node.inputType(0);
        if (ta.dtype() != DType.FLOAT32 || ta.rank() < 1) {
            throw node.error("A is " + ta + "; expected float32 of rank 1 or more");
        }
        QuantParams.ConstantWeight cw = QuantParams.constantWeight(node, ta, "A", 1, "B", "b");
        Tensor b = cw.w();
        int k = cw.k();
        int n = cw.n();
        boolean perColumn = cw.perColumn();
        Tensor scale = cw.scale();
        Tensor bias = node.hasInput(4) ? node.constantInput(4) : null;
        if (node.hasInput(4) && (bias == null || bias.dtype() != DType.FLOAT32 || bias.elementCount() != n)) {
            throw node.error("bias must be a constant float32 of " + n + " elements, the node gives " + node.inputType(4));
        }
        long[] splits = node.attrInts(SPLITS, new long[] {n});
        long splitSum = 0;
        for (long w : splits) {
            splitSum += w;
            if (w <= 0) {
                throw node.error(SPLITS + " " + Arrays.toString(splits) + " must be positive column counts");
            }
        }
        if (splitSum != n || splits.length != Math.max(1, node.outputCount())) {
            throw node.error(SPLITS + " " + Arrays.toString(splits) + " must split B's " + n + " columns over the "
                    + node.outputCount() + " outputs");
        }
        TensorType[] outTypes = new TensorType[splits.length];
        int[] widths = new int[splits.length];
        for (int o = 0; o < splits.length; o++) {
            long[] outShape = ta.shape().clone();
            outShape[outShape.length - 1] = splits[o];
            outTypes[o] = new TensorType(DType.FLOAT32, outShape);
            widths[o] = (int) splits[o];
        }
        long m = 1;
        for (int d = 0; d < ta.rank() - 1; d++) {
            m *= ta.shape()[d];
        }
        float[] bs = new float[n];
        int[] zbs = cw.zeroPoints();
        float[] biasV = bias == null ? null : new float[n];
        for (int j = 0; j < n; j++) {
            bs[j] = scale.getFloat(perColumn ? j : 0);
            if (biasV != null) {
                biasV[j] = bias.getFloat(j);
            }
        }
        boolean signed = b.dtype() == DType.INT8;
        Activation act = Activation.of(node);
        float alpha = node.attrFloat("vnrt_alpha", 0.01f);
        if (NativeQgemm.AVAILABLE) {
            // the column sums travel after the panels: a later plan of the model finds the packed
            // copy in the store without the original bytes
            long panelBytes = NativeQgemm.packedBytes(k, n);
            MemorySegment packed = node.packedConstant(1, "vnni quads + column sums", panelBytes + 4L * n, dst -> {
                int[] sums = NativeQgemm.packB(b.data(), 0, signed, k, n, dst);
                MemorySegment.copy(sums, 0, dst, ValueLayout.JAVA_INT_UNALIGNED, panelBytes, n);
            });
            int[] colSums = new int[n];
            MemorySegment.copy(packed, ValueLayout.JAVA_INT_UNALIGNED, panelBytes, colSums, 0, n);
            int[] zStored = new int[n];
            for (int j = 0; j < n; j++) {
                zStored[j] = signed ? zbs[j] : zbs[j] - 128;
            }
            return new Fused(outTypes, widths, Math.toIntExact(m), k, n, packed, true, colSums, zStored, bs, biasV, act,
                    alpha);
        }
        MemorySegment packedI = node.packedConstant(1, "igemm B panels zb" + Arrays.hashCode(zbs), Igemm.packedBytes(k, n),
                dst -> Igemm.packB(b.data(), 0, n, 1, signed, k, n, zbs, true, dst, 0, 0, Igemm.panels(n)));
        return new Fused(outTypes, widths, Math.toIntExact(m), k, n, packedI, false, null, null, bs, biasV, act, alpha);
    }

    /** DynamicQuantizeLinear's uint8 scale and zero point for a range [lo, hi] (ONNX's definition). */
    static float scaleOf(float lo, float hi) {
        return (Math.max(hi, 0f) - Math.min(lo, 0f)) / 255f;
    }

    static int zeroPointOf(float lo, float scale) {
        return (int) QuantParams.roundSaturate(0f - Math.min(lo, 0f) / scale, 0, 255);
    }

    private static final class Fused implements Kernel {
        private final TensorType[] outs;
        /** Columns of B per output, and where each output's columns start. */
        private final int[] widths;
        private final int[] starts;
        private final int m;
        private final int k;
        private final int n;
        private final MemorySegment packed;
        private final boolean vnni;
        private final int[] colSums;
        private final int[] zStored;
        private final float[] bScale;
        private final float[] bias;
        /** The absorbed activation, or null. */
        private final Activation act;
        private final float alpha;
        /** Bytes of one quantized row of A in the workspace. */
        private final long lda;
        /** Bytes of one int32 row of C in the workspace. */
        private final long ldc;
        private final int panels;

        Fused(TensorType[] outs, int[] widths, int m, int k, int n, MemorySegment packed, boolean vnni, int[] colSums,
              int[] zStored, float[] bScale, float[] bias, Activation act, float alpha) {
            this.outs = outs;
            this.widths = widths;
            this.starts = new int[widths.length];
            for (int o = 1; o < widths.length; o++) {
                starts[o] = starts[o - 1] + widths[o - 1];
            }
            this.m = m;
            this.k = k;
            this.n = n;
            this.packed = packed;
            this.vnni = vnni;
            this.colSums = colSums;
            this.zStored = zStored;
            this.bScale = bScale;
            this.bias = bias;
            this.act = act;
            this.alpha = alpha;
            this.lda = vnni ? ((NativeQgemm.quads(k) * 4L + 63) & ~63L) : ((k + 63L) & ~63L);
            this.panels = vnni ? NativeQgemm.panels(n) : Igemm.panels(n);
            int nr = vnni ? NativeQgemm.NR : Igemm.NR;
            this.ldc = (long) panels * nr * 4;
        }

        @Override
        public TensorType[] outputTypes() {
            return outs.clone();
        }

        /** Quantized A, C, then per execution: row sums (int), the column term (int) and multiplier (float) per column. */
        @Override
        public long workspaceBytes() {
            return m * lda + m * ldc + align(m * 4L) + 2 * align(ldc);
        }

        private static long align(long v) {
            return (v + 63) & ~63L;
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment x = in[0].data();
            MemorySegment[] y = new MemorySegment[outs.length];
            for (int o = 0; o < y.length; o++) {
                y[o] = outs[o].data();
            }
            MemorySegment ws = ctx.workspace();
            long aq = 0;
            long c = aq + m * lda;
            long rowSums = c + m * ldc;
            long colTerm = rowSums + align(m * 4L);
            long mult = colTerm + align(ldc);
            long total = (long) m * k;
            float lo = 0;
            float hi = 0;
            // A's range and its quantization are split over the cores when A is large enough
            int rowTasks = ctx.parallelism() > 1 && total >= 65_536 ? ctx.parallelism() : 1;
            if (total > 0) {
                // min and max are exact and order-free: split over the cores, the result is the same
                float[] parts = new float[2 * rowTasks];
                ctx.parallelFor(rowTasks, t -> {
                    long e0 = total * t / rowTasks;
                    float[] range = range(x, e0, total * (t + 1) / rowTasks - e0);
                    parts[2 * t] = range[0];
                    parts[2 * t + 1] = range[1];
                });
                lo = parts[0];
                hi = parts[1];
                for (int t = 1; t < rowTasks; t++) {
                    lo = Math.min(lo, parts[2 * t]);
                    hi = Math.max(hi, parts[2 * t + 1]);
                }
            }
            float scale = scaleOf(lo, hi);
            int zp = zeroPointOf(lo, scale);
            // the multiplier per column, as the unfused Mul(a_scale, b_scale) rounds it
            for (int j = 0; j < n; j++) {
                ws.set(ValueLayout.JAVA_FLOAT_UNALIGNED, mult + j * 4L, scale * bScale[j]);
                if (vnni) {
                    ws.set(ValueLayout.JAVA_INT_UNALIGNED, colTerm + j * 4L, zp * colSums[j] - k * zp * zStored[j]);
                }
            }
            float inv = scale;
            ctx.parallelFor(rowTasks, t -> {
                int r0 = (int) ((long) t * m / rowTasks);
                int r1 = (int) ((long) (t + 1) * m / rowTasks);
                for (int r = r0; r < r1; r++) {
                    int s = quantizeRow(x, (long) r * k * 4, k, inv, zp, ws, aq + r * lda, lda);
                    ws.set(ValueLayout.JAVA_INT_UNALIGNED, rowSums + r * 4L, s);
                }
            });
            if (!vnni) {
                Igemm.Problem p = new Igemm.Problem(1, m, n, k, ws, new long[] {aq}, lda, false, new int[] {zp}, false,
                        packed, new long[] {0}, ws, new long[] {c}, ldc);
                Igemm.run(p, ctx);
                epilogue(ws, c, rowSums, colTerm, mult, y, 0, m, 0, n);
                return;
            }
            int kq = NativeQgemm.quads(k);
            long macs = (long) m * n * k;
            int par = ctx.parallelism();
            int tasks = par <= 1 ? 1 : (int) Math.min(par * 3L, Math.max(1, macs / MIN_TASK_MACS));
            int pc = Math.min(tasks, panels);
            int rc = Math.max(1, Math.min(tasks / pc, (m + 11) / 12));
            int fp = pc;
            int fr = rc;
            ctx.parallelFor(rc * pc, t -> {
                int rt = t / fp;
                int q0 = (int) ((long) (t % fp) * panels / fp);
                int q1 = (int) ((long) (t % fp + 1) * panels / fp);
                int m0 = (int) ((long) rt * m / fr);
                int m1 = (int) ((long) (rt + 1) * m / fr);
                // the epilogue after every EPILOGUE_PANELS panels, while their int32 sums are still in cache
                for (int g0 = q0; g0 < q1; g0 += EPILOGUE_PANELS) {
                    int g1 = Math.min(q1, g0 + EPILOGUE_PANELS);
                    for (int q = g0; q < g1; q++) {
                        NativeQgemm.panel(ws, aq, lda, m0, m1, packed, kq, q, ws, c, ldc);
                    }
                    epilogue(ws, c, rowSums, colTerm, mult, y, m0, m1, g0 * NativeQgemm.NR, Math.min(n, g1 * NativeQgemm.NR));
                }
            });
        }

        /** min and max of {@code count} floats of {@code x} from element {@code from} (NaN is ignored, as Math.min/max would not). */
        private static float[] range(MemorySegment x, long from, long count) {
            MemorySegment xs = x.asSlice(from * 4, count * 4);
            FloatVector vlo = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            FloatVector vhi = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            // two pairs of accumulators (min and max are exact and order-free, so the result is the same)
            FloatVector vlo2 = vlo;
            FloatVector vhi2 = vhi;
            long i = 0;
            long bound2 = count - count % (2L * LANES);
            for (; i < bound2; i += 2L * LANES) {
                FloatVector v = FloatVector.fromMemorySegment(F, xs, i * 4, LE);
                FloatVector w = FloatVector.fromMemorySegment(F, xs, (i + LANES) * 4, LE);
                vlo = vlo.min(v);
                vhi = vhi.max(v);
                vlo2 = vlo2.min(w);
                vhi2 = vhi2.max(w);
            }
            long bound = count - count % LANES;
            for (; i < bound; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(F, xs, i * 4, LE);
                vlo = vlo.min(v);
                vhi = vhi.max(v);
            }
            vlo = vlo.min(vlo2);
            vhi = vhi.max(vhi2);
            float lo = vlo.reduceLanes(VectorOperators.MIN);
            float hi = vhi.reduceLanes(VectorOperators.MAX);
            for (; i < count; i++) {
                float v = xs.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            return new float[] {lo, hi};
        }

        /**
         * One row: q = saturate(round(x / scale) + zp) into {@code dst} (zero to {@code width}
         * bytes, the padding the tiles read); returns the row's sum of q.
         */
        private static int quantizeRow(MemorySegment x, long xOff, int k, float scale, int zp, MemorySegment dst,
                                       long dOff, long width) {
            int sum = 0;
            int j = 0;
            if (B != null) {
                FloatVector vs = FloatVector.broadcast(F, scale);
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.broadcast(F, 255f);
                FloatVector z = FloatVector.broadcast(F, (float) zp);
                IntVector acc = IntVector.zero(I);
                int bound = k - k % LANES;
                for (; j < bound; j += LANES) {
                    FloatVector v = FloatVector.fromMemorySegment(F, x, xOff + j * 4L, LE).div(vs);
                    v = v.add(ROUND).sub(ROUND).add(z).max(lo).min(hi);
                    IntVector q = (IntVector) v.convertShape(VectorOperators.F2I, I, 0);
                    acc = acc.add(q);
                    ((ByteVector) q.convertShape(VectorOperators.I2B, B, 0)).intoMemorySegment(dst, dOff + j, LE);
                }
                sum = acc.reduceLanes(VectorOperators.ADD);
            }
            for (; j < k; j++) {
                float v = x.get(ValueLayout.JAVA_FLOAT_UNALIGNED, xOff + j * 4L) / scale;
                int q = (int) QuantParams.roundSaturate(Math.rint(v) + zp, 0, 255);
                sum += q;
                dst.set(ValueLayout.JAVA_BYTE, dOff + j, (byte) q);
            }
            for (long p = k; p < width; p++) {
                dst.set(ValueLayout.JAVA_BYTE, dOff + p, (byte) 0);
            }
            return sum;
        }

        /** Columns [n0, n1) of rows [m0, m1), each into the output that holds it. */
        private void epilogue(MemorySegment ws, long c, long rowSums, long colTerm, long mult, MemorySegment[] y,
                              int m0, int m1, int n0, int n1) {
            for (int o = 0; o < widths.length; o++) {
                int lo = Math.max(n0, starts[o]);
                int hi = Math.min(n1, starts[o] + widths[o]);
                if (lo < hi) {
                    epilogue(ws, c, rowSums, colTerm, mult, y[o], widths[o], starts[o], m0, m1, lo, hi);
                }
            }
        }

        /**
         * y[r][j - j0] = act((float) acc * mult[j] (+ bias[j])) for rows [m0, m1), columns [n0, n1)
         * of B, into an output of {@code width} columns whose first is B's column {@code j0}.
         */
        private void epilogue(MemorySegment ws, long c, long rowSums, long colTerm, long mult, MemorySegment y,
                              int width, int j0, int m0, int m1, int n0, int n1) {
            // the GELU on each vector before it is stored, the others over the row after
            boolean gelu = act == Activation.GELU;
            for (int r = m0; r < m1; r++) {
                long cr = c + r * ldc;
                long yr = ((long) r * width - j0) * 4;
                int rs = ws.get(ValueLayout.JAVA_INT_UNALIGNED, rowSums + r * 4L);
                int j = n0;
                int bound = n1 - (n1 - n0) % LANES;
                for (; j < bound; j += LANES) {
                    IntVector acc = IntVector.fromMemorySegment(I, ws, cr + j * 4L, LE);
                    if (vnni) {
                        IntVector zs = IntVector.fromArray(I, zStored, j);
                        acc = acc.sub(IntVector.fromMemorySegment(I, ws, colTerm + j * 4L, LE)).sub(zs.mul(rs));
                    }
                    FloatVector v = ((FloatVector) acc.convertShape(VectorOperators.I2F, F, 0))
                            .mul(FloatVector.fromMemorySegment(F, ws, mult + j * 4L, LE));
                    if (bias != null) {
                        v = v.add(FloatVector.fromArray(F, bias, j));
                    }
                    if (gelu) {
                        v = ErfGelu.apply(v);
                    }
                    v.intoMemorySegment(y, yr + j * 4L, LE);
                }
                for (; j < n1; j++) {
                    int acc = ws.get(ValueLayout.JAVA_INT_UNALIGNED, cr + j * 4L);
                    if (vnni) {
                        acc = acc - ws.get(ValueLayout.JAVA_INT_UNALIGNED, colTerm + j * 4L) - zStored[j] * rs;
                    }
                    float v = (float) acc * ws.get(ValueLayout.JAVA_FLOAT_UNALIGNED, mult + j * 4L);
                    if (bias != null) {
                        v += bias[j];
                    }
                    y.set(ValueLayout.JAVA_FLOAT_UNALIGNED, yr + j * 4L, gelu ? ErfGelu.apply(v) : v);
                }
                if (act != null && !gelu) {
                    act.applyInPlace(y, yr + n0 * 4L, n1 - n0, alpha);
                }
            }
        }
    }
}
