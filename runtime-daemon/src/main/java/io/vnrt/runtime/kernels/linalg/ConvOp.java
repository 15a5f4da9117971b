package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Conv (1-D to 3-D, groups, dilations, pads/auto_pad, bias, fused activation) as im2col + GEMM:
 * for each image and group, the input patches are written straight into the packed-panel layout
 * of {@link Sgemm} (so there is no separate pack step) and multiplied by the weights read in
 * place, with the bias per output channel and the activation applied in the GEMM's epilogue.
 */
final class ConvOp {
    private ConvOp() {}

    static Kernel create(NodeContext node) {
        TensorType tx = node.inputType(0);
        TensorType tw = node.inputType(1);
        if (tx.dtype() != DType.FLOAT32 && tx.dtype() != DType.FLOAT64 && tx.dtype() != DType.FLOAT16) {
            throw node.error("Conv supports float32 (and float16/float64 through float32), got " + tx.dtype());
        }
        if (tx.rank() < 3 || tw.rank() != tx.rank()) {
            throw node.error("X must be [N, C, spatial...] and W [M, C/group, kernel...], got " + tx + " and " + tw);
        }
        long[] xs = tx.shape();
        long[] ws = tw.shape();
        int group = (int) node.attrInt("group", 1);
        long channels = xs[1];
        long m = ws[0];
        if (group < 1 || channels % group != 0 || m % group != 0 || ws[1] != channels / group) {
            throw node.error("group " + group + " does not fit X " + tx + " and W " + tw);
        }
        long[] kernelShape = node.attrInts("kernel_shape", Arrays.copyOfRange(ws, 2, ws.length));
        Window w = Window.forward(node, Arrays.copyOfRange(xs, 2, xs.length), kernelShape, false);
        TensorType out = new TensorType(tx.dtype(), w.outShape(xs[0], m));
        if (node.hasInput(2) && node.inputType(2).elementCount() != m) {
            throw node.error("bias B has type " + node.inputType(2) + ", expected " + m + " elements");
        }
        if (tx.dtype() != DType.FLOAT32) {
            // computed in float32 in the workspace, the fused activation included, then converted back
            return new ConvKernel(w, out, (int) xs[0], (int) channels, (int) m, group, node.hasInput(2),
                    Activation.of(node), node.attrFloat("vnrt_alpha", 0.01f), true);
        }
        return new ConvKernel(w, out, (int) xs[0], (int) channels, (int) m, group, node.hasInput(2),
                Activation.of(node), node.attrFloat("vnrt_alpha", 0.01f), false);
    }

    static final class ConvKernel implements Kernel {
        private final Window w;
        private final TensorType out;
        private final int batch;
        private final int cIn;
        private final int cOut;
        private final int group;
        private final boolean hasBias;
        private final Activation act;
        private final float actAlpha;
        /** Non-float32 inputs are converted to float32 in the workspace first. */
        private final boolean convert;
        private final int cg;
        private final int mg;
        private final int k;
        private final int n;
        private final boolean pointwise;
        /** 2-D, stride 1, output rows as wide as the input's: {@link #im2colShifted}. */
        private final boolean shifted;
        private final long[] zero = {0};
        /** Runs at least this long are copied with {@link MemorySegment#copy}, shorter ones element by element. */
        private static final int BULK = 8;
        private static final VectorSpecies<Float> F = VectorShape.FLOAT;
        private static final int LANES = F.length();
        private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
        /** Lanes 0, 2, 4, ... of a vector followed by the next one. */
        private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(F, i -> 2 * i);

        ConvKernel(Window w, TensorType out, int batch, int cIn, int cOut, int group, boolean hasBias,
                   Activation act, float actAlpha, boolean convert) {
            this.w = w;
            this.out = out;
            this.batch = batch;
            this.cIn = cIn;
            this.cOut = cOut;
            this.group = group;
            this.hasBias = hasBias;
            this.act = act;
            this.actAlpha = actAlpha;
            this.convert = convert;
            this.cg = cIn / group;
            this.mg = cOut / group;
            this.k = (int) (cg * w.kernelVolume());
            this.n = (int) w.outVolume();
            boolean pw = w.kernelVolume() == 1;
            for (int a = 0; a < Window.R; a++) {
                pw &= w.stride[a] == 1 && w.padBegin[a] == 0 && w.padEnd[a] == 0 && w.in[a] == w.out[a];
            }
            this.pointwise = pw;
            this.shifted = !pw && w.kernel[0] == 1 && w.in[0] == 1 && w.out[0] == 1 && w.stride[1] == 1 && w.stride[2] == 1
                    && w.out[2] == w.in[2] && Sgemm.NR % LANES == 0;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        private long packedBytes() {
            return Sgemm.packedBytes(k, n);
        }

        private long convertedBytes() {
            // x, w, bias and y as float32
            return convert ? 4L * ((long) batch * cIn * w.inVolume() + (long) cOut * k + cOut
                    + (long) batch * cOut * n) : 0;
        }

        @Override
        public long workspaceBytes() {
            return packedBytes() + convertedBytes();
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            MemorySegment x = in[0].data();
            MemorySegment wt = in[1].data();
            MemorySegment bias = hasBias ? in[2].data() : null;
            MemorySegment y = outs[0].data();
            if (convert) {
                long off = packedBytes();
                x = toFloat(in[0], ws, off);
                off += x.byteSize();
                wt = toFloat(in[1], ws, off);
                off += wt.byteSize();
                if (hasBias) {
                    bias = toFloat(in[2], ws, off);
                    off += bias.byteSize();
                }
                y = ws.asSlice(off, 4L * outs[0].elementCount());
            }
            MemorySegment packed = ws;
            int panels = Sgemm.panels(n);
            long xImage = (long) cIn * w.inVolume() * 4L;
            long yImage = (long) cOut * n * 4L;
            for (int b = 0; b < batch; b++) {
                for (int g = 0; g < group; g++) {
                    long xOff = b * xImage + (long) g * cg * w.inVolume() * 4L;
                    MemorySegment xs = x;
                    if (pointwise) {
                        Sgemm.packB(xs, xOff, n * 4L, 4, k, n, packed, 0, 0, panels);
                    } else if ((long) k * n < 4 * Sgemm.MIN_TASK_MACS || ctx.parallelism() == 1) {
                        im2col(xs, xOff, packed, 0, panels);
                    } else {
                        int tasks = Math.min(panels, ctx.parallelism() * 2);
                        ctx.parallelFor(tasks, t -> im2col(xs, xOff, packed, (int) ((long) t * panels / tasks),
                                (int) ((long) (t + 1) * panels / tasks)));
                    }
                    Sgemm.Epilogue ep = new Sgemm.Epilogue(1f, false, null, bias, (long) g * mg * 4L, act, actAlpha);
                    Sgemm.Problem p = new Sgemm.Problem(1, mg, n, k, wt, new long[] {(long) g * mg * k * 4L}, k * 4L, 4,
                            packed, zero, y, new long[] {b * yImage + (long) g * mg * n * 4L}, n * 4L);
                    Sgemm.run(p, ep, ctx);
                }
            }
            if (convert) {
                Tensor o = outs[0];
                for (long i = 0; i < o.elementCount(); i++) {
                    o.setDouble(i, y.getAtIndex(Tensor.F32, i));
                }
            }
        }

        private static MemorySegment toFloat(Tensor t, MemorySegment ws, long off) {
            MemorySegment s = ws.asSlice(off, 4L * t.elementCount());
            for (long i = 0; i < t.elementCount(); i++) {
                s.setAtIndex(Tensor.F32, i, (float) t.getDouble(i));
            }
            return s;
        }

        /**
         * Writes panels [p0, p1) of the patch matrix (rows: channel × kernel offset; columns: output
         * pixels). A panel's columns are split into runs of consecutive pixels of one output row;
         * for each patch row a run reads one input row at the run's stride, so the in-range part is
         * one bulk copy at stride 1 (the even lanes of vector pairs at stride 2, a short loop
         * otherwise) between zero fills for the padding.
         */
        private void im2col(MemorySegment x, long xOff, MemorySegment dst, int p0, int p1) {
            if (shifted) {
                im2colShifted(x, xOff, dst, p0, p1);
                return;
            }
            // per run: first column, length, output depth, row and first column
            int[] runs = new int[5 * Sgemm.NR];
            int outHW = w.out[1] * w.out[2];
            int inHW = w.in[1] * w.in[2];
            int s2 = w.stride[2];
            for (int p = p0; p < p1; p++) {
                int cols = Math.min(Sgemm.NR, n - p * Sgemm.NR);
                int nRuns = 0;
                for (int j = 0; j < cols; ) {
                    int o = p * Sgemm.NR + j;
                    int ow = o % w.out[2];
                    int len = Math.min(cols - j, w.out[2] - ow);
                    runs[5 * nRuns] = j;
                    runs[5 * nRuns + 1] = len;
                    runs[5 * nRuns + 2] = o / outHW;
                    runs[5 * nRuns + 3] = (o % outHW) / w.out[2];
                    runs[5 * nRuns + 4] = ow;
                    nRuns++;
                    j += len;
                }
                long d = (long) p * k * Sgemm.NR * 4L;
                int row = 0;
                for (int c = 0; c < cg; c++) {
                    long xc = xOff + (long) c * w.inVolume() * 4L;
                    for (int kd = 0; kd < w.kernel[0]; kd++) {
                        for (int kh = 0; kh < w.kernel[1]; kh++) {
                            for (int kw = 0; kw < w.kernel[2]; kw++, row++) {
                                long dr = d + (long) row * Sgemm.NR * 4L;
                                for (int r = 0; r < nRuns; r++) {
                                    int j0 = runs[5 * r];
                                    int len = runs[5 * r + 1];
                                    int id = runs[5 * r + 2] * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                                    int ih = runs[5 * r + 3] * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                                    int iw0 = runs[5 * r + 4] * s2 - w.padBegin[2] + kw * w.dilation[2];
                                    long dj = dr + j0 * 4L;
                                    if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
                                        zero(dst, dj, len);
                                        continue;
                                    }
                                    // lanes t with 0 <= iw0 + t*s2 < in[2]
                                    int t0 = iw0 >= 0 ? 0 : Math.min(len, (-iw0 + s2 - 1) / s2);
                                    int t1 = iw0 >= w.in[2] ? t0 : Math.max(t0, Math.min(len, (w.in[2] - 1 - iw0) / s2 + 1));
                                    zero(dst, dj, t0);
                                    long src = xc + ((long) id * inHW + (long) ih * w.in[2] + iw0) * 4L;
                                    if (s2 == 1 && t1 - t0 >= BULK) {
                                        MemorySegment.copy(x, src + t0 * 4L, dst, dj + t0 * 4L, (t1 - t0) * 4L);
                                    } else {
                                        int t = t0;
                                        if (s2 == 2) {
                                            // the even lanes of two adjacent vectors, while both lie inside the input row
                                            for (; t + LANES <= t1 && iw0 + 2 * (t + LANES) <= w.in[2]; t += LANES) {
                                                long at = src + 2L * t * 4L;
                                                FloatVector.fromMemorySegment(F, x, at, LE)
                                                        .rearrange(EVEN, FloatVector.fromMemorySegment(F, x, at + LANES * 4L, LE))
                                                        .intoMemorySegment(dst, dj + t * 4L, LE);
                                            }
                                        }
                                        for (; t < t1; t++) {
                                            dst.set(Tensor.F32, dj + t * 4L, x.get(Tensor.F32, src + (long) t * s2 * 4L));
                                        }
                                    }
                                    zero(dst, dj + t1 * 4L, len - t1);
                                }
                                zero(dst, dr + cols * 4L, Sgemm.NR - cols);
                            }
                        }
                    }
                }
            }
        }

        /**
         * The patch rows of a 2-D stride-1 convolution whose output rows are as wide as the input's
         * (a 3x3 pad-1 convolution, say): output pixel o reads input pixel o + shift for kernel
         * offset (kh, kw), so a panel row is NR contiguous input floats, vector loads with the
         * lanes that fall in the padding (above, below, left or right of the image) blended to
         * zero. The lanes' validity depends only on the panel and (kh, kw), so it is worked out
         * once per panel and reused for every channel.
         */
        private void im2colShifted(MemorySegment x, long xOff, MemorySegment dst, int p0, int p1) {
            int kh = w.kernel[1];
            int kw = w.kernel[2];
            int width = w.in[2];
            int height = w.in[1];
            int plane = height * width;
            boolean[] valid = new boolean[kh * kw * Sgemm.NR];
            long size = x.byteSize();
            for (int p = p0; p < p1; p++) {
                int cols = Math.min(Sgemm.NR, n - p * Sgemm.NR);
                int o0 = p * Sgemm.NR;
                for (int a = 0; a < kh; a++) {
                    for (int b = 0; b < kw; b++) {
                        int base = (a * kw + b) * Sgemm.NR;
                        for (int j = 0; j < Sgemm.NR; j++) {
                            int o = o0 + j;
                            int ih = o / width + a * w.dilation[1] - w.padBegin[1];
                            int iw = o % width + b * w.dilation[2] - w.padBegin[2];
                            valid[base + j] = j < cols && ih >= 0 && ih < height && iw >= 0 && iw < width;
                        }
                    }
                }
                long d = (long) p * k * Sgemm.NR * 4L;
                int row = 0;
                for (int c = 0; c < cg; c++) {
                    long xc = xOff + (long) c * plane * 4L;
                    for (int a = 0; a < kh; a++) {
                        for (int b = 0; b < kw; b++, row++) {
                            int base = (a * kw + b) * Sgemm.NR;
                            long dr = d + (long) row * Sgemm.NR * 4L;
                            long src = xc + ((long) o0 + (long) (a * w.dilation[1] - w.padBegin[1]) * width
                                    + (b * w.dilation[2] - w.padBegin[2])) * 4L;
                            for (int j = 0; j < Sgemm.NR; j += LANES) {
                                long at = src + j * 4L;
                                if (at >= 0 && at + LANES * 4L <= size) {
                                    VectorMask<Float> live = VectorMask.fromArray(F, valid, base + j);
                                    FloatVector.fromMemorySegment(F, x, at, LE).blend(0f, live.not())
                                            .intoMemorySegment(dst, dr + j * 4L, LE);
                                } else {
                                    // Each read at a clamped address, then kept or zeroed: a read
                                    // guarded by the lane's validity had C2 hoist its range check
                                    // out of the loop, the check failed where the run passes the
                                    // tensor's ends, and the method was recompiled 84 times during
                                    // the kernel warm-up.
                                    for (int t = j; t < j + LANES; t++) {
                                        float v = x.get(Tensor.F32, Math.clamp(src + t * 4L, 0L, size - 4));
                                        dst.set(Tensor.F32, dr + t * 4L, valid[base + t] ? v : 0f);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        private static void zero(MemorySegment dst, long off, int count) {
            for (int i = 0; i < count; i++) {
                dst.set(Tensor.F32, off + i * 4L, 0f);
            }
        }
    }
}
