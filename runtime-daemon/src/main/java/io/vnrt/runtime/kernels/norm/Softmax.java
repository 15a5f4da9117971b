package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * Softmax, LogSoftmax and Hardmax over an [outer, n, inner] view. Before opset 13 the input is
 * coerced to 2-D at {@code axis} (default 1), so the "row" is everything from axis on (inner = 1);
 * from opset 13 the op runs along the single dimension {@code axis} (default -1).
 */
final class Softmax implements Kernel {
    /** Which of the three operators. */
    enum Mode { SOFTMAX, LOG_SOFTMAX, HARDMAX }

    private final Mode mode;
    private final TensorType type;
    private final long outer;
    private final long n;
    private final long inner;

    private Softmax(Mode mode, TensorType type, long outer, long n, long inner) {
        this.mode = mode;
        this.type = type;
        this.outer = outer;
        this.n = n;
        this.inner = inner;
    }

    static Kernel create(NodeContext node, Mode mode) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint()) {
            throw node.error("input must be a floating-point tensor, got " + in);
        }
        long[] shape = in.shape();
        boolean coerce2d = node.opset() < 13;
        int axis;
        try {
            axis = shape.length == 0 ? 0 : Shapes.axis(node.attrInt("axis", coerce2d ? 1 : -1), shape.length);
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage());
        }
        long outer = 1;
        long n = 1;
        long inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else if (i == axis || coerce2d) {
                n *= shape[i];
            } else {
                inner *= shape[i];
            }
        }
        return new Softmax(mode, in, outer, n, inner);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        if (n == 0 || outer * inner == 0) {
            return;
        }
        if (mode == Mode.HARDMAX) {
            hardmax(x, y);
            return;
        }
        boolean log = mode == Mode.LOG_SOFTMAX;
        if (x.dtype() == DType.FLOAT32) {
            int tasks = Split.tasks(x.elementCount() * 4, outer, ctx.parallelism());
            ctx.parallelFor(tasks, t -> {
                long from = Split.start(outer, tasks, t);
                long to = Split.start(outer, tasks, t + 1);
                for (long o = from; o < to; o++) {
                    long base = o * n * inner;
                    if (inner == 1) {
                        RowVectors.softmaxRow(x.data(), y.data(), base, n, log);
                    } else {
                        RowVectors.softmaxColumns(x.data(), y.data(), base, n, inner, log);
                    }
                }
            });
            return;
        }
        reference(x, y, log, 0, outer);
    }

    /** Scalar double-precision softmax for any float dtype; also the oracle of the vector path. */
    void reference(Tensor x, Tensor y, boolean log, long from, long to) {
        for (long o = from; o < to; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * n * inner + j;
                double max = Double.NEGATIVE_INFINITY;
                for (long k = 0; k < n; k++) {
                    max = Math.max(max, x.getDouble(base + k * inner));
                }
                double sum = 0;
                for (long k = 0; k < n; k++) {
                    sum += Math.exp(x.getDouble(base + k * inner) - max);
                }
                double logSum = Math.log(sum);
                for (long k = 0; k < n; k++) {
                    double d = x.getDouble(base + k * inner) - max;
                    y.setDouble(base + k * inner, log ? d - logSum : Math.exp(d) / sum);
                }
            }
        }
    }

    /** 1 at the first maximum of each slice, 0 elsewhere. */
    private void hardmax(Tensor x, Tensor y) {
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * n * inner + j;
                long best = 0;
                double bv = x.getDouble(base);
                for (long k = 0; k < n; k++) {
                    double v = x.getDouble(base + k * inner);
                    if (v > bv) {
                        bv = v;
                        best = k;
                    }
                    y.setDouble(base + k * inner, 0);
                }
                y.setDouble(base + best * inner, 1);
            }
        }
    }
}
