package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.quant.QuantParams;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * ConvInteger (int8/uint8 input and weights, int32 output; x's zero point per tensor, w's per
 * tensor or per output channel) and QLinearConv (the same convolution plus an int32 bias,
 * requantized with x's scale, w's per tensor or per output channel, and y's), with Conv's pads,
 * auto_pad, strides, dilations and groups. Per image and group, the patches minus x's zero point
 * are written straight into {@link Igemm}'s packed layout (padding is then exactly zero) and
 * multiplied by the weights, read in place with their zero point per row.
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
