package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.quant.QuantParams;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optimizer's fusion of the QDQ form ORT's static quantizer writes,
 * {@code DequantizeLinear(x_q) -> MatMul/Conv(·, DequantizeLinear(W_q)) [-> Add(bias)] [-> Relu]
 * -> QuantizeLinear}, into one int8 kernel of the engine's own domain: {@code QdqMatMul} and
 * {@code QdqConv}. Inputs (both): 0 x_q (int8/uint8), 1 x_scale, 2 x_zero_point (constant
 * scalars), 3 W (constant int8/uint8; MatMul [K, N], Conv [M, C/group, kernel...]), 4 W's scale,
 * 5 W's zero point (constant, one, or one per output column/channel), 6 y_scale, 7 y_zero_point
 * (constant scalars; the output's type is y_zero_point's, uint8 without one), 8 bias (float32,
 * one per output column/channel, optional; the Conv's B or the Add's constant). Attribute
 * {@code relu} (0/1), and Conv's own attributes for {@code QdqConv}.
 *
 * <p>The accumulation is the exact integer sum {@code acc = Σ (x_q − x_zp)(W_q − W_zp)}; the
 * epilogue is the unfused graph's float arithmetic on it, {@code v = (float) acc · (x_scale ·
 * w_scale) (+ bias)}, Relu, then QuantizeLinear's {@code saturate(rint(v / y_scale) + y_zp)}. Where
 * the unfused float MatMul/Conv is exact (power-of-two scales, sums within float's 24 bits) the
 * output equals the unfused graph's bit for bit; elsewhere the unfused float sum rounds
 * differently from the exact one, and a value within that rounding of a quantization tie lands on
 * the other side: at most one quantum apart, and rarely. MatMul's W is packed once at load (VNNI
 * tiles where they run, else {@link Igemm}); Conv runs {@link IntegerConvOp}'s convolution with
 * the weights read in place.
 */
public final class QdqLinearOp {
    /** The fused MatMul's name in {@link io.vnrt.runtime.kernels.OpRegistry#VNRT_DOMAIN}. */
    public static final String MATMUL = "QdqMatMul";
    /** The fused Conv's name in {@link io.vnrt.runtime.kernels.OpRegistry#VNRT_DOMAIN}. */
    public static final String CONV = "QdqConv";

    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final VectorSpecies<Integer> I = VectorShape.INT;
    private static final int LANES = F.length();
    /** Bytes with one lane per float lane (null at 128 bits, where no 32-bit byte vector exists). */
    private static final VectorSpecies<Byte> B = LANES >= 8
            ? VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(LANES * 8)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Adding and subtracting 1.5·2^23 rounds a float of magnitude below 2^22 to an integer, half to even. */
    private static final float ROUND = 12582912f;
    /** Quotients are clamped to ±this before rounding: far outside every 8-bit range, far inside ROUND's. */
    private static final float CLAMP = 1024f;

    private QdqLinearOp() {}

    /** The requantization the unfused graph does after the float MatMul/Conv, per output column or channel. */
    private record Epilogue(float[] mult, float[] bias, boolean relu, float yScale, int yZero, int lo, int hi) {
        static Epilogue of(NodeContext node, int channels, boolean perChannel, Tensor ws, Tensor bias) {
            float xs = node.constantInput(1).getFloat(0);
            float[] mult = new float[channels];
            for (int j = 0; j < channels; j++) {
                // the exact scale of acc's unit, rounded once to float
                mult[j] = xs * ws.getFloat(perChannel ? j : 0);
            }
            float[] b = null;
            if (bias != null) {
                b = new float[channels];
                for (int j = 0; j < channels; j++) {
                    b[j] = bias.getFloat(j);
                }
            }
            DType yt = node.hasInput(7) ? node.inputType(7).dtype() : DType.UINT8;
            int yz = node.hasInput(7) ? (int) node.constantInput(7).getLong(0) : 0;
            return new Epilogue(mult, b, node.attrInt("relu", 0) != 0, node.constantInput(6).getFloat(0), yz,
                    (int) QuantParams.min(yt), (int) QuantParams.max(yt));
        }

        /** QuantizeLinear of one value (its scalar path: NaN to the zero point, round half to even, saturate). */
        byte quantize(int acc, int j) {
            float v = (float) acc * mult[j];
            if (bias != null) {
                v += bias[j];
            }
            if (relu) {
                v = Math.max(v, 0f);
            }
            float q = v / yScale;
            int r;
            if (q != q) {
                r = yZero;
            } else {
                float t = (float) Math.rint(q);
                r = (t >= 0x1p30f ? Integer.MAX_VALUE / 2 : t <= -0x1p30f ? Integer.MIN_VALUE / 2 : (int) t) + yZero;
            }
            return (byte) Math.max(lo, Math.min(hi, r));
        }

        /** The same for LANES values of one row: columns j.. with their own multipliers (or channel c's for all). */
        void quantize(IntVector acc, FloatVector mul, FloatVector add, MemorySegment y, long off) {
            levels(acc, mul, add).intoMemorySegment(y, off, LE);
        }

        /** The same into a heap array. */
        void quantize(IntVector acc, FloatVector mul, FloatVector add, byte[] y, int off) {
            levels(acc, mul, add).intoArray(y, off);
        }

        private ByteVector levels(IntVector acc, FloatVector mul, FloatVector add) {
            FloatVector v = ((FloatVector) acc.convertShape(VectorOperators.I2F, F, 0)).mul(mul);
            if (add != null) {
                v = v.add(add);
            }
            if (relu) {
                v = v.max(0f);
            }
            FloatVector q = v.div(yScale);
            VectorMask<Float> nan = q.test(VectorOperators.IS_NAN);
            q = q.max(-CLAMP).min(CLAMP).blend(0f, nan);
            q = q.add(ROUND).sub(ROUND).add((float) yZero).max((float) lo).min((float) hi);
            IntVector r = (IntVector) q.convertShape(VectorOperators.F2I, I, 0);
            return (ByteVector) r.convertShape(VectorOperators.I2B, B, 0);
        }
    }

    private static TensorType outType(NodeContext node, long[] shape) {
        return new TensorType(node.hasInput(7) ? node.inputType(7).dtype() : DType.UINT8, shape);
    }

    /** Checks the scalars shared by both forms: x's and y's scale and zero point. */
    private static void checkScalars(NodeContext node, DType xt) {
        for (int s : new int[] {1, 6}) {
            Tensor c = node.constantInput(s);
            if (c == null || c.dtype() != DType.FLOAT32 || c.elementCount() != 1) {
                throw node.error("input " + s + " (a scale) must be a constant float32 scalar, the node gives "
                        + node.inputType(s));
            }
        }
        if (node.hasInput(2)) {
            if (node.constantInput(2) == null) {
                throw node.error("x_zero_point must be constant");
            }
            QuantParams.checkVector(node, 2, "x_zero_point", 1, "one for the tensor");
            QuantParams.checkZeroPoint(node, 2, "x_zero_point", xt);
        }
        if (node.hasInput(7)) {
            if (node.constantInput(7) == null || !QuantParams.isByte(node.inputType(7).dtype())) {
                throw node.error("y_zero_point must be a constant int8 or uint8, the node gives " + node.inputType(7));
            }
            QuantParams.checkVector(node, 7, "y_zero_point", 1, "one for the tensor");
        }
    }

    private static Tensor bias(NodeContext node, int channels) {
        if (!node.hasInput(8)) {
            return null;
        }
        Tensor b = node.constantInput(8);
        if (b == null || b.dtype() != DType.FLOAT32 || b.elementCount() != channels) {
            throw node.error("bias must be a constant float32 of " + channels + " elements, the node gives "
                    + node.inputType(8));
        }
        return b;
    }

    // ---- MatMul --------------------------------------------------------------------------------

    /** Creates {@code QdqMatMul}: x_q [..., M, K] (or [K]) times the constant W [K, N]. */
    public static Kernel matMul(NodeContext node) {
        TensorType tx = node.inputType(0);
        if (!QuantParams.isByte(tx.dtype()) || tx.rank() < 1) {
            throw node.error("x_q is " + tx + "; expected int8 or uint8 of rank 1 or more");
        }
        checkScalars(node, tx.dtype());
        QuantParams.ConstantWeight cw = QuantParams.constantWeight(node, tx, "x_q", 3, "W", "w");
        Tensor w = cw.w();
        int k = cw.k();
        int n = cw.n();
        boolean perColumn = cw.perColumn();
        Tensor ws = cw.scale();
        Epilogue e = Epilogue.of(node, n, perColumn, ws, bias(node, n));
        long[] outShape = tx.shape().clone();
        outShape[outShape.length - 1] = n;
        long m = 1;
        for (int d = 0; d < tx.rank() - 1; d++) {
            m *= tx.shape()[d];
        }
        int[] zbs = cw.zeroPoints();
        boolean xSigned = tx.dtype() == DType.INT8;
        int xz = node.hasInput(2) ? (int) node.constantInput(2).getLong(0) : 0;
        boolean signed = w.dtype() == DType.INT8;
        if (NativeQgemm.AVAILABLE) {
            // the same packing (and layout name) as DynamicQuantizeMatMul's: one copy serves both
            long panelBytes = NativeQgemm.packedBytes(k, n);
            MemorySegment packed = node.packedConstant(3, "vnni quads + column sums", panelBytes + 4L * n, dst -> {
                int[] sums = NativeQgemm.packB(w.data(), 0, signed, k, n, dst);
                MemorySegment.copy(sums, 0, dst, ValueLayout.JAVA_INT_UNALIGNED, panelBytes, n);
            });
            int[] colSums = new int[n];
            MemorySegment.copy(packed, ValueLayout.JAVA_INT_UNALIGNED, panelBytes, colSums, 0, n);
            // the tiles take A unsigned: an int8 x is stored plus 128, its zero point with it
            int za = xSigned ? xz + 128 : xz;
            int[] zStored = new int[n];
            int[] colTerm = new int[n];
            for (int j = 0; j < n; j++) {
                zStored[j] = signed ? zbs[j] : zbs[j] - 128;
                colTerm[j] = za * colSums[j] - k * za * zStored[j];
            }
            return new MatMulKernel(outType(node, outShape), Math.toIntExact(m), k, n, packed, true, xSigned, xz,
                    zStored, colTerm, e);
        }
        MemorySegment packedI = node.packedConstant(3, "igemm B panels zb" + Arrays.hashCode(zbs), Igemm.packedBytes(k, n),
                dst -> Igemm.packB(w.data(), 0, n, 1, signed, k, n, zbs, true, dst, 0, 0, Igemm.panels(n)));
        return new MatMulKernel(outType(node, outShape), Math.toIntExact(m), k, n, packedI, false, xSigned, xz, null,
                null, e);
    }

    private static final class MatMulKernel implements Kernel {
        private final TensorType out;
        private final int m;
        private final int k;
        private final int n;
        private final MemorySegment packed;
        private final boolean vnni;
        private final boolean xSigned;
        private final int xZero;
        private final int[] zStored;
        private final int[] colTerm;
        private final Epilogue e;
        /** Bytes of one stored row of x in the workspace (VNNI only). */
        private final long lda;
        /** Bytes of one int32 row of C in the workspace. */
        private final long ldc;
        private final int panels;

        MatMulKernel(TensorType out, int m, int k, int n, MemorySegment packed, boolean vnni, boolean xSigned, int xZero,
                     int[] zStored, int[] colTerm, Epilogue e) {
            this.out = out;
            this.m = m;
            this.k = k;
            this.n = n;
            this.packed = packed;
            this.vnni = vnni;
            this.xSigned = xSigned;
            this.xZero = xZero;
            this.zStored = zStored;
            this.colTerm = colTerm;
            this.e = e;
            this.lda = vnni ? ((NativeQgemm.quads(k) * 4L + 63) & ~63L) : 0;
            this.panels = vnni ? NativeQgemm.panels(n) : Igemm.panels(n);
            this.ldc = (long) panels * (vnni ? NativeQgemm.NR : Igemm.NR) * 4;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        /** C, then for the VNNI tiles the stored x and its row sums. */
        @Override
        public long workspaceBytes() {
            return m * ldc + (vnni ? m * lda + align(m * 4L) : 0);
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment x = in[0].data();
            MemorySegment y = outs[0].data();
            MemorySegment ws = ctx.workspace();
            long c = 0;
            if (!vnni) {
                Igemm.Problem p = new Igemm.Problem(1, m, n, k, x, new long[] {0}, k, xSigned, new int[] {xZero}, false,
                        packed, new long[] {0}, ws, new long[] {c}, ldc);
                Igemm.run(p, ctx);
                int tasks = ctx.parallelism() > 1 && (long) m * n >= 65_536 ? ctx.parallelism() : 1;
                ctx.parallelFor(tasks, t -> epilogue(ws, c, 0, y, (int) ((long) t * m / tasks),
                        (int) ((long) (t + 1) * m / tasks), 0, n));
                return;
            }
            long aq = c + m * ldc;
            long rowSums = aq + m * lda;
            int kq = NativeQgemm.quads(k);
            long macs = (long) m * n * k;
            int par = ctx.parallelism();
            int tasks = par <= 1 ? 1 : (int) Math.min(par * 3L, Math.max(1, macs / Igemm.MIN_TASK_MACS));
            int pc = Math.min(tasks, panels);
            int rc = Math.max(1, Math.min(tasks / pc, (m + 11) / 12));
            int fp = pc;
            int fr = rc;
            // each row task stores its own rows of x (every panel task of the row block needs them: the
            // row blocks are stored first, one task per block)
            ctx.parallelFor(rc, rt -> {
                for (int r = (int) ((long) rt * m / fr); r < (int) ((long) (rt + 1) * m / fr); r++) {
                    ws.set(ValueLayout.JAVA_INT_UNALIGNED, rowSums + r * 4L, storeRow(x, (long) r * k, ws, aq + r * lda));
                }
            });
            ctx.parallelFor(rc * pc, t -> {
                int rt = t / fp;
                int q0 = (int) ((long) (t % fp) * panels / fp);
                int q1 = (int) ((long) (t % fp + 1) * panels / fp);
                int m0 = (int) ((long) rt * m / fr);
                int m1 = (int) ((long) (rt + 1) * m / fr);
                for (int q = q0; q < q1; q++) {
                    NativeQgemm.panel(ws, aq, lda, m0, m1, packed, kq, q, ws, c, ldc);
                }
                epilogue(ws, c, rowSums, y, m0, m1, q0 * NativeQgemm.NR, Math.min(n, q1 * NativeQgemm.NR));
            });
        }

        /** Row of x as the tiles read it (uint8: an int8 x plus 128), zero to {@code lda}; returns its sum. */
        private int storeRow(MemorySegment x, long xOff, MemorySegment dst, long dOff) {
            int flip = xSigned ? 0x80 : 0;
            int sum = 0;
            int j = 0;
            if (B != null) {
                IntVector acc = IntVector.zero(I);
                for (int bound = k - k % LANES; j < bound; j += LANES) {
                    ByteVector v = ByteVector.fromMemorySegment(B, x, xOff + j, LE);
                    if (xSigned) {
                        v = v.lanewise(VectorOperators.XOR, (byte) 0x80);
                    }
                    v.intoMemorySegment(dst, dOff + j, LE);
                    acc = acc.add(((IntVector) v.convertShape(VectorOperators.B2I, I, 0)).and(0xFF));
                }
                sum = acc.reduceLanes(VectorOperators.ADD);
            }
            for (; j < k; j++) {
                int v = (x.get(ValueLayout.JAVA_BYTE, xOff + j) ^ flip) & 0xFF;
                sum += v;
                dst.set(ValueLayout.JAVA_BYTE, dOff + j, (byte) v);
            }
            dst.asSlice(dOff + k, lda - k).fill((byte) 0);
            return sum;
        }

        /** y rows [m0, m1), columns [n0, n1): the exact accumulators, then the unfused graph's requantization. */
        private void epilogue(MemorySegment ws, long c, long rowSums, MemorySegment y, int m0, int m1, int n0, int n1) {
            for (int r = m0; r < m1; r++) {
                long cr = c + r * ldc;
                long yr = (long) r * n;
                int rs = vnni ? ws.get(ValueLayout.JAVA_INT_UNALIGNED, rowSums + r * 4L) : 0;
                int j = n0;
                if (B != null) {
                    int bound = n1 - (n1 - n0) % LANES;
                    for (; j < bound; j += LANES) {
                        IntVector acc = IntVector.fromMemorySegment(I, ws, cr + j * 4L, LE);
                        if (vnni) {
                            acc = acc.sub(IntVector.fromArray(I, colTerm, j)).sub(IntVector.fromArray(I, zStored, j).mul(rs));
                        }
                        e.quantize(acc, FloatVector.fromArray(F, e.mult, j),
                                e.bias == null ? null : FloatVector.fromArray(F, e.bias, j), y, yr + j);
                    }
                }
                for (; j < n1; j++) {
                    int acc = ws.get(ValueLayout.JAVA_INT_UNALIGNED, cr + j * 4L);
                    if (vnni) {
                        acc = acc - colTerm[j] - zStored[j] * rs;
                    }
                    y.set(ValueLayout.JAVA_BYTE, yr + j, e.quantize(acc, j));
                }
            }
        }
    }

    private static long align(long v) {
        return (v + 63) & ~63L;
    }

    // ---- Conv ----------------------------------------------------------------------------------

    /** Creates {@code QdqConv}: x_q [N, C, spatial...] convolved with the constant W, Conv's attributes. */
    public static Kernel conv(NodeContext node) {
        TensorType tx = node.inputType(0);
        if (!QuantParams.isByte(tx.dtype())) {
            throw node.error("x_q is " + tx + "; expected int8 or uint8");
        }
        checkScalars(node, tx.dtype());
        if (node.constantInput(3) == null || node.constantInput(4) == null || node.inputType(4).dtype() != DType.FLOAT32
                || (node.hasInput(5) && node.constantInput(5) == null)) {
            throw node.error("W, its scale (float32) and its zero point must be constants");
        }
        IntegerConvOp.ConvKernel conv = IntegerConvOp.qdqConv(node);
        boolean perChannel = QuantParams.checkVector(node, 4, "w_scale", conv.cOut, "one per output channel");
        Epilogue e = Epilogue.of(node, conv.cOut, perChannel, node.constantInput(4), bias(node, conv.cOut));
        IntegerConvOp.NativeConv vnni = NativeQgemm.AVAILABLE ? new IntegerConvOp.NativeConv(node, conv) : null;
        return new ConvKernel(conv, vnni, outType(node, conv.out.shape()), e);
    }

    /**
     * QdqConv: on the machine-code int8 tiles ({@link IntegerConvOp.NativeConv}: patches as A, the weights packed
     * at load as B, each row block requantized as soon as its tiles are done), else
     * {@link IntegerConvOp}'s {@link Igemm} convolution then the requantization.
     */
    private static final class ConvKernel implements Kernel {
        private final IntegerConvOp.ConvKernel conv;
        private final IntegerConvOp.NativeConv vnni;
        private final TensorType out;
        private final Epilogue e;

        ConvKernel(IntegerConvOp.ConvKernel conv, IntegerConvOp.NativeConv vnni, TensorType out, Epilogue e) {
            this.conv = conv;
            this.vnni = vnni;
            this.out = out;
            this.e = e;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        private long productBytes() {
            return align(conv.out.byteSize());
        }

        @Override
        public long workspaceBytes() {
            return vnni != null ? vnni.workspaceBytes() : productBytes() + conv.workspaceBytes();
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            if (vnni != null) {
                MemorySegment y = outs[0].data();
                vnni.run(in, ws, ctx, (w, c, rowSums, image, g, r0, r1) -> vnniRows(w, c, rowSums, y, image, g, r0, r1));
                return;
            }
            MemorySegment c = ws.asSlice(0, conv.out.byteSize());
            conv.convolve(in, c, ws.asSlice(productBytes()), ctx);
            MemorySegment y = outs[0].data();
            int n = conv.n;
            int channels = conv.cOut;
            int rows = Math.toIntExact(conv.out.shape()[0] * channels);
            int tasks = ctx.parallelism() > 1 && (long) rows * n >= 65_536 ? ctx.parallelism() : 1;
            ctx.parallelFor(tasks, t -> {
                for (int row = (int) ((long) t * rows / tasks); row < (int) ((long) (t + 1) * rows / tasks); row++) {
                    int ch = row % channels;
                    long base = (long) row * n;
                    int j = 0;
                    if (B != null) {
                        FloatVector mul = FloatVector.broadcast(F, e.mult[ch]);
                        FloatVector add = e.bias == null ? null : FloatVector.broadcast(F, e.bias[ch]);
                        for (int bound = n - n % LANES; j < bound; j += LANES) {
                            e.quantize(IntVector.fromMemorySegment(I, c, (base + j) * 4, LE), mul, add, y, base + j);
                        }
                    }
                    for (; j < n; j++) {
                        y.set(ValueLayout.JAVA_BYTE, base + j, e.quantize(c.getAtIndex(Tensor.I32, base + j), ch));
                    }
                }
            });
        }

        /**
         * Pixels [r0, r1) of image {@code image}, group {@code g}: the raw sums corrected for the
         * zero points, requantized along the channels of each pixel (the unfused graph's arithmetic),
         * then written channel-major into y.
         */
        private void vnniRows(MemorySegment ws, long c, long rowSums, MemorySegment y, int image, int g, int r0, int r1) {
            int mg = conv.mg;
            int n = conv.n;
            int rows = r1 - r0;
            byte[] tmp = RowScratch.get(2 * rows * mg);
            int ch0 = g * mg;
            int[] colTerm = vnni.colTerm;
            int[] zStored = vnni.zStored;
            boolean sums = vnni.rowSums;
            int bound = B == null ? 0 : mg - mg % LANES;
            for (int r = r0; r < r1; r++) {
                long cr = c + r * vnni.ldc;
                int rs = sums ? ws.get(ValueLayout.JAVA_INT_UNALIGNED, rowSums + r * 4L) : 0;
                int t = (r - r0) * mg;
                int j = 0;
                for (; j < bound; j += LANES) {
                    IntVector acc = IntVector.fromMemorySegment(I, ws, cr + j * 4L, LE)
                            .sub(IntVector.fromArray(I, colTerm, ch0 + j));
                    if (sums) {
                        acc = acc.sub(IntVector.fromArray(I, zStored, ch0 + j).mul(rs));
                    }
                    e.quantize(acc, FloatVector.fromArray(F, e.mult, ch0 + j),
                            e.bias == null ? null : FloatVector.fromArray(F, e.bias, ch0 + j), tmp, t + j);
                }
                for (; j < mg; j++) {
                    int acc = ws.get(ValueLayout.JAVA_INT_UNALIGNED, cr + j * 4L) - colTerm[ch0 + j] - zStored[ch0 + j] * rs;
                    tmp[t + j] = e.quantize(acc, ch0 + j);
                }
            }
            int tr = rows * mg;
            for (int ch = 0; ch < mg; ch++) {
                for (int r = 0, src = ch, dst = tr + ch * rows; r < rows; r++, src += mg, dst++) {
                    tmp[dst] = tmp[src];
                }
            }
            long yBase = ((long) image * conv.cOut + ch0) * n + r0;
            for (int ch = 0; ch < mg; ch++) {
                MemorySegment.copy(tmp, tr + ch * rows, y, ValueLayout.JAVA_BYTE, yBase + (long) ch * n, rows);
            }
        }
    }

    /** Per-thread heap scratch of the machine-code convolution's epilogue, grown to the largest block seen and then reused. */
    private static final class RowScratch {
        private static final ThreadLocal<byte[]> CURRENT = new ThreadLocal<>();

        private RowScratch() {}

        static byte[] get(int bytes) {
            byte[] b = CURRENT.get();
            if (b == null || b.length < bytes) {
                b = new byte[bytes];
                CURRENT.set(b);
            }
            return b;
        }
    }
}
