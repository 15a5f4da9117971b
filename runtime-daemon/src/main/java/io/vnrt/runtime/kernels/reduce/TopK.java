package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * TopK: the K largest (or smallest) elements along an axis, always sorted best first, ties broken
 * by the lower index; values plus int64 indices. K is an attribute at opset 1 and an input from 10
 * (it shapes the outputs, so it must be known when the node compiles). Selection keeps a K-entry
 * heap of indices in the workspace: O(n log K) per slice and no heap allocation.
 */
final class TopK implements Kernel {
    private final TensorType valuesType;
    private final TensorType indicesType;
    private final long outer;
    private final long r;
    private final long inner;
    private final long k;
    private final boolean largest;

    private TopK(TensorType in, long[] outShape, long outer, long r, long inner, long k, boolean largest) {
        this.valuesType = new TensorType(in.dtype(), outShape);
        this.indicesType = new TensorType(DType.INT64, outShape);
        this.outer = outer;
        this.r = r;
        this.inner = inner;
        this.k = k;
        this.largest = largest;
    }

    static Kernel create(NodeContext node) {
        TensorType in = node.inputType(0);
        long[] shape = in.shape();
        if (shape.length == 0) {
            throw node.error("input must have rank >= 1, got a scalar");
        }
        int axis;
        try {
            axis = Shapes.axis(node.attrInt("axis", -1), shape.length);
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage());
        }
        long k;
        if (node.opset() >= 10) {
            Tensor kt = node.requireConstant(1);
            if (kt.elementCount() != 1) {
                throw node.error("K must hold exactly one value, got " + kt);
            }
            k = kt.getLong(0);
        } else {
            k = node.attrInt("k", -1);
        }
        if (k < 0 || k > shape[axis]) {
            throw node.error("K = " + k + " must be in [0, " + shape[axis] + "] (dimension " + axis + " of " + in + ")");
        }
        boolean largest = node.opset() < 11 || node.attrInt("largest", 1) != 0;
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else if (i > axis) {
                inner *= shape[i];
            }
        }
        long[] outShape = shape.clone();
        outShape[axis] = k;
        return new TopK(in, outShape, outer, shape[axis], inner, k, largest);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {valuesType, indicesType};
    }

    @Override
    public long workspaceBytes() {
        return Math.max(1, k) * Long.BYTES;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor values = outputs[0];
        Tensor indices = outputs[1];
        MemorySegment heap = ctx.workspace();
        int elem = x.dtype().byteSize();
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * r * inner + j;
                // Min-heap under "better": the root is the worst of the K kept so far.
                long size = 0;
                for (long s = 0; s < r; s++) {
                    if (size < k) {
                        heap.setAtIndex(Tensor.I64, size, s);
                        siftUp(x, base, heap, size);
                        size++;
                    } else if (k > 0 && better(x, base, s, heap.getAtIndex(Tensor.I64, 0))) {
                        heap.setAtIndex(Tensor.I64, 0, s);
                        siftDown(x, base, heap, 0, size);
                    }
                }
                // Pop worst first, filling the output from its end.
                long outBase = o * k * inner + j;
                while (size > 0) {
                    long idx = heap.getAtIndex(Tensor.I64, 0);
                    size--;
                    heap.setAtIndex(Tensor.I64, 0, heap.getAtIndex(Tensor.I64, size));
                    siftDown(x, base, heap, 0, size);
                    long at = outBase + size * inner;
                    indices.setLong(at, idx);
                    MemorySegment.copy(x.data(), (base + idx * inner) * elem, values.data(), at * elem, elem);
                }
            }
        }
    }

    /** True when element a ranks before element b (a and b are positions along the axis). */
    private boolean better(Tensor x, long base, long a, long b) {
        int c = compare(x, base + a * inner, base + b * inner);
        if (c == 0) {
            return a < b;
        }
        return largest ? c > 0 : c < 0;
    }

    /** Numeric comparison of two elements; NaN sorts above every number. */
    private static int compare(Tensor x, long i, long j) {
        DType dt = x.dtype();
        if (dt == DType.FLOAT32) {
            return Float.compare(x.getFloat(i) + 0.0f, x.getFloat(j) + 0.0f);
        }
        if (dt.isFloatingPoint()) {
            return Double.compare(x.getDouble(i) + 0.0, x.getDouble(j) + 0.0);
        }
        if (dt == DType.UINT64) {
            return Long.compareUnsigned(x.getLong(i), x.getLong(j));
        }
        return Long.compare(x.getLong(i), x.getLong(j));
    }

    private void siftUp(Tensor x, long base, MemorySegment heap, long at) {
        long item = heap.getAtIndex(Tensor.I64, at);
        while (at > 0) {
            long parent = (at - 1) / 2;
            long p = heap.getAtIndex(Tensor.I64, parent);
            if (!better(x, base, p, item)) {
                break;
            }
            heap.setAtIndex(Tensor.I64, at, p);
            at = parent;
        }
        heap.setAtIndex(Tensor.I64, at, item);
    }

    private void siftDown(Tensor x, long base, MemorySegment heap, long at, long size) {
        if (size == 0) {
            return;
        }
        long item = heap.getAtIndex(Tensor.I64, at);
        while (true) {
            long child = 2 * at + 1;
            if (child >= size) {
                break;
            }
            long c = heap.getAtIndex(Tensor.I64, child);
            if (child + 1 < size) {
                long c2 = heap.getAtIndex(Tensor.I64, child + 1);
                if (better(x, base, c, c2)) {
                    child++;
                    c = c2;
                }
            }
            if (!better(x, base, item, c)) {
                break;
            }
            heap.setAtIndex(Tensor.I64, at, c);
            at = child;
        }
        heap.setAtIndex(Tensor.I64, at, item);
    }
}
