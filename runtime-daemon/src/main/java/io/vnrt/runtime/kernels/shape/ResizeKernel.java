package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Resize (opsets 10 to 19). Every axis gets a compiled table mapping each output index to input
 * taps and weights, following the ONNX reference: the coordinate transformation, then the
 * nearest / linear / cubic coefficients (antialiased filters when downsampling), edge clamping or
 * exclude_outside, tf_crop_and_resize extrapolation. Nearest is an exact byte gather for every
 * dtype; linear and cubic run as one separable pass per resized axis in float32 through the
 * workspace, vectorised along the inner axes.
 */
final class ResizeKernel implements Kernel {
    private static final VectorSpecies<Float> SPECIES = VectorShape.FLOAT;

    /** Taps of one axis: output i reads in[idx[i*n + t]] with weight w[i*n + t], or extrapolates. */
    record Axis(int axis, long inLen, long outLen, int n, long[] idx, float[] w, boolean[] extrapolate) {
        boolean identity() {
            if (inLen != outLen) {
                return false;
            }
            for (int i = 0; i < outLen; i++) {
                if (extrapolate[i]) {
                    return false;
                }
                float on = 0;
                for (int t = 0; t < n; t++) {
                    if (idx[i * n + t] == i) {
                        on += w[i * n + t];
                    } else if (w[i * n + t] != 0) {
                        return false;
                    }
                }
                if (on != 1f) {
                    return false;
                }
            }
            return true;
        }
    }

    private final TensorType in;
    private final TensorType out;
    private final boolean nearest;
    private final Axis[] passes;
    private final long[][] nearestMap;
    private final float extrapolation;
    /** The extrapolation value as raw bits of the tensor's dtype, for the byte-level nearest path. */
    private final long extrapolationBits;
    private final long workspaceBytes;
    private final long bufferBytes;

    private ResizeKernel(TensorType in, TensorType out, boolean nearest, Axis[] passes, long[][] nearestMap,
            float extrapolation) {
        this.in = in;
        this.out = out;
        this.nearest = nearest;
        this.passes = passes;
        this.nearestMap = nearestMap;
        this.extrapolation = extrapolation;
        Tensor ev = Tensor.allocate(in.dtype());
        ev.setDouble(0, extrapolation);
        this.extrapolationBits = StridedCopy.bitsOf(ev.data(), 0, in.dtype().byteSize());
        long max = in.elementCount();
        long[] shape = in.shape();
        for (Axis a : passes) {
            shape[a.axis] = a.outLen;
            max = Math.max(max, io.vnrt.runtime.kernels.Shapes.elementCount(shape));
        }
        this.bufferBytes = nearest ? 0 : max * 4;
        this.workspaceBytes = 2 * bufferBytes;
    }

    static Kernel create(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        int rank = s.length;
        int opset = n.opset();
        String mode = n.attrString("mode", "nearest");
        if (!mode.equals("nearest") && !mode.equals("linear") && !mode.equals("cubic")) {
            throw n.error("unknown mode '" + mode + "' (expected nearest, linear or cubic)");
        }
        String ctm = opset >= 11 ? n.attrString("coordinate_transformation_mode", "half_pixel") : "asymmetric";
        String nearestMode = opset >= 11 ? n.attrString("nearest_mode", "round_prefer_floor") : "simple";
        float cubicA = n.attrFloat("cubic_coeff_a", -0.75f);
        boolean excludeOutside = n.attrInt("exclude_outside", 0) != 0;
        float extrapolation = n.attrFloat("extrapolation_value", 0f);
        boolean antialias = opset >= 18 && n.attrInt("antialias", 0) != 0;
        String policy = opset >= 18 ? n.attrString("keep_aspect_ratio_policy", "stretch") : "stretch";
        long[] axes = null;
        if (opset >= 18 && n.hasAttribute("axes")) {
            axes = n.attrInts("axes", null);
        }
        int[] ax = new int[axes == null ? rank : axes.length];
        for (int i = 0; i < ax.length; i++) {
            ax[i] = axes == null ? i : LayoutOps.axis(n, axes[i], rank);
        }
        int scalesIn = opset >= 11 ? 2 : 1;
        Tensor scalesT = present(n, scalesIn) ? n.requireConstant(scalesIn) : null;
        Tensor sizesT = opset >= 11 && present(n, 3) ? n.requireConstant(3) : null;
        if ((scalesT == null) == (sizesT == null)) {
            throw n.error("exactly one of scales and sizes must be given");
        }
        double[] scale = new double[rank];
        long[] o = s.clone();
        Arrays.fill(scale, 1.0);
        if (scalesT != null) {
            if (scalesT.elementCount() != ax.length) {
                throw n.error("scales has " + scalesT.elementCount() + " values for " + ax.length + " axes");
            }
            for (int i = 0; i < ax.length; i++) {
                scale[ax[i]] = scalesT.getDouble(i);
                if (!(scale[ax[i]] > 0)) {
                    throw n.error("scales must be positive, got " + scale[ax[i]]);
                }
                o[ax[i]] = (long) Math.floor(scale[ax[i]] * s[ax[i]]);
            }
        } else {
            long[] sizes = sizesT.toLongArray();
            if (sizes.length != ax.length) {
                throw n.error("sizes has " + sizes.length + " values for " + ax.length + " axes");
            }
            for (int i = 0; i < ax.length; i++) {
                o[ax[i]] = sizes[i];
                scale[ax[i]] = (double) sizes[i] / s[ax[i]];
            }
            if (!policy.equals("stretch")) {
                double common = policy.equals("not_larger") ? Double.MAX_VALUE : 0;
                for (int a : ax) {
                    common = policy.equals("not_larger") ? Math.min(common, scale[a]) : Math.max(common, scale[a]);
                }
                if (!policy.equals("not_larger") && !policy.equals("not_smaller")) {
                    throw n.error("unknown keep_aspect_ratio_policy '" + policy + "'");
                }
                for (int a : ax) {
                    scale[a] = common;
                    o[a] = (long) (common * s[a] + 0.5);
                }
            }
        }
        double[] roiStart = new double[rank];
        double[] roiEnd = new double[rank];
        Arrays.fill(roiEnd, 1.0);
        if (ctm.equals("tf_crop_and_resize")) {
            if (!present(n, 1)) {
                throw n.error("tf_crop_and_resize needs roi");
            }
            Tensor roi = n.requireConstant(1);
            if (roi.elementCount() != 2L * ax.length) {
                throw n.error("roi has " + roi.elementCount() + " values for " + ax.length + " axes");
            }
            for (int i = 0; i < ax.length; i++) {
                roiStart[ax[i]] = roi.getDouble(i);
                roiEnd[ax[i]] = roi.getDouble(ax.length + i);
            }
        }
        TensorType outType = new TensorType(in.dtype(), o);
        // A width of exactly the integer output size when sizes were given; scale * in otherwise
        // (the reference's float output width, which align_corners and friends divide by).
        boolean fromSizes = sizesT != null && policy.equals("stretch");
        boolean isNearest = mode.equals("nearest");
        if (isNearest) {
            long[][] maps = new long[rank][];
            for (int d = 0; d < rank; d++) {
                double width = fromSizes ? o[d] : scale[d] * s[d];
                maps[d] = new long[(int) o[d]];
                for (int i = 0; i < o[d]; i++) {
                    double x = original(ctm, i, scale[d], width, o[d], s[d], roiStart[d], roiEnd[d]);
                    maps[d][i] = Double.isNaN(x) ? -1 : nearestIndex(x, nearestMode, s[d], scale[d] < 1);
                }
            }
            return new ResizeKernel(in, outType, true, new Axis[0], maps, extrapolation);
        }
        if (!in.dtype().isFloatingPoint() && in.dtype() != DType.INT32 && in.dtype() != DType.UINT8
                && in.dtype() != DType.INT8) {
            throw n.error(mode + " resize of " + in.dtype().displayName() + " is not supported");
        }
        List<Axis> passes = new ArrayList<>();
        for (int d = 0; d < rank; d++) {
            double width = fromSizes ? o[d] : scale[d] * s[d];
            Axis a = taps(d, s[d], o[d], scale[d], width, ctm, roiStart[d], roiEnd[d], mode, antialias, cubicA,
                    excludeOutside);
            if (!a.identity()) {
                passes.add(a);
            }
        }
        return new ResizeKernel(in, outType, false, passes.toArray(new Axis[0]), null, extrapolation);
    }

    private static boolean present(NodeContext n, int i) {
        return n.hasInput(i) && n.inputType(i).elementCount() > 0;
    }

    /** The input coordinate of output index x, or NaN when tf_crop_and_resize extrapolates. */
    static double original(String ctm, long x, double scale, double width, long outInt, long inLen,
            double roiStart, double roiEnd) {
        return switch (ctm) {
            case "align_corners" -> width == 1 ? 0.0 : x * (inLen - 1) / (width - 1);
            case "asymmetric" -> x / scale;
            case "pytorch_half_pixel" -> width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
            case "half_pixel" -> (x + 0.5) / scale - 0.5;
            case "half_pixel_symmetric" -> {
                double adjustment = outInt / width;
                double offset = inLen / 2.0 * (1 - adjustment);
                yield offset + (x + 0.5) / scale - 0.5;
            }
            case "tf_crop_and_resize" -> {
                double v = width == 1
                        ? (roiEnd - roiStart) * (inLen - 1) / 2
                        : x * (roiEnd - roiStart) * (inLen - 1) / (width - 1);
                v += roiStart * (inLen - 1);
                yield v < 0 || v > inLen - 1 ? Double.NaN : v;
            }
            default -> throw new IllegalArgumentException("unknown coordinate_transformation_mode '" + ctm + "'");
        };
    }

    static long nearestIndex(double x, String mode, long inLen, boolean downsample) {
        long f = (long) Math.floor(x);
        double ratio = x - f;
        long r;
        if (ratio == 0) {
            r = f;
        } else {
            r = switch (mode) {
                case "round_prefer_floor" -> ratio <= 0.5 ? f : f + 1;
                case "round_prefer_ceil" -> ratio < 0.5 ? f : f + 1;
                case "floor" -> f;
                case "ceil" -> f + 1;
                // Opset 10 had no nearest_mode: ceil when downsampling, truncation otherwise.
                case "simple" -> downsample ? f + 1 : (long) x;
                default -> throw new IllegalArgumentException("unknown nearest_mode '" + mode + "'");
            };
        }
        return Math.clamp(r, 0, inLen - 1);
    }

    static Axis taps(int d, long inLen, long outLen, double scale, double width, String ctm, double roiStart,
            double roiEnd, String mode, boolean antialias, float cubicA, boolean excludeOutside) {
        double s = Math.min(scale, 1.0);
        int n;
        int start;
        if (mode.equals("linear")) {
            start = antialias ? (int) Math.floor(-1 / s) + 1 : 0;
        } else {
            start = antialias ? (int) Math.floor(-2 / s) + 1 : -1;
        }
        n = 2 - 2 * start;
        long[] idx = new long[(int) outLen * n];
        float[] w = new float[(int) outLen * n];
        boolean[] extra = new boolean[(int) outLen];
        double[] c = new double[n];
        for (int i = 0; i < outLen; i++) {
            double x = original(ctm, i, scale, width, outLen, inLen, roiStart, roiEnd);
            if (Double.isNaN(x)) {
                extra[i] = true;
                continue;
            }
            long xi = (long) Math.floor(x);
            double ratio = x - xi;
            if (ratio == 0) {
                // The reference prefers the left neighbour: an integer coordinate is ratio 1 from x - 1.
                xi -= 1;
                ratio = 1;
            }
            double sum = 0;
            for (int t = 0; t < n; t++) {
                double arg = (start + t) - ratio;
                if (mode.equals("linear")) {
                    c[t] = antialias ? Math.clamp(1 - Math.abs(arg * s), 0, 1) : (t == 0 ? 1 - ratio : ratio);
                } else {
                    c[t] = cubic(antialias ? arg * s : arg, cubicA);
                }
                sum += c[t];
            }
            if (antialias) {
                for (int t = 0; t < n; t++) {
                    c[t] /= sum;
                }
            }
            long first = xi + start;
            if (excludeOutside) {
                sum = 0;
                for (int t = 0; t < n; t++) {
                    long j = first + t;
                    if (j < 0 || j >= inLen) {
                        c[t] = 0;
                    }
                    sum += c[t];
                }
                for (int t = 0; t < n; t++) {
                    c[t] /= sum;
                }
            }
            for (int t = 0; t < n; t++) {
                idx[i * n + t] = Math.clamp(first + t, 0, inLen - 1);
                w[i * n + t] = (float) c[t];
            }
        }
        return new Axis(d, inLen, outLen, n, idx, w, extra);
    }

    /** The cubic convolution kernel with parameter a at distance x. */
    static double cubic(double x, double a) {
        x = Math.abs(x);
        if (x <= 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        }
        return 0;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public long workspaceBytes() {
        return workspaceBytes;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        if (nearest) {
            runNearest(inputs[0], outputs[0], ctx);
            return;
        }
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        boolean f32 = in.dtype() == DType.FLOAT32;
        MemorySegment ws = ctx.workspace();
        MemorySegment a = ws == null ? null : ws.asSlice(0, bufferBytes);
        MemorySegment b = ws == null ? null : ws.asSlice(bufferBytes, bufferBytes);
        MemorySegment src;
        if (f32) {
            src = x.data();
        } else {
            for (long i = 0; i < x.elementCount(); i++) {
                a.setAtIndex(Tensor.F32, i, (float) x.getDouble(i));
            }
            src = a;
        }
        long[] shape = in.shape();
        for (int p = 0; p < passes.length; p++) {
            Axis axis = passes[p];
            MemorySegment dst;
            if (p == passes.length - 1 && f32) {
                dst = y.data();
            } else {
                dst = src == a ? b : a;
            }
            long outer = 1;
            for (int d = 0; d < axis.axis; d++) {
                outer *= shape[d];
            }
            long inner = 1;
            for (int d = axis.axis + 1; d < shape.length; d++) {
                inner *= shape[d];
            }
            pass(axis, src, dst, outer, inner, ctx);
            shape[axis.axis] = axis.outLen;
            src = dst;
        }
        if (src == x.data() || (src != y.data() && f32)) {
            MemorySegment.copy(src, 0, y.data(), 0, y.byteSize());
        } else if (!f32) {
            for (long i = 0; i < y.elementCount(); i++) {
                y.setDouble(i, src.getAtIndex(Tensor.F32, i));
            }
        }
    }

    private void pass(Axis a, MemorySegment src, MemorySegment dst, long outer, long inner, ExecContext ctx) {
        long units = outer * a.outLen;
        int tasks = StridedCopy.tasksFor(units * inner * a.n, units, ctx);
        ExecContext.TaskBody body = task -> {
            long from = units * task / tasks;
            long to = units * (task + 1) / tasks;
            int n = a.n;
            int vl = SPECIES.length();
            for (long u = from; u < to; u++) {
                long o = u / a.outLen;
                int j = (int) (u - o * a.outLen);
                long dOff = u * inner * 4;
                if (a.extrapolate[j]) {
                    StridedCopy.fill(dst, dOff, inner, 4, Float.floatToRawIntBits(extrapolation) & 0xFFFFFFFFL);
                    continue;
                }
                long sBase = o * a.inLen * inner * 4;
                long v = 0;
                for (; v + vl <= inner; v += vl) {
                    FloatVector acc = FloatVector.zero(SPECIES);
                    for (int t = 0; t < n; t++) {
                        float wt = a.w[j * n + t];
                        if (wt != 0) {
                            long off = sBase + (a.idx[j * n + t] * inner + v) * 4;
                            acc = FloatVector.fromMemorySegment(SPECIES, src, off, java.nio.ByteOrder.LITTLE_ENDIAN)
                                    .fma(FloatVector.broadcast(SPECIES, wt), acc);
                        }
                    }
                    acc.intoMemorySegment(dst, dOff + v * 4, java.nio.ByteOrder.LITTLE_ENDIAN);
                }
                for (; v < inner; v++) {
                    float acc = 0;
                    for (int t = 0; t < n; t++) {
                        float wt = a.w[j * n + t];
                        if (wt != 0) {
                            acc += wt * src.get(Tensor.F32, sBase + (a.idx[j * n + t] * inner + v) * 4);
                        }
                    }
                    dst.set(Tensor.F32, dOff + v * 4, acc);
                }
            }
        };
        if (tasks == 1) {
            body.run(0);
        } else {
            ctx.parallelFor(tasks, body);
        }
    }

    private void runNearest(Tensor x, Tensor y, ExecContext ctx) {
        int es = in.dtype().byteSize();
        long[] os = out.shape();
        int rank = os.length;
        if (y.elementCount() == 0) {
            return;
        }
        if (rank == 0) {
            MemorySegment.copy(x.data(), 0, y.data(), 0, es);
            return;
        }
        long rows = y.elementCount() / os[rank - 1];
        int tasks = StridedCopy.tasksFor(y.elementCount(), rows, ctx);
        if (tasks == 1) {
            nearestRows(x.data(), y.data(), 0, rows);
        } else {
            ctx.parallelFor(tasks, t -> nearestRows(x.data(), y.data(), rows * t / tasks, rows * (t + 1) / tasks));
        }
    }

    /** Output rows [from, to) of nearest resizing; a row that reads the same input row as the one before is copied. */
    private void nearestRows(MemorySegment src, MemorySegment dst, long from, long to) {
        int es = in.dtype().byteSize();
        long[] is = in.shape();
        long[] os = out.shape();
        int rank = is.length;
        long[] strides = io.vnrt.runtime.kernels.Shapes.strides(is);
        long[] last = nearestMap[rank - 1];
        long rowBytes = last.length * (long) es;
        long[] idx = new long[rank - 1];
        long rem = from;
        for (int d = rank - 2; d >= 0; d--) {
            idx[d] = rem % os[d];
            rem /= os[d];
        }
        long prevBase = Long.MIN_VALUE;
        for (long r = from; r < to; r++) {
            long base = 0;
            for (int d = 0; d < rank - 1; d++) {
                long m = nearestMap[d][(int) idx[d]];
                if (m < 0) {
                    base = -1;
                    break;
                }
                base += m * strides[d];
            }
            long dOff = r * rowBytes;
            if (base == prevBase) {
                MemorySegment.copy(dst, dOff - rowBytes, dst, dOff, rowBytes);
            } else if (base < 0) {
                StridedCopy.fill(dst, dOff, last.length, es, extrapolationBits);
            } else if (es == 4) {
                long sOff = base * 4;
                for (int i = 0; i < last.length; i++) {
                    long m = last[i];
                    dst.set(Tensor.I32, dOff + 4L * i, m < 0 ? (int) extrapolationBits : src.get(Tensor.I32, sOff + 4 * m));
                }
            } else {
                for (int i = 0; i < last.length; i++) {
                    if (last[i] < 0) {
                        StridedCopy.fill(dst, dOff + (long) i * es, 1, es, extrapolationBits);
                    } else {
                        StridedCopy.copyElement(src, (base + last[i]) * es, dst, dOff + (long) i * es, es);
                    }
                }
            }
            prevBase = base;
            for (int d = rank - 2; d >= 0; d--) {
                if (++idx[d] < os[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}
