package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Operators that select or reorder slices: Compress and Unique (whose output shapes depend on
 * input values, so they compile once those are known), ReverseSequence and EyeLike. Slices move
 * as raw element bytes, so every dtype shares one path.
 */
final class SelectionOps {
    private SelectionOps() {}

    /**
     * The input seen as [outer, shape[axis], inner] around the node's {@code axis}, or as a flat
     * vector when it has none (Compress and Unique both work on the flattened input then).
     */
    private record Slices(long[] shape, int axis, long outer, long inner) {
        static Slices of(NodeContext n, TensorType x) {
            long[] shape = n.hasAttribute("axis") ? x.shape() : new long[] {x.elementCount()};
            int axis;
            try {
                axis = Shapes.axis(n.attrInt("axis", 0), shape.length);
            } catch (IllegalArgumentException e) {
                throw n.error(e.getMessage());
            }
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= shape[i];
            }
            long inner = 1;
            for (int i = axis + 1; i < shape.length; i++) {
                inner *= shape[i];
            }
            return new Slices(shape, axis, outer, inner);
        }
    }

    /** Compress: the slices along axis (of the flattened input without one) whose condition is true. */
    static Kernel compress(NodeContext n) {
        TensorType x = n.inputType(0);
        TensorType ct = n.inputType(1);
        if (ct.dtype() != DType.BOOL || ct.rank() != 1) {
            throw n.error("condition must be a 1-D bool tensor, got " + ct);
        }
        Slices sl = Slices.of(n, x);
        long[] shape = sl.shape();
        int axis = sl.axis();
        if (ct.elementCount() > shape[axis]) {
            throw n.error("condition has " + ct.elementCount() + " entries but axis " + axis + " of "
                    + Arrays.toString(shape) + " has " + shape[axis]);
        }
        Tensor condition = n.requireConstant(1);
        long length = ct.elementCount();
        long kept = 0;
        for (long i = 0; i < length; i++) {
            if (condition.getLong(i) != 0) {
                kept++;
            }
        }
        long[] outShape = shape.clone();
        outShape[axis] = kept;
        long rows = shape[axis];
        long keptRows = kept;
        long sliceBytes = sl.inner() * x.dtype().byteSize();
        long outerCount = sl.outer();
        return new BodyKernel(new TensorType(x.dtype(), outShape), (in, out, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = out[0].data();
            long o = 0;
            for (long b = 0; b < outerCount; b++) {
                for (long i = 0; i < length; i++) {
                    if (in[1].getLong(i) != 0) {
                        MemorySegment.copy(src, (b * rows + i) * sliceBytes, dst, o, sliceBytes);
                        o += sliceBytes;
                    }
                }
            }
            if (o != outerCount * keptRows * sliceBytes) {
                throw new OpException("Compress: the condition changed after compilation");
            }
        });
    }

    /**
     * Unique: distinct elements (or slices along axis), sorted or in order of first occurrence,
     * with the index of each one's first occurrence, the inverse map and the counts.
     */
    static Kernel unique(NodeContext n) {
        Tensor x = n.requireConstant(0);
        DType d = x.dtype();
        if (d == DType.STRING) {
            throw n.error("string tensors are not supported");
        }
        boolean sorted = n.attrInt("sorted", 1) != 0;
        Slices sl = Slices.of(n, x.type());
        long[] shape = sl.shape();
        int axis = sl.axis();
        int count = Math.toIntExact(shape[axis]);
        // a slice j is the elements (o, j, i) for every outer o and inner i, compared in that order
        long outerCount = sl.outer();
        long innerCount = sl.inner();
        Comparator<Integer> bySlice = (a, b) -> {
            for (long o = 0; o < outerCount; o++) {
                for (long i = 0; i < innerCount; i++) {
                    long ia = (o * count + a) * innerCount + i;
                    long ib = (o * count + b) * innerCount + i;
                    int c = compare(x, ia, ib);
                    if (c != 0) {
                        return c;
                    }
                }
            }
            return 0;
        };
        Integer[] order = new Integer[count];
        for (int j = 0; j < count; j++) {
            order[j] = j;
        }
        // stable: equal slices keep their input order, so the first of a run is the first occurrence
        Arrays.sort(order, bySlice);
        int[] groupOf = new int[count];
        List<Integer> firsts = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            if (k == 0 || bySlice.compare(order[k - 1], order[k]) != 0) {
                firsts.add(order[k]);
                counts.add(0);
            }
            int g = firsts.size() - 1;
            groupOf[order[k]] = g;
            counts.set(g, counts.get(g) + 1);
        }
        int unique = firsts.size();
        // output position of each group: sorted order, or order of first occurrence
        int[] position = new int[unique];
        if (sorted) {
            for (int g = 0; g < unique; g++) {
                position[g] = g;
            }
        } else {
            Integer[] byFirst = new Integer[unique];
            for (int g = 0; g < unique; g++) {
                byFirst[g] = g;
            }
            Arrays.sort(byFirst, Comparator.comparing(firsts::get));
            for (int p = 0; p < unique; p++) {
                position[byFirst[p]] = p;
            }
        }
        long[] first = new long[unique];
        long[] counted = new long[unique];
        for (int g = 0; g < unique; g++) {
            first[position[g]] = firsts.get(g);
            counted[position[g]] = counts.get(g);
        }
        long[] inverse = new long[count];
        for (int j = 0; j < count; j++) {
            inverse[j] = position[groupOf[j]];
        }
        long[] yShape = shape.clone();
        yShape[axis] = unique;
        TensorType[] types = {
            new TensorType(d, yShape),
            new TensorType(DType.INT64, new long[] {unique}),
            new TensorType(DType.INT64, new long[] {count}),
            new TensorType(DType.INT64, new long[] {unique})
        };
        long sliceBytes = innerCount * d.byteSize();
        return new BodyKernel(types, (in, out, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = out[0].data();
            for (long o = 0; o < outerCount; o++) {
                for (int p = 0; p < unique; p++) {
                    MemorySegment.copy(src, (o * count + first[p]) * sliceBytes, dst, (o * unique + p) * sliceBytes,
                            sliceBytes);
                }
            }
            copyLongs(first, out, 1);
            copyLongs(inverse, out, 2);
            copyLongs(counted, out, 3);
        }, true);
    }

    private static void copyLongs(long[] values, Tensor[] out, int k) {
        if (out.length > k && out[k] != null) {
            MemorySegment.copy(values, 0, out[k].data(), Tensor.I64, 0, values.length);
        }
    }

    /** Orders elements ia and ib of x as numbers (NaN last and equal to itself, uint64 unsigned). */
    private static int compare(Tensor x, long ia, long ib) {
        DType d = x.dtype();
        if (d.isFloatingPoint()) {
            double a = x.getDouble(ia);
            double b = x.getDouble(ib);
            return a == b ? 0 : Double.compare(a, b);
        }
        long a = x.getLong(ia);
        long b = x.getLong(ib);
        return d == DType.UINT64 ? Long.compareUnsigned(a, b) : Long.compare(a, b);
    }

    /** ReverseSequence: per batch entry, its first sequence_lens[b] steps along time_axis reversed. */
    static Kernel reverseSequence(NodeContext n) {
        TensorType x = n.inputType(0);
        TensorType lens = n.inputType(1);
        long batchAxis = n.attrInt("batch_axis", 1);
        long timeAxis = n.attrInt("time_axis", 0);
        if (x.rank() < 2) {
            throw n.error("input must have rank 2 or more, got " + x);
        }
        if (!((batchAxis == 0 && timeAxis == 1) || (batchAxis == 1 && timeAxis == 0))) {
            throw n.error("batch_axis and time_axis must be 0 and 1 in some order, got " + batchAxis + " and " + timeAxis);
        }
        long[] s = x.shape();
        long batch = s[(int) batchAxis];
        long time = s[(int) timeAxis];
        if (!lens.dtype().isInteger() || !Arrays.equals(lens.shape(), new long[] {batch})) {
            throw n.error("sequence_lens must be an integer tensor [" + batch + "], got " + lens);
        }
        long slice = x.dtype().byteSize();
        for (int i = 2; i < s.length; i++) {
            slice *= s[i];
        }
        long sliceBytes = slice;
        boolean batchFirst = batchAxis == 0;
        return new BodyKernel(x, (in, out, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = out[0].data();
            for (long b = 0; b < batch; b++) {
                long len = in[1].getLong(b);
                if (len < 0 || len > time) {
                    throw new OpException("ReverseSequence: sequence_lens[" + b + "] is " + len + ", outside [0, " + time
                            + "]");
                }
                for (long t = 0; t < time; t++) {
                    long from = t < len ? len - 1 - t : t;
                    long to = batchFirst ? b * time + t : t * batch + b;
                    long at = batchFirst ? b * time + from : from * batch + b;
                    MemorySegment.copy(src, at * sliceBytes, dst, to * sliceBytes, sliceBytes);
                }
            }
        });
    }

    /** EyeLike: ones on diagonal k of a 2-D tensor shaped like the input, of dtype or the input's type. */
    static Kernel eyeLike(NodeContext n) {
        TensorType x = n.inputType(0);
        if (x.rank() != 2) {
            throw n.error("input must be 2-D, got " + x);
        }
        DType d = x.dtype();
        if (n.hasAttribute("dtype")) {
            try {
                d = DType.fromOnnx((int) n.attrInt("dtype", 1));
            } catch (IllegalArgumentException e) {
                throw n.error(e.getMessage());
            }
        }
        if (d == DType.STRING) {
            throw n.error("string tensors are not supported");
        }
        long k = n.attrInt("k", 0);
        long rows = x.shape()[0];
        long cols = x.shape()[1];
        TensorType type = new TensorType(d, x.shape());
        return new BodyKernel(new TensorType[] {type}, (in, out, ctx) -> {
            Tensor y = out[0];
            y.data().fill((byte) 0);
            for (long r = Math.max(0, -k); r < rows && r + k < cols; r++) {
                y.setLong(r * cols + r + k, 1);
            }
        }, false);
    }
}
