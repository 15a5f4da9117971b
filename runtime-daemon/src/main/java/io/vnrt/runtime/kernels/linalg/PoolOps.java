package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * MaxPool (with its optional Indices output), AveragePool, LpPool and the global pools. Windows share
 * {@link Window} with Conv; planes (image × channel) are split over the core group.
 */
final class PoolOps {
    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Lanes 0, 2, 4, ... of a vector followed by the next one (indexes past the first wrap into it). */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i);
    /** Planes per task should carry enough work to pay for a hand-off. */
    private static final long MIN_TASK_WORK = 50_000;
    /** Per-thread heap copies of one int8/uint8 plane and its pooled output. */
    private static final ThreadLocal<byte[][]> BYTE_PLANES = ThreadLocal.withInitial(() -> new byte[][] {new byte[0], new byte[0]});

    /** Makes this thread's planes (see {@link LinalgOps#prepareThread}). */
    static void prepareThread() {
        BYTE_PLANES.get();
    }

    private PoolOps() {}

    static Kernel maxPool(NodeContext node) {
        return create(node, true);
    }

    static Kernel averagePool(NodeContext node) {
        return create(node, false);
    }

    /** LpPool: (sum of |x|^p over the window)^(1/p), padding counting as zeros. */
    static Kernel lpPool(NodeContext node) {
        long p = node.attrInt("p", 2);
        if (p < 1) {
            throw node.error("p must be a positive integer, got " + p);
        }
        TensorType tx = node.inputType(0);
        if (!tx.dtype().isFloatingPoint() || tx.dtype().isSmallFloat()) {
            throw node.error("X must be float32, float16, bfloat16 or float64, got " + tx);
        }
        Window w = window(node, tx);
        long[] xs = tx.shape();
        return new PoolKernel(w, new TensorType(tx.dtype(), w.outShape(xs[0], xs[1])), false, false, 0, false,
                (int) (xs[0] * xs[1]), p);
    }

    private static Window window(NodeContext node, TensorType tx) {
        if (tx.rank() < 3) {
            throw node.error("X must be [N, C, spatial...], got " + tx);
        }
        long[] xs = tx.shape();
        long[] kernelShape = node.attrInts("kernel_shape", null);
        if (kernelShape == null) {
            throw node.error("attribute kernel_shape is required");
        }
        boolean ceil = node.attrInt("ceil_mode", 0) != 0;
        return Window.forward(node, Arrays.copyOfRange(xs, 2, xs.length), kernelShape, ceil);
    }

    /** The pooling kernel of either kind (tests reach the per-element path through it). */
    static Kernel averagePoolOrMax(NodeContext node, boolean max) {
        return create(node, max);
    }

    private static Kernel create(NodeContext node, boolean max) {
        TensorType tx = node.inputType(0);
        Window w = window(node, tx);
        long[] xs = tx.shape();
        TensorType out = new TensorType(tx.dtype(), w.outShape(xs[0], xs[1]));
        boolean indices = max && node.outputCount() > 1 && node.hasOutput(1);
        boolean includePad = node.attrInt("count_include_pad", 0) != 0;
        int storageOrder = (int) node.attrInt("storage_order", 0);
        return new PoolKernel(w, out, indices, includePad, storageOrder, max, (int) (xs[0] * xs[1]), 0);
    }

    static final class PoolKernel implements Kernel {
        private final Window w;
        private final TensorType out;
        private final boolean indices;
        private final boolean includePad;
        private final int storageOrder;
        private final boolean max;
        private final int planes;
        /** LpPool's p; 0 for MaxPool and AveragePool. */
        private final long lpOrder;

        PoolKernel(Window w, TensorType out, boolean indices, boolean includePad, int storageOrder, boolean max,
                   int planes, long p) {
            this.lpOrder = p;
            this.w = w;
            this.out = out;
            this.indices = indices;
            this.includePad = includePad;
            this.storageOrder = storageOrder;
            this.max = max;
            this.planes = planes;
        }

        @Override
        public TensorType[] outputTypes() {
            return indices
                    ? new TensorType[] {out, new TensorType(DType.INT64, out.shape())}
                    : new TensorType[] {out};
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            long work = planes * w.outVolume() * w.kernelVolume();
            int tasks = (int) Math.max(1, Math.min(Math.min(planes, ctx.parallelism() * 2L), work / MIN_TASK_WORK));
            Tensor x = in[0];
            Tensor y = outs[0];
            Tensor idx = indices ? outs[1] : null;
            ctx.parallelFor(tasks, t -> {
                for (int p = (int) ((long) t * planes / tasks); p < (long) (t + 1) * planes / tasks; p++) {
                    plane(x, y, idx, p);
                }
            });
        }

        private void plane(Tensor x, Tensor y, Tensor idx, int p) {
            if (x.dtype() == DType.FLOAT32 && idx == null && lpOrder == 0 && w.stride[2] == 1 && w.dilation[2] == 1
                    && w.out[2] >= S.length()) {
                planeRows(x, y, p);
                return;
            }
            if (x.dtype() == DType.FLOAT32 && idx == null && lpOrder == 0) {
                rowsPlane(x, y, p);
                return;
            }
            if ((x.dtype() == DType.UINT8 || x.dtype() == DType.INT8) && idx == null && lpOrder == 0 && max) {
                maxPlaneBytes(x, y, p, x.dtype() == DType.INT8);
                return;
            }
            for (int od = 0; od < w.out[0]; od++) {
                for (int oh = 0; oh < w.out[1]; oh++) {
                    for (int ow = 0; ow < w.out[2]; ow++) {
                        point(x, y, idx, p, od, oh, ow);
                    }
                }
            }
        }

        /**
         * Float32 planes with unit horizontal stride: one vector of adjacent outputs whose windows lie inside
         * the row take one vector load per kernel tap; only the border columns go one by one.
         */
        private void planeRows(Tensor x, Tensor y, int p) {
            MemorySegment xd = x.data();
            MemorySegment yd = y.data();
            long xBase = p * w.inVolume();
            int inW = w.in[2];
            long inHW = (long) w.in[1] * inW;
            int lanes = S.length();
            int lo = Math.min(w.padBegin[2], w.out[2]);
            int hi = Math.max(lo, Math.min(w.out[2], inW - w.kernel[2] + w.padBegin[2] + 1));
            for (int od = 0; od < w.out[0]; od++) {
                for (int oh = 0; oh < w.out[1]; oh++) {
                    long rowOut = p * w.outVolume() + ((long) od * w.out[1] + oh) * w.out[2];
                    int valid = 0;
                    int padded = 0;
                    for (int kd = 0; kd < w.kernel[0]; kd++) {
                        int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                        for (int kh = 0; kh < w.kernel[1]; kh++) {
                            int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                            if (id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1]) {
                                valid++;
                            }
                            if (id >= -w.padBegin[0] && id < w.in[0] + w.padEnd[0]
                                    && ih >= -w.padBegin[1] && ih < w.in[1] + w.padEnd[1]) {
                                padded++;
                            }
                        }
                    }
                    float inv = 1f / ((includePad ? padded : valid) * w.kernel[2]);
                    int ow = lo;
                    for (; ow + lanes <= hi; ow += lanes) {
                        FloatVector acc = FloatVector.broadcast(S, max ? Float.NEGATIVE_INFINITY : 0f);
                        for (int kd = 0; kd < w.kernel[0]; kd++) {
                            int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                            if (id < 0 || id >= w.in[0]) {
                                continue;
                            }
                            for (int kh = 0; kh < w.kernel[1]; kh++) {
                                int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                                if (ih < 0 || ih >= w.in[1]) {
                                    continue;
                                }
                                long at = (xBase + id * inHW + (long) ih * inW + ow - w.padBegin[2]) * 4L;
                                for (int kw = 0; kw < w.kernel[2]; kw++) {
                                    FloatVector v = FloatVector.fromMemorySegment(S, xd, at + kw * 4L, LE);
                                    acc = max ? acc.max(v) : acc.add(v);
                                }
                            }
                        }
                        if (!max) {
                            acc = valid == 0 ? acc.broadcast(0f) : acc.mul(inv);
                        }
                        acc.intoMemorySegment(yd, (rowOut + ow) * 4L, LE);
                    }
                    for (int c = 0; c < lo; c++) {
                        point(x, y, null, p, od, oh, c);
                    }
                    for (int c = ow; c < w.out[2]; c++) {
                        point(x, y, null, p, od, oh, c);
                    }
                }
            }
        }

        /**
         * MaxPool or AveragePool of a float32 plane with any strides and dilations, one output row at a
         * time: the kernel rows are first reduced into a row buffer covering the padded input row
         * (-inf or 0 in the pads), then the kernel columns at unit stride into a second buffer, whose
         * every stride-th element is an output. Both passes are unit-stride vector loops, so the strided
         * case costs about stride times the unit-stride passes instead of a scalar loop per window tap.
         * Max is exact, with Math.max's rules (NaN wins, -0 < +0) as in {@link #planeRows}; the average
         * sums in float and divides by the window's count as {@link #point} counts it.
         */
        private void rowsPlane(Tensor x, Tensor y, int p) {
            MemorySegment xd = x.data();
            MemorySegment yd = y.data();
            long xBase = p * w.inVolume();
            int inW = w.in[2];
            long inHW = (long) w.in[1] * inW;
            int outW = w.out[2];
            int sw = w.stride[2];
            int dw = w.dilation[2];
            int kW = w.kernel[2];
            int pb = w.padBegin[2];
            int lanes = S.length();
            if (outW <= 0) {
                return;
            }
            // Horizontal positions whose column window an output needs, and the padded input they read.
            int hLen = (outW - 1) * sw + 1;
            int len = hLen + (kW - 1) * dw;
            // Two vectors beyond the row, for stride 2's second load and its last, partial vector.
            float[] rows = new float[len + 2 * lanes];
            float[] cols = new float[hLen];
            float fill = max ? Float.NEGATIVE_INFINITY : 0f;
            Arrays.fill(rows, fill);
            int[] strideMap = new int[lanes];
            for (int l = 0; l < lanes; l++) {
                strideMap[l] = l * sw;
            }
            // The input columns inside the buffer: buffer index j holds input column j - pb.
            int copyEnd = Math.max(0, Math.min(inW, len - pb));
            // Per output column, how many of its taps fall inside the input (or the padded input).
            int[] colCount = null;
            if (!max) {
                colCount = new int[outW];
                for (int ow = 0; ow < outW; ow++) {
                    for (int kw = 0; kw < kW; kw++) {
                        int iw = ow * sw - pb + kw * dw;
                        boolean in = includePad ? iw >= -pb && iw < inW + w.padEnd[2] : iw >= 0 && iw < inW;
                        if (in) {
                            colCount[ow]++;
                        }
                    }
                }
            }
            long o = p * w.outVolume();
            for (int od = 0; od < w.out[0]; od++) {
                for (int oh = 0; oh < w.out[1]; oh++, o += outW) {
                    int rowCount = 0;
                    boolean first = true;
                    for (int kd = 0; kd < w.kernel[0]; kd++) {
                        int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                        boolean dIn = id >= 0 && id < w.in[0];
                        boolean dPad = id >= -w.padBegin[0] && id < w.in[0] + w.padEnd[0];
                        for (int kh = 0; kh < w.kernel[1]; kh++) {
                            int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                            boolean hIn = ih >= 0 && ih < w.in[1];
                            if (includePad ? dPad && ih >= -w.padBegin[1] && ih < w.in[1] + w.padEnd[1]
                                    : dIn && hIn) {
                                rowCount++;
                            }
                            if (!dIn || !hIn) {
                                continue;
                            }
                            long at = (xBase + id * inHW + (long) ih * inW) * 4L;
                            int i = 0;
                            if (first) {
                                // The first row in the window is copied; the pads outside stay as filled.
                                first = false;
                                for (; i + lanes <= copyEnd; i += lanes) {
                                    FloatVector.fromMemorySegment(S, xd, at + i * 4L, LE).intoArray(rows, pb + i);
                                }
                                for (; i < copyEnd; i++) {
                                    rows[pb + i] = xd.get(Tensor.F32, at + i * 4L);
                                }
                                continue;
                            }
                            for (; i + lanes <= copyEnd; i += lanes) {
                                FloatVector v = FloatVector.fromMemorySegment(S, xd, at + i * 4L, LE);
                                FloatVector acc = FloatVector.fromArray(S, rows, pb + i);
                                (max ? acc.max(v) : acc.add(v)).intoArray(rows, pb + i);
                            }
                            for (; i < copyEnd; i++) {
                                float v = xd.get(Tensor.F32, at + i * 4L);
                                rows[pb + i] = max ? Math.max(rows[pb + i], v) : rows[pb + i] + v;
                            }
                        }
                    }
                    if (first) {
                        Arrays.fill(rows, pb, pb + copyEnd, fill);
                    }
                    if (max && sw == 2) {
                        // Stride 2: the even elements of two adjacent vectors, per kernel column; the last
                        // vector reads the fill past the row and stores only the outputs left.
                        for (int ow = 0; ow < outW; ow += lanes) {
                            int at = ow * 2;
                            FloatVector acc = FloatVector.fromArray(S, rows, at)
                                    .rearrange(EVEN, FloatVector.fromArray(S, rows, at + lanes));
                            for (int kw = 1; kw < kW; kw++) {
                                int a = at + kw * dw;
                                acc = acc.max(FloatVector.fromArray(S, rows, a)
                                        .rearrange(EVEN, FloatVector.fromArray(S, rows, a + lanes)));
                            }
                            if (ow + lanes <= outW) {
                                acc.intoMemorySegment(yd, (o + ow) * 4L, LE);
                            } else {
                                acc.intoMemorySegment(yd, (o + ow) * 4L, LE, S.indexInRange(ow, outW));
                            }
                        }
                        continue;
                    }
                    if (max && sw > 1) {
                        // Stride s: each output vector gathers every s-th buffer element per kernel column.
                        int ow = 0;
                        for (; ow + lanes <= outW; ow += lanes) {
                            FloatVector acc = FloatVector.fromArray(S, rows, ow * sw, strideMap, 0);
                            for (int kw = 1; kw < kW; kw++) {
                                acc = acc.max(FloatVector.fromArray(S, rows, ow * sw + kw * dw, strideMap, 0));
                            }
                            acc.intoMemorySegment(yd, (o + ow) * 4L, LE);
                        }
                        for (; ow < outW; ow++) {
                            float acc = rows[ow * sw];
                            for (int kw = 1; kw < kW; kw++) {
                                acc = Math.max(acc, rows[ow * sw + kw * dw]);
                            }
                            yd.setAtIndex(Tensor.F32, o + ow, acc);
                        }
                        continue;
                    }
                    int j = 0;
                    for (; j + lanes <= hLen; j += lanes) {
                        FloatVector acc = FloatVector.fromArray(S, rows, j);
                        for (int kw = 1; kw < kW; kw++) {
                            FloatVector v = FloatVector.fromArray(S, rows, j + kw * dw);
                            acc = max ? acc.max(v) : acc.add(v);
                        }
                        acc.intoArray(cols, j);
                    }
                    for (; j < hLen; j++) {
                        float acc = rows[j];
                        for (int kw = 1; kw < kW; kw++) {
                            float v = rows[j + kw * dw];
                            acc = max ? Math.max(acc, v) : acc + v;
                        }
                        cols[j] = acc;
                    }
                    if (max) {
                        for (int ow = 0; ow < outW; ow++) {
                            yd.setAtIndex(Tensor.F32, o + ow, cols[ow * sw]);
                        }
                    } else {
                        for (int ow = 0; ow < outW; ow++) {
                            int div = rowCount * colCount[ow];
                            yd.setAtIndex(Tensor.F32, o + ow, div == 0 ? 0f : cols[ow * sw] / div);
                        }
                    }
                }
            }
        }

        /**
         * MaxPool of an int8 or uint8 plane (the quantized MaxPool the QDQ fusion leaves): the
         * window's largest integer; a window with no element inside the input goes to {@link #point}.
         */
        private void maxPlaneBytes(Tensor x, Tensor y, int p, boolean signed) {
            int inVol = (int) w.inVolume();
            int outVol = (int) w.outVolume();
            byte[][] sc = BYTE_PLANES.get();
            if (sc[0].length < inVol || sc[1].length < outVol) {
                sc[0] = new byte[Math.max(inVol, sc[0].length)];
                sc[1] = new byte[Math.max(outVol, sc[1].length)];
            }
            byte[] img = sc[0];
            byte[] res = sc[1];
            MemorySegment.copy(x.data(), ValueLayout.JAVA_BYTE, (long) p * inVol, img, 0, inVol);
            int inW = w.in[2];
            int inHW = w.in[1] * inW;
            int mask = signed ? -1 : 0xFF;
            if (w.kernel[0] == 1 && w.out[0] == 1 && w.in[0] == 1 && inside()) {
                // every window inside the plane: no bounds tests
                int kH = w.kernel[1];
                int kW = w.kernel[2];
                int dH = w.dilation[1] * inW;
                int dW = w.dilation[2];
                int sH = w.stride[1] * inW;
                int sW = w.stride[2];
                int outW = w.out[2];
                int o = 0;
                for (int oh = 0, base = 0; oh < w.out[1]; oh++, base += sH) {
                    for (int ow = 0, origin = base; ow < outW; ow++, o++, origin += sW) {
                        int best = Integer.MIN_VALUE;
                        for (int kh = 0, r = origin; kh < kH; kh++, r += dH) {
                            for (int kw = 0, i = r; kw < kW; kw++, i += dW) {
                                best = Math.max(best, img[i] & mask);
                            }
                        }
                        res[o] = (byte) best;
                    }
                }
                MemorySegment.copy(res, 0, y.data(), ValueLayout.JAVA_BYTE, (long) p * outVol, outVol);
                return;
            }
            int o = 0;
            boolean empty = false;
            for (int od = 0; od < w.out[0]; od++) {
                for (int oh = 0; oh < w.out[1]; oh++) {
                    for (int ow = 0; ow < w.out[2]; ow++, o++) {
                        int best = Integer.MIN_VALUE;
                        for (int kd = 0; kd < w.kernel[0]; kd++) {
                            int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                            if (id < 0 || id >= w.in[0]) {
                                continue;
                            }
                            for (int kh = 0; kh < w.kernel[1]; kh++) {
                                int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                                if (ih < 0 || ih >= w.in[1]) {
                                    continue;
                                }
                                int row = id * inHW + ih * inW;
                                for (int kw = 0; kw < w.kernel[2]; kw++) {
                                    int iw = ow * w.stride[2] - w.padBegin[2] + kw * w.dilation[2];
                                    if (iw >= 0 && iw < inW) {
                                        best = Math.max(best, img[row + iw] & mask);
                                    }
                                }
                            }
                        }
                        empty |= best == Integer.MIN_VALUE;
                        res[o] = (byte) best;
                    }
                }
            }
            MemorySegment.copy(res, 0, y.data(), ValueLayout.JAVA_BYTE, (long) p * outVol, outVol);
            if (empty) {
                // windows wholly in the padding: MaxPool's own definition, one by one
                o = 0;
                for (int od = 0; od < w.out[0]; od++) {
                    for (int oh = 0; oh < w.out[1]; oh++) {
                        for (int ow = 0; ow < w.out[2]; ow++, o++) {
                            if (windowEmpty(od, oh, ow)) {
                                point(x, y, null, p, od, oh, ow);
                            }
                        }
                    }
                }
            }
        }

        /** Whether every window lies inside the input (no padding reached). */
        private boolean inside() {
            for (int d = 0; d < 3; d++) {
                if (w.padBegin[d] != 0 || (long) (w.out[d] - 1) * w.stride[d] + (long) (w.kernel[d] - 1) * w.dilation[d] >= w.in[d]) {
                    return false;
                }
            }
            return true;
        }

        private boolean windowEmpty(int od, int oh, int ow) {
            int[] o = {od, oh, ow};
            for (int d = 0; d < 3; d++) {
                boolean any = false;
                for (int k = 0; k < w.kernel[d] && !any; k++) {
                    int i = o[d] * w.stride[d] - w.padBegin[d] + k * w.dilation[d];
                    any = i >= 0 && i < w.in[d];
                }
                if (!any) {
                    return true;
                }
            }
            return false;
        }

        /** One output element, the plain way (reference, Indices and border path). */
        void point(Tensor x, Tensor y, Tensor idx, int p, int od, int oh, int ow) {
            boolean f32 = x.dtype() == DType.FLOAT32;
            MemorySegment xd = x.data();
            long xBase = p * w.inVolume();
            int inHW = w.in[1] * w.in[2];
            long o = p * w.outVolume() + ((long) od * w.out[1] + oh) * w.out[2] + ow;
            double best = Double.NEGATIVE_INFINITY;
            long bestAt = -1;
            double sum = 0;
            int count = 0;
            int padded = 0;
            for (int kd = 0; kd < w.kernel[0]; kd++) {
                int id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
                boolean dIn = id >= 0 && id < w.in[0];
                boolean dPad = id >= -w.padBegin[0] && id < w.in[0] + w.padEnd[0];
                for (int kh = 0; kh < w.kernel[1]; kh++) {
                    int ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
                    boolean hIn = ih >= 0 && ih < w.in[1];
                    boolean hPad = ih >= -w.padBegin[1] && ih < w.in[1] + w.padEnd[1];
                    for (int kw = 0; kw < w.kernel[2]; kw++) {
                        int iw = ow * w.stride[2] - w.padBegin[2] + kw * w.dilation[2];
                        boolean wIn = iw >= 0 && iw < w.in[2];
                        boolean wPad = iw >= -w.padBegin[2] && iw < w.in[2] + w.padEnd[2];
                        if (dPad && hPad && wPad) {
                            padded++;
                        }
                        if (!(dIn && hIn && wIn)) {
                            continue;
                        }
                        long at = (long) id * inHW + (long) ih * w.in[2] + iw;
                        double v = f32 ? xd.getAtIndex(Tensor.F32, xBase + at) : x.getDouble(xBase + at);
                        if (lpOrder > 0) {
                            double a = Math.abs(v);
                            sum += lpOrder == 1 ? a : lpOrder == 2 ? a * a : Math.pow(a, lpOrder);
                        } else if (max) {
                            if (v > best || bestAt < 0) {
                                best = v;
                                bestAt = storageOrder == 0 ? at : ((long) iw * w.in[1] + ih) * w.in[0] + id;
                            }
                        } else {
                            sum += v;
                            count++;
                        }
                    }
                }
            }
            if (lpOrder > 0) {
                y.setDouble(o, lpOrder == 1 ? sum : lpOrder == 2 ? Math.sqrt(sum) : Math.pow(sum, 1.0 / lpOrder));
            } else if (max) {
                y.setDouble(o, best);
                if (idx != null) {
                    idx.setLong(o, xBase + Math.max(bestAt, 0));
                }
            } else {
                int div = includePad ? padded : count;
                y.setDouble(o, div == 0 ? 0 : sum / div);
            }
        }
    }

    static Kernel globalAverage(NodeContext node) {
        return global(node, false);
    }

    static Kernel globalMax(NodeContext node) {
        return global(node, true);
    }

    private static Kernel global(NodeContext node, boolean max) {
        TensorType tx = node.inputType(0);
        if (tx.rank() < 2) {
            throw node.error("X must be [N, C, spatial...], got " + tx);
        }
        long[] os = tx.shape();
        long size = 1;
        for (int i = 2; i < os.length; i++) {
            size *= os[i];
            os[i] = 1;
        }
        TensorType out = new TensorType(tx.dtype(), os);
        long planes = os[0] * os[1];
        long plane = size;
        return new Kernel() {
            @Override
            public TensorType[] outputTypes() {
                return new TensorType[] {out};
            }

            @Override
            public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
                Tensor x = in[0];
                Tensor y = outs[0];
                int tasks = (int) Math.max(1, Math.min(Math.min(planes, ctx.parallelism() * 2L),
                        planes * plane / MIN_TASK_WORK));
                ctx.parallelFor(tasks, t -> {
                    for (long p = t * planes / tasks; p < (t + 1) * planes / tasks; p++) {
                        y.setDouble(p, x.dtype() == DType.FLOAT32 ? reduceFloat(x.data(), p * plane, plane, max)
                                : reduceGeneric(x, p * plane, plane, max));
                    }
                });
            }
        };
    }

    /** Sum / plane or max over n floats starting at element first, vectorised. */
    static double reduceFloat(MemorySegment x, long first, long n, boolean max) {
        long off = first * 4L;
        long i = 0;
        long upper = n - n % S.length();
        if (max) {
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < upper; i += S.length()) {
                acc = acc.max(FloatVector.fromMemorySegment(S, x, off + i * 4L, LE));
            }
            float m = acc.reduceLanes(VectorOperators.MAX);
            for (; i < n; i++) {
                m = Math.max(m, x.get(Tensor.F32, off + i * 4L));
            }
            return m;
        }
        FloatVector acc = FloatVector.zero(S);
        for (; i < upper; i += S.length()) {
            acc = acc.add(FloatVector.fromMemorySegment(S, x, off + i * 4L, LE));
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += x.get(Tensor.F32, off + i * 4L);
        }
        return s / n;
    }

    static double reduceGeneric(Tensor x, long first, long n, boolean max) {
        double acc = max ? Double.NEGATIVE_INFINITY : 0;
        for (long i = 0; i < n; i++) {
            double v = x.getDouble(first + i);
            acc = max ? Math.max(acc, v) : acc + v;
        }
        return max ? acc : acc / n;
    }
}
