package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * ConvTranspose as GEMM + col2im: per image and group, cols = Wᵀ·X (W read in place through
 * transposed strides, X packed into the workspace), then every column is scattered back onto
 * the output window it came from, on top of the bias.
 */
final class ConvTransposeOp {
    private ConvTransposeOp() {}

    static Kernel create(NodeContext node) {
        TensorType tx = node.inputType(0);
        TensorType tw = node.inputType(1);
        if (tx.dtype() != DType.FLOAT32) {
            throw node.error("ConvTranspose supports float32, got " + tx.dtype());
        }
        if (tx.rank() < 3 || tw.rank() != tx.rank()) {
            throw node.error("X must be [N, C, spatial...] and W [C, M/group, kernel...], got " + tx + " and " + tw);
        }
        long[] xs = tx.shape();
        long[] ws = tw.shape();
        int group = (int) node.attrInt("group", 1);
        if (group < 1 || xs[1] % group != 0 || ws[0] != xs[1]) {
            throw node.error("group " + group + " does not fit X " + tx + " and W " + tw);
        }
        long m = ws[1] * group;
        long[] kernelShape = node.attrInts("kernel_shape", Arrays.copyOfRange(ws, 2, ws.length));
        Window w = Window.transposed(node, Arrays.copyOfRange(xs, 2, xs.length), kernelShape);
        TensorType out = new TensorType(tx.dtype(), w.outShape(xs[0], m));
        return new Impl(w, out, (int) xs[0], (int) xs[1], (int) m, group, node.hasInput(2));
    }

    static final class Impl implements Kernel {
        private final Window w;
        private final TensorType out;
        private final int batch;
        private final int cIn;
        private final int cOut;
        private final int group;
        private final boolean hasBias;
        private final int cg;
        private final int mg;
        private final int kk;
        private final int n;
        private final long[] zero = {0};

        Impl(Window w, TensorType out, int batch, int cIn, int cOut, int group, boolean hasBias) {
            this.w = w;
            this.out = out;
            this.batch = batch;
            this.cIn = cIn;
            this.cOut = cOut;
            this.group = group;
            this.hasBias = hasBias;
            this.cg = cIn / group;
            this.mg = cOut / group;
            this.kk = (int) w.kernelVolume();
            this.n = (int) w.inVolume();
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        private long packedBytes() {
            return Sgemm.packedBytes(cg, n);
        }

        @Override
        public long workspaceBytes() {
            return packedBytes() + (long) mg * kk * n * 4L;
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            MemorySegment x = in[0].data();
            MemorySegment wt = in[1].data();
            MemorySegment y = outs[0].data();
            long colOff = packedBytes();
            long outVol = w.outVolume();
            for (int c = 0; c < batch * cOut; c++) {
                float b = hasBias ? in[2].getFloat(c % cOut) : 0f;
                y.asSlice(c * outVol * 4L, outVol * 4L).fill((byte) 0);
                if (b != 0f) {
                    for (long i = 0; i < outVol; i++) {
                        y.setAtIndex(Tensor.F32, c * outVol + i, b);
                    }
                }
            }
            int rows = mg * kk;
            for (int bi = 0; bi < batch; bi++) {
                for (int g = 0; g < group; g++) {
                    long xOff = ((long) bi * cIn + (long) g * cg) * n * 4L;
                    Sgemm.packB(x, xOff, n * 4L, 4, cg, n, ws, 0, 0, Sgemm.panels(n));
                    Sgemm.Problem p = new Sgemm.Problem(1, rows, n, cg, wt, new long[] {(long) g * cg * rows * 4L}, 4,
                            rows * 4L, ws, zero, ws, new long[] {colOff}, n * 4L);
                    Sgemm.run(p, Sgemm.Epilogue.PLAIN, ctx);
                    col2im(ws, colOff, y, ((long) bi * cOut + (long) g * mg) * outVol);
                }
            }
        }

        /** Adds each column entry (channel, kernel offset, input pixel) onto its output pixel. */
        private void col2im(MemorySegment col, long colOff, MemorySegment y, long yFirst) {
            int outHW = w.out[1] * w.out[2];
            int row = 0;
            for (int oc = 0; oc < mg; oc++) {
                long yc = yFirst + (long) oc * w.outVolume();
                for (int kd = 0; kd < w.kernel[0]; kd++) {
                    for (int kh = 0; kh < w.kernel[1]; kh++) {
                        for (int kw = 0; kw < w.kernel[2]; kw++, row++) {
                            long cr = colOff + (long) row * n * 4L;
                            int i = 0;
                            for (int id = 0; id < w.in[0]; id++) {
                                int od = id * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                                for (int ih = 0; ih < w.in[1]; ih++) {
                                    int oh = ih * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                                    for (int iw = 0; iw < w.in[2]; iw++, i++) {
                                        int ow = iw * w.stride[2] - w.padBegin[2] + kw * w.dilation[2];
                                        if (od < 0 || od >= w.out[0] || oh < 0 || oh >= w.out[1] || ow < 0 || ow >= w.out[2]) {
                                            continue;
                                        }
                                        long at = yc + (long) od * outHW + (long) oh * w.out[2] + ow;
                                        y.setAtIndex(Tensor.F32, at, y.getAtIndex(Tensor.F32, at)
                                                + col.get(Tensor.F32, cr + i * 4L));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
