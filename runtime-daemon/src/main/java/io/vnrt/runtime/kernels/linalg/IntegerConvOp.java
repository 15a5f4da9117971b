package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.quant.QuantParams;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * ConvInteger (int8/uint8 input and weights, int32 output; x's zero point per tensor, w's per
 * tensor or per output channel) and QLinearConv (the same convolution plus an int32 bias,
 * requantized with x's scale, w's per tensor or per output channel, and y's), with Conv's pads,
 * auto_pad, strides, dilations and groups. Per image and group, the patches minus x's zero point
 * are written straight into {@link Igemm}'s packed layout (padding is then exactly zero) and
 * multiplied by the weights, read in place with their zero point per row. QdqConv runs
 * {@link NativeConv} instead where {@link NativeQgemm}'s machine-code tiles (VNNI or AVX2) run.
 */
final class IntegerConvOp {
    private IntegerConvOp() {}

    /** Input slots of x, w and their zero points for the two operators. */
    private record Slots(int x, int xZero, int w, int wZero) {}

    private static final Slots CONV_INTEGER = new Slots(0, 2, 1, 3);
    private static final Slots QLINEAR = new Slots(0, 2, 3, 5);

    static Kernel convInteger(NodeContext node) {
        return create(node, CONV_INTEGER);
    }

    static Kernel qlinearConv(NodeContext node) {
        ConvKernel k = create(node, QLINEAR);
        TensorType ty = node.inputType(7);
        if (!QuantParams.isByte(ty.dtype())) {
            throw node.error("y_zero_point is " + ty + "; QLinearConv produces int8 or uint8");
        }
        for (int s : new int[] {1, 4, 6}) {
            if (node.inputType(s).dtype() != DType.FLOAT32) {
                throw node.error("input " + s + " (a scale) is " + node.inputType(s) + "; expected float32");
            }
        }
        QuantParams.checkVector(node, 1, "x_scale", 1, "one for the tensor");
        boolean wPerChannel = QuantParams.checkVector(node, 4, "w_scale", k.cOut, "one per output channel");
        QuantParams.checkVector(node, 6, "y_scale", 1, "one for the tensor");
        QuantParams.checkVector(node, 7, "y_zero_point", 1, "one for the tensor");
        int[] yz = QuantParams.checkZeroPoint(node, 7, "y_zero_point", ty.dtype());
        boolean hasBias = node.hasInput(8);
        if (hasBias) {
            TensorType tb = node.inputType(8);
            if (tb.dtype() != DType.INT32 || tb.elementCount() != k.cOut || tb.rank() != 1) {
                throw node.error("bias B is " + tb + "; expected int32[" + k.cOut + "]");
            }
        }
        return new QLinearKernel(k, new TensorType(ty.dtype(), k.out.shape()), wPerChannel, yz, hasBias);
    }

    /** The integer convolution of {@link QdqLinearOp#conv}, whose inputs sit in QLinearConv's slots. */
    static ConvKernel qdqConv(NodeContext node) {
        return create(node, QLINEAR);
    }

    private static ConvKernel create(NodeContext node, Slots s) {
        TensorType tx = node.inputType(s.x);
        TensorType tw = node.inputType(s.w);
        if (!QuantParams.isByte(tx.dtype()) || !QuantParams.isByte(tw.dtype())) {
            throw node.error("x is " + tx + " and w is " + tw + "; both must be int8 or uint8");
        }
        if (tx.rank() < 3 || tw.rank() != tx.rank()) {
            throw node.error("x must be [N, C, spatial...] and w [M, C/group, kernel...], got " + tx + " and " + tw);
        }
        long[] xs = tx.shape();
        long[] ws = tw.shape();
        int group = (int) node.attrInt("group", 1);
        long channels = xs[1];
        long m = ws[0];
        if (group < 1 || channels % group != 0 || m % group != 0 || ws[1] != channels / group) {
            throw node.error("group " + group + " does not fit x " + tx + " and w " + tw);
        }
        long[] kernelShape = node.attrInts("kernel_shape", Arrays.copyOfRange(ws, 2, ws.length));
        if (!Arrays.equals(kernelShape, Arrays.copyOfRange(ws, 2, ws.length))) {
            throw node.error("kernel_shape " + Arrays.toString(kernelShape) + " does not match w " + tw);
        }
        Window w = Window.forward(node, Arrays.copyOfRange(xs, 2, xs.length), kernelShape, false);
        int[] zx = null;
        int[] zw = null;
        boolean zwPerChannel = false;
        if (node.hasInput(s.xZero)) {
            QuantParams.checkVector(node, s.xZero, "x_zero_point", 1, "one for the tensor");
            zx = QuantParams.checkZeroPoint(node, s.xZero, "x_zero_point", tx.dtype());
        }
        if (node.hasInput(s.wZero)) {
            zwPerChannel = QuantParams.checkVector(node, s.wZero, "w_zero_point", m, "one per output channel");
            zw = QuantParams.checkZeroPoint(node, s.wZero, "w_zero_point", tw.dtype());
        }
        if (s == QLINEAR) {
            boolean scalePerChannel = QuantParams.checkVector(node, 4, "w_scale", m, "one per output channel");
            if (node.hasInput(s.wZero) && scalePerChannel != zwPerChannel) {
                throw node.error("w_scale " + node.inputType(4) + " and w_zero_point " + node.inputType(s.wZero)
                        + " must both be scalars or both have one element per output channel");
            }
        }
        return new ConvKernel(s, w, new TensorType(DType.INT32, w.outShape(xs[0], m)), (int) xs[0], (int) channels,
                (int) m, group, tx.dtype() == DType.INT8, tw.dtype() == DType.INT8, zx, zw, zwPerChannel,
                node.hasInput(s.xZero), node.hasInput(s.wZero));
    }

    static final class ConvKernel implements Kernel {
        private final Slots s;
        private final Window w;
        final TensorType out;
        private final int batch;
        private final int cIn;
        final int cOut;
        private final int group;
        private final boolean xSigned;
        private final boolean wSigned;
        private final int[] zx;
        private final int[] zw;
        private final boolean zwPerChannel;
        private final boolean hasZx;
        private final boolean hasZw;
        private final int cg;
        final int mg;
        private final int k;
        /** Output pixels of one image. */
        final int n;

        ConvKernel(Slots s, Window w, TensorType out, int batch, int cIn, int cOut, int group, boolean xSigned,
                   boolean wSigned, int[] zx, int[] zw, boolean zwPerChannel, boolean hasZx, boolean hasZw) {
            this.s = s;
            this.w = w;
            this.out = out;
            this.batch = batch;
            this.cIn = cIn;
            this.cOut = cOut;
            this.group = group;
            this.xSigned = xSigned;
            this.wSigned = wSigned;
            this.zx = zx;
            this.zw = zw;
            this.zwPerChannel = zwPerChannel;
            this.hasZx = hasZx;
            this.hasZw = hasZw;
            this.cg = cIn / group;
            this.mg = cOut / group;
            this.k = (int) (cg * w.kernelVolume());
            this.n = (int) w.outVolume();
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public long workspaceBytes() {
            return Igemm.packedBytes(k, n);
        }

        /** The int32 convolution into {@code y} (row-major [N, M, spatial]); {@code ws} holds the packed patches. */
        void convolve(Tensor[] in, MemorySegment y, MemorySegment ws, ExecContext ctx) {
            MemorySegment x = in[s.x].data();
            MemorySegment wt = in[s.w].data();
            int xz = zx != null ? zx[0] : hasZx ? (int) in[s.xZero].getLong(0) : 0;
            int[] zwv = zw != null || !hasZw ? zw : QuantParams.ints(in[s.wZero], null);
            long xImage = (long) cIn * w.inVolume();
            long yImage = (long) cOut * n * 4L;
            int xMask = xSigned ? -1 : 0xFF;
            for (int b = 0; b < batch; b++) {
                for (int g = 0; g < group; g++) {
                    long xOff = b * xImage + (long) g * cg * w.inVolume();
                    im2col(x, xOff, xMask, xz, ws);
                    int[] za = zwv == null ? null : zwPerChannel ? Arrays.copyOfRange(zwv, g * mg, (g + 1) * mg) : zwv;
                    Igemm.Problem p = new Igemm.Problem(1, mg, n, k, wt, new long[] {(long) g * mg * k}, k, wSigned, za,
                            zwPerChannel, ws, new long[] {0}, y, new long[] {b * yImage + (long) g * mg * n * 4L}, n * 4L);
                    Igemm.run(p, ctx);
                }
            }
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            convolve(in, outs[0].data(), ctx.workspace(), ctx);
        }

        /**
         * Writes the patch matrix minus x's zero point in Igemm's panel layout (rows: channel ×
         * kernel offset; columns: output pixels; zero for padding and past N). It walks each row's
         * output pixels in raster order, reading the valid span of every output row straight from a
         * heap copy of the group's input into a heap image of the panels, copied out in one go
         * (element-wise segment accesses here were not inlined and cost more than the GEMM).
         */
        private void im2col(MemorySegment x, long xOff, int mask, int xz, MemorySegment dst) {
            int nr = Igemm.NR;
            int shift = Integer.numberOfTrailingZeros(nr);
            int panels = Igemm.panels(n);
            int inVol = (int) w.inVolume();
            int total = panels * k * nr;
            Im2colScratch sc = Im2colScratch.get(cg * inVol, total);
            byte[] img = sc.image;
            short[] buf = sc.panels;
            MemorySegment.copy(x, ValueLayout.JAVA_BYTE, xOff, img, 0, cg * inVol);
            Arrays.fill(buf, 0, total, (short) 0);
            int inW = w.in[2];
            int inHW = w.in[1] * inW;
            int outW = w.out[2];
            int panelShorts = k * nr;
            int strideW = w.stride[2];
            int row = 0;
            for (int c = 0; c < cg; c++) {
                for (int kd = 0; kd < w.kernel[0]; kd++) {
                    for (int kh = 0; kh < w.kernel[1]; kh++) {
                        for (int kw = 0; kw < w.kernel[2]; kw++, row++) {
                            int shiftW = kw * w.dilation[2] - w.padBegin[2];
                            // output columns whose input column ow*stride + shiftW lies inside the row
                            int owLo = Math.max(0, Math.ceilDiv(-shiftW, strideW));
                            int owHi = Math.min(outW, Math.floorDiv(inW - 1 - shiftW, strideW) + 1);
                            int rowOff = row * nr;
                            int o = 0;
                            for (int od = 0; od < w.out[0]; od++) {
                                int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                                for (int oh = 0; oh < w.out[1]; oh++, o += outW) {
                                    int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                                    if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
                                        continue;
                                    }
                                    int src = c * inVol + id * inHW + ih * inW + shiftW;
                                    // in runs that stay inside one panel, contiguous there (simple loops the JIT vectorizes)
                                    for (int ow = owLo; ow < owHi; ) {
                                        int col = o + ow;
                                        int j = col & (nr - 1);
                                        int run = Math.min(owHi - ow, nr - j);
                                        int d = (col >>> shift) * panelShorts + rowOff + j;
                                        int from = src + ow * strideW;
                                        if (strideW == 1) {
                                            for (int i = 0; i < run; i++) {
                                                buf[d + i] = (short) ((img[from + i] & mask) - xz);
                                            }
                                        } else {
                                            for (int i = 0; i < run; i++) {
                                                buf[d + i] = (short) ((img[from + i * strideW] & mask) - xz);
                                            }
                                        }
                                        ow += run;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            MemorySegment.copy(buf, 0, dst, ValueLayout.JAVA_SHORT_UNALIGNED, 0, total);
        }
    }

    /**
     * The convolution of QdqConv on {@link NativeQgemm}'s machine-code tiles (VNNI or AVX2). Per image and group, the
     * patch matrix (one row per output pixel, C/group·kernel bytes in the weights' k order; uint8:
     * an int8 x is stored plus 128; padding holds x's zero point, so it adds nothing once the zero
     * points are applied) is A, and the group's weights, transposed to k × M/group, are B, packed
     * once at load with their column sums. The tiles give the raw sums {@code Σ a·b}; the caller's
     * epilogue subtracts {@link #colTerm} and {@code zStored·rowsum(A)} (needed only where a
     * weight zero point is not zero), as QdqMatMul's does: the same exact integers as
     * {@link ConvKernel#convolve}. The sums land pixel-major ([pixel][channel]); the epilogue
     * writes them back channel-major.
     */
    static final class NativeConv {
        /** The rows of one image and group the tiles have summed, for the caller's epilogue. */
        interface Rows {
            /** Rows [r0, r1) of C (at {@code c}, {@link #ldc} bytes apart) for image {@code image}, group {@code g}. */
            void rows(MemorySegment ws, long c, long rowSums, int image, int g, int r0, int r1);
        }

        final ConvKernel conv;
        private final MemorySegment packed;
        private final long groupBytes;
        /** Per output channel: {@code za·colsum(B) − K·za·zb}, subtracted from each raw sum. */
        final int[] colTerm;
        /** Per output channel: the weight zero point as the packed (signed) weights have it. */
        final int[] zStored;
        /** Whether any weight zero point is not zero, so the sums need A's row sums. */
        final boolean rowSums;
        /** x's zero point as A stores it (plus 128 for int8 x): the padding value. */
        private final int za;
        private final int kq;
        /** Bytes of one row of A (k rounded up to eight, for the 8×8 transposes; the tiles read quads(k)·4). */
        private final long lda;
        /** Bytes of one int32 row of C: the group's channels rounded up to whole panels. */
        final long ldc;
        private final int panels;

        NativeConv(NodeContext node, ConvKernel conv) {
            this.conv = conv;
            int k = conv.k;
            int mg = conv.mg;
            this.kq = NativeQgemm.quads(k);
            this.panels = NativeQgemm.panels(mg);
            this.lda = (k + 7L) & ~7L;
            this.ldc = (long) panels * NativeQgemm.NR * 4;
            this.groupBytes = NativeQgemm.packedBytes(k, mg);
            Tensor wt = node.constantInput(conv.s.w);
            boolean signed = conv.wSigned;
            int group = conv.group;
            long sumsAt = group * groupBytes;
            this.packed = node.packedConstant(conv.s.w, "vnni conv: per group w transposed to k x M, quads + column sums",
                    sumsAt + 4L * conv.cOut, dst -> {
                        try (Arena arena = Arena.ofConfined()) {
                            MemorySegment t = arena.allocate(Math.max(1, (long) k * mg));
                            for (int g = 0; g < group; g++) {
                                for (int j = 0; j < mg; j++) {
                                    long src = ((long) g * mg + j) * k;
                                    for (int kk = 0; kk < k; kk++) {
                                        t.set(ValueLayout.JAVA_BYTE, (long) kk * mg + j, wt.data().get(ValueLayout.JAVA_BYTE, src + kk));
                                    }
                                }
                                int[] sums = NativeQgemm.packB(t, 0, signed, k, mg, dst.asSlice(g * groupBytes, groupBytes));
                                MemorySegment.copy(sums, 0, dst, ValueLayout.JAVA_INT_UNALIGNED, sumsAt + 4L * g * mg, mg);
                            }
                        }
                    });
            int[] colSums = new int[conv.cOut];
            MemorySegment.copy(packed, ValueLayout.JAVA_INT_UNALIGNED, sumsAt, colSums, 0, conv.cOut);
            int xz = conv.zx != null ? conv.zx[0] : 0;
            this.za = conv.xSigned ? xz + 128 : xz;
            this.zStored = new int[conv.cOut];
            this.colTerm = new int[conv.cOut];
            boolean any = false;
            for (int j = 0; j < conv.cOut; j++) {
                int zb = conv.zw == null ? 0 : conv.zw[conv.zwPerChannel ? j : 0];
                zStored[j] = signed ? zb : zb - 128;
                colTerm[j] = za * colSums[j] - k * za * zStored[j];
                any |= zStored[j] != 0;
            }
            this.rowSums = any;
        }

        /** A, C and A's row sums for one image and group. */
        long workspaceBytes() {
            return align(conv.n * lda) + conv.n * ldc + align(conv.n * 4L);
        }

        private static long align(long v) {
            return (v + 63) & ~63L;
        }

        /** Every image and group: A built, the tiles over row blocks in parallel, each block's epilogue at once. */
        void run(Tensor[] in, MemorySegment ws, ExecContext ctx, Rows epilogue) {
            int n = conv.n;
            long a = 0;
            long c = align(n * lda);
            long rs = c + n * ldc;
            MemorySegment x = in[conv.s.x].data();
            long xImage = (long) conv.cIn * conv.w.inVolume();
            long macs = (long) n * conv.mg * conv.k;
            int par = ctx.parallelism();
            int tasks = par <= 1 ? 1 : (int) Math.min(par * 3L, Math.max(1, macs / Igemm.MIN_TASK_MACS));
            int tiles = (n + 11) / 12;
            int ft = Math.min(tasks, tiles);
            for (int b = 0; b < conv.batch; b++) {
                for (int g = 0; g < conv.group; g++) {
                    patches(x, b * xImage + (long) g * conv.cg * conv.w.inVolume(), ws, a, rs);
                    MemorySegment bp = packed.asSlice(g * groupBytes, groupBytes);
                    int image = b;
                    int grp = g;
                    ctx.parallelFor(ft, t -> {
                        int r0 = (int) ((long) t * tiles / ft) * 12;
                        int r1 = Math.min(n, (int) ((long) (t + 1) * tiles / ft) * 12);
                        for (int q = 0; q < panels; q++) {
                            NativeQgemm.panel(ws, a, lda, r0, r1, bp, kq, q, ws, c, ldc);
                        }
                        epilogue.rows(ws, c, rs, image, grp, r0, r1);
                    });
                }
            }
        }

        /**
         * Writes A (pixel-major patches, x's zero point where a patch leaves the input) at {@code a},
         * and its row sums at {@code rs} when they are needed. The group's input is first copied to
         * the heap with a border of the padding value wide enough for every window, so each row of A
         * is written front to back with no bounds tests; A is then copied out in one go
         * (element-wise segment accesses here cost more than the GEMM).
         */
        private void patches(MemorySegment x, long xOff, MemorySegment ws, long a, long rs) {
            Window w = conv.w;
            int n = conv.n;
            int cg = conv.cg;
            int inVol = (int) w.inVolume();
            int rowBytes = (int) lda;
            // the border: whatever a window reaches before and after each spatial axis
            int[] lo = new int[3];
            int[] size = new int[3];
            for (int d = 0; d < 3; d++) {
                lo[d] = w.padBegin[d];
                int reach = (w.out[d] - 1) * w.stride[d] + (w.kernel[d] - 1) * w.dilation[d] + 1;
                size[d] = Math.max(w.in[d] + lo[d], reach);
            }
            int pW = size[2];
            int pHW = size[1] * pW;
            int pVol = size[0] * pHW;
            int nP = (n + 7) & ~7;
            int kP = rowBytes;
            NativeConvScratch sc = NativeConvScratch.get(cg * inVol + cg * pVol + kP * nP, nP * rowBytes, rowSums ? n : 0);
            byte[] img = sc.image;
            byte[] buf = sc.rows;
            int pad0 = cg * inVol;
            MemorySegment.copy(x, ValueLayout.JAVA_BYTE, xOff, img, 0, cg * inVol);
            byte flip = (byte) (conv.xSigned ? 0x80 : 0);
            Arrays.fill(img, pad0, pad0 + cg * pVol, (byte) za);
            int inW = w.in[2];
            int inHW = w.in[1] * inW;
            for (int ch = 0; ch < cg; ch++) {
                for (int id = 0; id < w.in[0]; id++) {
                    for (int ih = 0; ih < w.in[1]; ih++) {
                        int src = ch * inVol + id * inHW + ih * inW;
                        int dst = pad0 + ch * pVol + (id + lo[0]) * pHW + (ih + lo[1]) * pW + lo[2];
                        for (int iw = 0; iw < inW; iw++) {
                            img[dst + iw] = (byte) (img[src + iw] ^ flip);
                        }
                    }
                }
            }
            int kD = w.kernel[0];
            int kH = w.kernel[1];
            int kW = w.kernel[2];
            int dD = w.dilation[0] * pHW;
            int dH = w.dilation[1] * pW;
            int dW = w.dilation[2];
            int sD = w.stride[0] * pHW;
            int sH = w.stride[1] * pW;
            int sW = w.stride[2];
            int outW = w.out[2];
            // the patches k-major first (row k: every pixel's tap k, contiguous runs of a row of output)
            int t0 = pad0 + cg * pVol;
            int row = 0;
            for (int ch = 0; ch < cg; ch++) {
                for (int kd = 0; kd < kD; kd++) {
                    for (int kh = 0; kh < kH; kh++) {
                        for (int kw = 0; kw < kW; kw++, row++) {
                            int tap = pad0 + ch * pVol + kd * dD + kh * dH + kw * dW;
                            int t = t0 + row * nP;
                            for (int od = 0; od < w.out[0]; od++) {
                                for (int oh = 0; oh < w.out[1]; oh++, t += outW) {
                                    int origin = tap + od * sD + oh * sH;
                                    if (sW == 1) {
                                        System.arraycopy(img, origin, img, t, outW);
                                    } else {
                                        for (int ow = 0; ow < outW; ow++) {
                                            img[t + ow] = img[origin + ow * sW];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // then into pixel rows, 8 k by 8 pixels at a time (rows past k and pixels past n are
            // never read as such: past k the weights are zero, past n nothing is copied out)
            for (int kb = 0; kb < kP; kb += 8) {
                int src = t0 + kb * nP;
                for (int pb = 0; pb < nP; pb += 8) {
                    transpose8(img, src + pb, nP, buf, pb * rowBytes + kb, rowBytes);
                }
            }
            MemorySegment.copy(buf, 0, ws, ValueLayout.JAVA_BYTE, a, n * rowBytes);
            if (rowSums) {
                int[] sums = sc.sums;
                int k = conv.k;
                for (int r = 0; r < n; r++) {
                    int s = 0;
                    for (int i = r * rowBytes, end = i + k; i < end; i++) {
                        s += buf[i] & 0xFF;
                    }
                    sums[r] = s;
                }
                MemorySegment.copy(sums, 0, ws, ValueLayout.JAVA_INT_UNALIGNED, rs, n);
            }
        }
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * The 8×8 byte block at {@code src} (rows {@code ss} bytes apart) transposed into {@code dst}
     * (rows {@code ds} bytes apart): three rounds of masked swaps on eight longs (Hacker's Delight's
     * transpose8), each exchanging one bit of the row index with that of the column index.
     */
    static void transpose8(byte[] src, int so, int ss, byte[] dst, int d, int ds) {
        long a0 = (long) LONGS.get(src, so);
        long a1 = (long) LONGS.get(src, so + ss);
        long a2 = (long) LONGS.get(src, so + 2 * ss);
        long a3 = (long) LONGS.get(src, so + 3 * ss);
        long a4 = (long) LONGS.get(src, so + 4 * ss);
        long a5 = (long) LONGS.get(src, so + 5 * ss);
        long a6 = (long) LONGS.get(src, so + 6 * ss);
        long a7 = (long) LONGS.get(src, so + 7 * ss);
        long m = 0x00000000FFFFFFFFL;
        long t;
        t = ((a0 >>> 32) ^ a4) & m; a4 ^= t; a0 ^= t << 32;
        t = ((a1 >>> 32) ^ a5) & m; a5 ^= t; a1 ^= t << 32;
        t = ((a2 >>> 32) ^ a6) & m; a6 ^= t; a2 ^= t << 32;
        t = ((a3 >>> 32) ^ a7) & m; a7 ^= t; a3 ^= t << 32;
        m = 0x0000FFFF0000FFFFL;
        t = ((a0 >>> 16) ^ a2) & m; a2 ^= t; a0 ^= t << 16;
        t = ((a1 >>> 16) ^ a3) & m; a3 ^= t; a1 ^= t << 16;
        t = ((a4 >>> 16) ^ a6) & m; a6 ^= t; a4 ^= t << 16;
        t = ((a5 >>> 16) ^ a7) & m; a7 ^= t; a5 ^= t << 16;
        m = 0x00FF00FF00FF00FFL;
        t = ((a0 >>> 8) ^ a1) & m; a1 ^= t; a0 ^= t << 8;
        t = ((a2 >>> 8) ^ a3) & m; a3 ^= t; a2 ^= t << 8;
        t = ((a4 >>> 8) ^ a5) & m; a5 ^= t; a4 ^= t << 8;
        t = ((a6 >>> 8) ^ a7) & m; a7 ^= t; a6 ^= t << 8;
        LONGS.set(dst, d, a0);
        LONGS.set(dst, d + ds, a1);
        LONGS.set(dst, d + 2 * ds, a2);
        LONGS.set(dst, d + 3 * ds, a3);
        LONGS.set(dst, d + 4 * ds, a4);
        LONGS.set(dst, d + 5 * ds, a5);
        LONGS.set(dst, d + 6 * ds, a6);
        LONGS.set(dst, d + 7 * ds, a7);
    }

    /** Per-thread heap scratch of {@link NativeConv#patches}, grown to the largest problem seen and then reused. */
    private record NativeConvScratch(byte[] image, byte[] rows, int[] sums) {
        private static final ThreadLocal<NativeConvScratch> CURRENT = new ThreadLocal<>();

        static NativeConvScratch get(int imageBytes, int rowBytes, int rowCount) {
            NativeConvScratch s = CURRENT.get();
            if (s == null || s.image.length < imageBytes || s.rows.length < rowBytes || s.sums.length < rowCount) {
                s = new NativeConvScratch(new byte[Math.max(imageBytes, s == null ? 0 : s.image.length)],
                        new byte[Math.max(rowBytes, s == null ? 0 : s.rows.length)],
                        new int[Math.max(rowCount, s == null ? 0 : s.sums.length)]);
                CURRENT.set(s);
            }
            return s;
        }
    }

    /** Per-thread heap scratch of {@link ConvKernel#im2col}, grown to the largest problem seen and then reused. */
    private record Im2colScratch(byte[] image, short[] panels) {
        private static final ThreadLocal<Im2colScratch> CURRENT = new ThreadLocal<>();

        static Im2colScratch get(int imageBytes, int panelShorts) {
            Im2colScratch s = CURRENT.get();
            if (s == null || s.image.length < imageBytes || s.panels.length < panelShorts) {
                int ib = Math.max(imageBytes, s == null ? 0 : s.image.length);
                int ps = Math.max(panelShorts, s == null ? 0 : s.panels.length);
                s = new Im2colScratch(new byte[ib], new short[ps]);
                CURRENT.set(s);
            }
            return s;
        }
    }

    /** QLinearConv: the int32 convolution plus bias in the workspace, then requantized per output channel. */
    static final class QLinearKernel implements Kernel {
        private final ConvKernel conv;
        private final TensorType out;
        private final boolean wPerChannel;
        private final int[] yz;
        private final boolean hasBias;

        QLinearKernel(ConvKernel conv, TensorType out, boolean wPerChannel, int[] yz, boolean hasBias) {
            this.conv = conv;
            this.out = out;
            this.wPerChannel = wPerChannel;
            this.yz = yz;
            this.hasBias = hasBias;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        private long productBytes() {
            return (conv.out.byteSize() + 63) & ~63L;
        }

        @Override
        public long workspaceBytes() {
            return productBytes() + conv.workspaceBytes();
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            MemorySegment c = ws.asSlice(0, conv.out.byteSize());
            conv.convolve(in, c, ws.asSlice(productBytes()), ctx);
            float xs = in[1].getFloat(0);
            float ys = in[6].getFloat(0);
            int z = yz != null ? yz[0] : (int) in[7].getLong(0);
            long lo = QuantParams.min(out.dtype());
            long hi = QuantParams.max(out.dtype());
            MemorySegment yd = outs[0].data();
            int n = conv.n;
            long e = 0;
            for (long img = 0; img < conv.out.shape()[0]; img++) {
                for (int m = 0; m < conv.cOut; m++) {
                    double mult = QuantParams.multiplier(DType.FLOAT32, xs, in[4].getFloat(wPerChannel ? m : 0), ys);
                    int bias = hasBias ? in[8].data().getAtIndex(Tensor.I32, m) : 0;
                    for (int j = 0; j < n; j++, e++) {
                        int acc = c.getAtIndex(Tensor.I32, e) + bias;
                        yd.set(Tensor.I8, e, (byte) QuantParams.roundSaturate(acc * mult + z, lo, hi));
                    }
                }
            }
        }
    }
}
