package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * ArgMax / ArgMin along one axis, int64 indices; ties go to the first index, or the last with
 * select_last_index (opset 12+). A NaN wins over every number, as numpy's argmax does.
 */
final class ArgExtremum implements Kernel {
    private final boolean max;
    private final boolean last;
    private final long outer;
    private final long r;
    private final long inner;
    private final TensorType outType;

    private ArgExtremum(boolean max, boolean last, long outer, long r, long inner, TensorType outType) {
        this.max = max;
        this.last = last;
        this.outer = outer;
        this.r = r;
        this.inner = inner;
        this.outType = outType;
    }

    static Kernel create(NodeContext node, boolean max) {
        TensorType in = node.inputType(0);
        long[] shape = in.shape();
        int axis;
        try {
            axis = Shapes.axis(node.attrInt("axis", 0), shape.length);
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage());
        }
        if (shape.length > 0 && shape[axis] == 0) {
            throw node.error("cannot take " + node.opType() + " over an empty axis " + axis + " of " + in);
        }
        boolean keepdims = node.attrInt("keepdims", 1) != 0;
        boolean last = node.opset() >= 12 && node.attrInt("select_last_index", 0) != 0;
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else if (i > axis) {
                inner *= shape[i];
            }
        }
        long r = shape.length == 0 ? 1 : shape[axis];
        long[] outShape;
        if (shape.length == 0) {
            outShape = new long[0];
        } else if (keepdims) {
            outShape = shape.clone();
            outShape[axis] = 1;
        } else {
            outShape = new long[shape.length - 1];
            for (int i = 0, j = 0; i < shape.length; i++) {
                if (i != axis) {
                    outShape[j++] = shape[i];
                }
            }
        }
        return new ArgExtremum(max, last, outer, r, inner, new TensorType(DType.INT64, outShape));
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        boolean integer = !x.dtype().isFloatingPoint();
        boolean unsigned = x.dtype() == DType.UINT64;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * r * inner + j;
                long best = 0;
                if (integer) {
                    long bv = x.getLong(base);
                    for (long k = 1; k < r; k++) {
                        long v = x.getLong(base + k * inner);
                        int c = unsigned ? Long.compareUnsigned(v, bv) : Long.compare(v, bv);
                        if (better(c)) {
                            best = k;
                            bv = v;
                        }
                    }
                } else {
                    double bv = x.getDouble(base);
                    for (long k = 1; k < r && !Double.isNaN(bv); k++) {
                        double v = x.getDouble(base + k * inner);
                        if (Double.isNaN(v) || better(v > bv ? 1 : v < bv ? -1 : 0)) {
                            best = k;
                            bv = v;
                        }
                    }
                }
                y.setLong(o * inner + j, best);
            }
        }
    }

    /** Whether a candidate comparing {@code c} against the current best replaces it. */
    private boolean better(int c) {
        if (c == 0) {
            return last;
        }
        return max ? c > 0 : c < 0;
    }
}
