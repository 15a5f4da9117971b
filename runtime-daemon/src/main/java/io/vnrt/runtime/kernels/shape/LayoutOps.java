package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.TensorType;
import java.util.Arrays;

/**
 * Factories of the operators that only move bytes: reinterpretations (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity) and strided copies (Transpose, Concat, Split, Slice, Expand, Tile,
 * DepthToSpace, SpaceToDepth).
 */
final class LayoutOps {
    private LayoutOps() {}

    static Kernel reshape(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] spec = n.requireConstant(1).toLongArray();
        boolean allowZero = n.opset() >= 14 && n.attrInt("allowzero", 0) != 0;
        long[] inShape = in.shape();
        long[] out = new long[spec.length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < spec.length; i++) {
            long v = spec[i];
            if (v == 0 && !allowZero) {
                if (i >= inShape.length) {
                    throw n.error("shape " + Arrays.toString(spec) + " copies dimension " + i
                            + " (value 0) but the input " + in + " has only " + inShape.length);
                }
                out[i] = inShape[i];
            } else if (v == -1) {
                if (inferred >= 0) {
                    throw n.error("shape " + Arrays.toString(spec) + " has more than one -1");
                }
                inferred = i;
                continue;
            } else if (v < 0) {
                throw n.error("shape " + Arrays.toString(spec) + " has invalid dimension " + v);
            } else {
                out[i] = v;
            }
            known *= out[i];
        }
        long total = in.elementCount();
        if (inferred >= 0) {
            if (known == 0 || total % known != 0) {
                throw n.error("cannot infer the -1 of shape " + Arrays.toString(spec) + " for input " + in);
            }
            out[inferred] = total / known;
        }
        if (Shapes.elementCount(out) != total) {
            throw n.error("cannot reshape " + in + " (" + total + " elements) to " + Arrays.toString(out));
        }
        return CopyKernel.alias(in, out);
    }

    static Kernel flatten(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long axis = n.attrInt("axis", 1);
        if (axis < 0) {
            axis += s.length;
        }
        if (axis < 0 || axis > s.length) {
            throw n.error("axis " + n.attrInt("axis", 1) + " is out of range for " + in);
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= s[i];
        }
        long inner = 1;
        for (int i = (int) axis; i < s.length; i++) {
            inner *= s[i];
        }
        return CopyKernel.alias(in, new long[] {outer, inner});
    }

    static Kernel identity(NodeContext n) {
        TensorType in = n.inputType(0);
        return CopyKernel.alias(in, in.shape());
    }

    /** Axes from the attribute (opset below {@code inputSince}) or from input 1; null if none. */
    private static long[] axesOf(NodeContext n, int inputSince) {
        if (n.opset() < inputSince) {
            return n.attrInts("axes", null);
        }
        if (!n.hasInput(1)) {
            return null;
        }
        return n.requireConstant(1).toLongArray();
    }

    static Kernel squeeze(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long[] axes = axesOf(n, 13);
        boolean[] drop = new boolean[s.length];
        // An empty axes list means the same as none: every size-1 dimension goes.
        if (axes == null || axes.length == 0) {
            for (int i = 0; i < s.length; i++) {
                drop[i] = s[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = axis(n, a, s.length);
                if (s[ax] != 1) {
                    throw n.error("cannot squeeze axis " + a + " of " + in + ": its size is " + s[ax] + ", not 1");
                }
                drop[ax] = true;
            }
        }
        long[] out = new long[s.length];
        int k = 0;
        for (int i = 0; i < s.length; i++) {
            if (!drop[i]) {
                out[k++] = s[i];
            }
        }
        return CopyKernel.alias(in, Arrays.copyOf(out, k));
    }

    static Kernel unsqueeze(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long[] axes = axesOf(n, 13);
        if (axes == null) {
            throw n.error("axes are required");
        }
        int rank = s.length + axes.length;
        boolean[] added = new boolean[rank];
        for (long a : axes) {
            int ax = axis(n, a, rank);
            if (added[ax]) {
                throw n.error("axis " + a + " appears twice in " + Arrays.toString(axes));
            }
            added[ax] = true;
        }
        long[] out = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            out[i] = added[i] ? 1 : s[j++];
        }
        return CopyKernel.alias(in, out);
    }

    static int axis(NodeContext n, long a, int rank) {
        long ax = a < 0 ? a + rank : a;
        if (ax < 0 || ax >= rank) {
            throw n.error("axis " + a + " is out of range for rank " + rank);
        }
        return (int) ax;
    }

    static Kernel transpose(NodeContext n) {
        TensorType in = n.inputType(0);
        int rank = in.rank();
        long[] perm = n.attrInts("perm", null);
        if (perm == null) {
            perm = new long[rank];
            for (int i = 0; i < rank; i++) {
                perm[i] = rank - 1 - i;
            }
        }
        if (perm.length != rank) {
            throw n.error("perm " + Arrays.toString(perm) + " does not match rank " + rank + " of " + in);
        }
        boolean[] seen = new boolean[rank];
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = axis(n, perm[i], rank);
            if (seen[p[i]]) {
                throw n.error("perm " + Arrays.toString(perm) + " is not a permutation");
            }
            seen[p[i]] = true;
        }
        return permuted(in, in.shape(), p, null);
    }

    /**
     * A copy of a tensor viewed with {@code viewShape} (same element count as the input) whose
     * dimensions are permuted by {@code perm}; the output has shape {@code outShape} or the
     * permuted view shape.
     */
    static Kernel permuted(TensorType in, long[] viewShape, int[] perm, long[] outShape) {
        long[] inStrides = Shapes.strides(viewShape);
        long[] shape = new long[perm.length];
        long[] src = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            shape[i] = viewShape[perm[i]];
            src[i] = inStrides[perm[i]];
        }
        StridedCopy c = StridedCopy.of(shape, src, Shapes.strides(shape), in.dtype().byteSize());
        TensorType out = new TensorType(in.dtype(), outShape == null ? shape : outShape);
        return new CopyKernel(new TensorType[] {out}, new CopyKernel.Part[] {new CopyKernel.Part(0, 0, 0, 0, c)}, -1);
    }

    static Kernel depthToSpace(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long b = n.attrInt("blocksize", 0);
        if (s.length != 4 || b <= 0 || s[1] % (b * b) != 0) {
            throw n.error("needs a 4-D input with channels divisible by blocksize^2, got " + in + " blocksize " + b);
        }
        long c = s[1] / (b * b);
        long[] out = {s[0], c, s[2] * b, s[3] * b};
        boolean crd = n.opset() >= 11 && n.attrString("mode", "DCR").equals("CRD");
        if (crd) {
            return permuted(in, new long[] {s[0], c, b, b, s[2], s[3]}, new int[] {0, 1, 4, 2, 5, 3}, out);
        }
        return permuted(in, new long[] {s[0], b, b, c, s[2], s[3]}, new int[] {0, 3, 4, 1, 5, 2}, out);
    }

    static Kernel spaceToDepth(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long b = n.attrInt("blocksize", 0);
        if (s.length != 4 || b <= 0 || s[2] % b != 0 || s[3] % b != 0) {
            throw n.error("needs a 4-D input with H and W divisible by blocksize, got " + in + " blocksize " + b);
        }
        long[] out = {s[0], s[1] * b * b, s[2] / b, s[3] / b};
        return permuted(in, new long[] {s[0], s[1], s[2] / b, b, s[3] / b, b}, new int[] {0, 3, 5, 1, 2, 4}, out);
    }

    static Kernel concat(NodeContext n) {
        TensorType first = n.inputType(0);
        int rank = first.rank();
        int axis = axis(n, n.attrInt("axis", 0), rank);
        long[] out = first.shape();
        out[axis] = 0;
        for (int i = 0; i < n.inputCount(); i++) {
            if (!n.hasInput(i)) {
                continue;
            }
            TensorType t = n.inputType(i);
            if (t.rank() != rank || t.dtype() != first.dtype()) {
                throw n.error("input " + i + " " + t + " does not match input 0 " + first);
            }
            for (int d = 0; d < rank; d++) {
                if (d != axis && t.shape()[d] != out[d]) {
                    throw n.error("input " + i + " " + t + " differs from input 0 " + first + " outside axis " + axis);
                }
            }
            out[axis] += t.shape()[axis];
        }
        long[] dst = Shapes.strides(out);
        int es = first.dtype().byteSize();
        java.util.List<CopyKernel.Part> parts = new java.util.ArrayList<>();
        long offset = 0;
        for (int i = 0; i < n.inputCount(); i++) {
            if (!n.hasInput(i)) {
                continue;
            }
            long[] s = n.inputType(i).shape();
            StridedCopy c = StridedCopy.of(s, Shapes.strides(s), dst, es);
            if (c.elementCount() > 0) {
                parts.add(new CopyKernel.Part(i, 0, 0, offset * dst[axis] * es, c));
            }
            offset += s[axis];
        }
        return new CopyKernel(new TensorType[] {new TensorType(first.dtype(), out)},
                parts.toArray(new CopyKernel.Part[0]), -1);
    }

    static Kernel split(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        int axis = axis(n, n.attrInt("axis", 0), s.length);
        int outputs = n.outputCount();
        long[] sizes = null;
        if (n.opset() < 13) {
            sizes = n.attrInts("split", null);
        } else if (n.hasInput(1) && n.inputType(1).elementCount() > 0) {
            sizes = n.requireConstant(1).toLongArray();
        }
        long dim = s[axis];
        if (sizes == null) {
            int parts = outputs;
            if (n.opset() >= 18 && n.hasAttribute("num_outputs")) {
                parts = (int) n.attrInt("num_outputs", outputs);
                // Since opset 18 an uneven split gives ceil-sized chunks and a smaller last one.
                long chunk = (dim + parts - 1) / parts;
                sizes = new long[parts];
                long left = dim;
                for (int i = 0; i < parts; i++) {
                    sizes[i] = Math.min(chunk, left);
                    left -= sizes[i];
                }
            } else {
                if (dim % parts != 0) {
                    throw n.error("axis " + axis + " of " + in + " cannot be split evenly into " + parts + " outputs");
                }
                sizes = new long[parts];
                Arrays.fill(sizes, dim / parts);
            }
        }
        long sum = 0;
        for (long v : sizes) {
            if (v < 0) {
                throw n.error("negative split size in " + Arrays.toString(sizes));
            }
            sum += v;
        }
        if (sum != dim || sizes.length != outputs) {
            throw n.error("split " + Arrays.toString(sizes) + " does not divide axis " + axis + " of " + in
                    + " into " + outputs + " outputs");
        }
        long[] srcStrides = Shapes.strides(s);
        int es = in.dtype().byteSize();
        TensorType[] types = new TensorType[outputs];
        java.util.List<CopyKernel.Part> parts = new java.util.ArrayList<>();
        long offset = 0;
        for (int i = 0; i < outputs; i++) {
            long[] o = s.clone();
            o[axis] = sizes[i];
            types[i] = new TensorType(in.dtype(), o);
            StridedCopy c = StridedCopy.of(o, srcStrides, Shapes.strides(o), es);
            if (c.elementCount() > 0) {
                parts.add(new CopyKernel.Part(0, i, offset * srcStrides[axis] * es, 0, c));
            }
            offset += sizes[i];
        }
        return new CopyKernel(types, parts.toArray(new CopyKernel.Part[0]), -1);
    }

    static Kernel slice(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        int rank = s.length;
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (n.opset() < 10) {
            starts = n.attrInts("starts", null);
            ends = n.attrInts("ends", null);
            axes = n.attrInts("axes", null);
        } else {
            starts = n.requireConstant(1).toLongArray();
            ends = n.requireConstant(2).toLongArray();
            axes = n.hasInput(3) ? n.requireConstant(3).toLongArray() : null;
            steps = n.hasInput(4) ? n.requireConstant(4).toLongArray() : null;
        }
        if (starts == null || ends == null || starts.length != ends.length) {
            throw n.error("starts and ends must be given with the same length");
        }
        if (axes == null) {
            axes = new long[starts.length];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = i;
            }
        }
        if (axes.length != starts.length || (steps != null && steps.length != starts.length)) {
            throw n.error("starts, ends, axes and steps must have the same length");
        }
        long[] begin = new long[rank];
        long[] step = new long[rank];
        long[] out = s.clone();
        Arrays.fill(step, 1);
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < axes.length; i++) {
            int ax = axis(n, axes[i], rank);
            if (seen[ax]) {
                throw n.error("axis " + axes[i] + " is sliced twice");
            }
            seen[ax] = true;
            long st = steps == null ? 1 : steps[i];
            if (st == 0) {
                throw n.error("step 0 on axis " + axes[i]);
            }
            long[] r = sliceRange(starts[i], ends[i], st, s[ax]);
            begin[ax] = r[0];
            out[ax] = r[1];
            step[ax] = st;
        }
        long[] inStrides = Shapes.strides(s);
        long[] src = new long[rank];
        long origin = 0;
        for (int d = 0; d < rank; d++) {
            src[d] = inStrides[d] * step[d];
            origin += begin[d] * inStrides[d];
        }
        int es = in.dtype().byteSize();
        StridedCopy c = StridedCopy.of(out, src, Shapes.strides(out), es);
        if (c.elementCount() == 0) {
            origin = 0;
        }
        return new CopyKernel(new TensorType[] {new TensorType(in.dtype(), out)},
                new CopyKernel.Part[] {new CopyKernel.Part(0, 0, origin * es, 0, c)}, -1);
    }

    /** ONNX Slice clamping: the first index and the element count along one axis of size dim. */
    static long[] sliceRange(long start, long end, long step, long dim) {
        if (start < 0) {
            start = Math.max(start, Long.MIN_VALUE + dim) + dim;
        }
        if (end < 0) {
            end = Math.max(end, Long.MIN_VALUE + dim) + dim;
        }
        long count;
        if (step > 0) {
            start = Math.clamp(start, 0, dim);
            end = Math.clamp(end, 0, dim);
            count = end > start ? (end - start + step - 1) / step : 0;
        } else {
            start = Math.clamp(start, 0, dim - 1);
            end = Math.clamp(end, -1, dim - 1);
            count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
        }
        return new long[] {count == 0 ? 0 : start, count};
    }

    static Kernel expand(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] shape = n.requireConstant(1).toLongArray();
        long[] out;
        try {
            out = Shapes.broadcast(in.shape(), shape);
        } catch (IllegalArgumentException e) {
            throw n.error("cannot expand " + in + " to " + Arrays.toString(shape) + ": " + e.getMessage());
        }
        StridedCopy c = StridedCopy.of(out, Shapes.broadcastStrides(in.shape(), out), Shapes.strides(out),
                in.dtype().byteSize());
        return new CopyKernel(new TensorType[] {new TensorType(in.dtype(), out)},
                new CopyKernel.Part[] {new CopyKernel.Part(0, 0, 0, 0, c)}, -1);
    }

    static Kernel tile(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        long[] reps = n.requireConstant(1).toLongArray();
        if (reps.length != s.length) {
            throw n.error("repeats " + Arrays.toString(reps) + " must have one entry per dimension of " + in);
        }
        int rank = s.length;
        long[] out = new long[rank];
        for (int d = 0; d < rank; d++) {
            if (reps[d] < 0) {
                throw n.error("negative repeat in " + Arrays.toString(reps));
            }
            out[d] = s[d] * reps[d];
        }
        // The output seen as [r0, d0, r1, d1, ...]: the repeat digits read the input with stride 0.
        long[] inStrides = Shapes.strides(s);
        long[] outStrides = Shapes.strides(out);
        long[] view = new long[2 * rank];
        long[] src = new long[2 * rank];
        long[] dst = new long[2 * rank];
        for (int d = 0; d < rank; d++) {
            view[2 * d] = reps[d];
            view[2 * d + 1] = s[d];
            src[2 * d] = 0;
            src[2 * d + 1] = inStrides[d];
            dst[2 * d] = s[d] * outStrides[d];
            dst[2 * d + 1] = outStrides[d];
        }
        StridedCopy c = StridedCopy.of(view, src, dst, in.dtype().byteSize());
        return new CopyKernel(new TensorType[] {new TensorType(in.dtype(), out)},
                new CopyKernel.Part[] {new CopyKernel.Part(0, 0, 0, 0, c)}, -1);
    }
}
