package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * CumSum and CumProd along the axis given by the second input (read at run time: it does not
 * change the output shape), with exclusive and reverse. Floats accumulate in their own precision
 * like numpy's cumsum and cumprod; integers accumulate exactly in long (wrapping to the dtype).
 */
final class CumSum implements Kernel {
    private final TensorType type;
    private final boolean exclusive;
    private final boolean reverse;
    private final boolean product;

    private CumSum(TensorType type, boolean exclusive, boolean reverse, boolean product) {
        this.type = type;
        this.exclusive = exclusive;
        this.reverse = reverse;
        this.product = product;
    }

    static Kernel sum(NodeContext node) {
        return create(node, false);
    }

    static Kernel product(NodeContext node) {
        return create(node, true);
    }

    private static Kernel create(NodeContext node, boolean product) {
        TensorType in = node.inputType(0);
        if (in.rank() == 0) {
            throw node.error("input must have rank >= 1, got a scalar");
        }
        TensorType axisType = node.inputType(1);
        if (axisType.elementCount() != 1) {
            throw node.error("axis must be a scalar (or 1-element) int32/int64 tensor, got " + axisType);
        }
        if (!in.dtype().isFloatingPoint() && !in.dtype().isInteger()) {
            throw node.error("input must be numeric, got " + in);
        }
        return new CumSum(in, node.attrInt("exclusive", 0) != 0, node.attrInt("reverse", 0) != 0, product);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        long[] shape = type.shape();
        int axis = Shapes.axis(inputs[1].getLong(0), shape.length);
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else if (i > axis) {
                inner *= shape[i];
            }
        }
        long r = shape[axis];
        DType dt = x.dtype();
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * r * inner + j;
                if (dt == DType.FLOAT32) {
                    float acc = product ? 1 : 0;
                    for (long s = 0; s < r; s++) {
                        long at = base + (reverse ? r - 1 - s : s) * inner;
                        float v = x.getFloat(at);
                        if (exclusive) {
                            y.setFloat(at, acc);
                            acc = product ? acc * v : acc + v;
                        } else {
                            acc = product ? acc * v : acc + v;
                            y.setFloat(at, acc);
                        }
                    }
                } else if (dt.isFloatingPoint()) {
                    double acc = product ? 1 : 0;
                    for (long s = 0; s < r; s++) {
                        long at = base + (reverse ? r - 1 - s : s) * inner;
                        double v = x.getDouble(at);
                        if (exclusive) {
                            y.setDouble(at, acc);
                            acc = product ? acc * v : acc + v;
                        } else {
                            acc = product ? acc * v : acc + v;
                            y.setDouble(at, acc);
                        }
                    }
                } else {
                    long acc = product ? 1 : 0;
                    for (long s = 0; s < r; s++) {
                        long at = base + (reverse ? r - 1 - s : s) * inner;
                        long v = x.getLong(at);
                        if (exclusive) {
                            y.setLong(at, acc);
                            acc = product ? acc * v : acc + v;
                        } else {
                            acc = product ? acc * v : acc + v;
                            y.setLong(at, acc);
                        }
                    }
                }
            }
        }
    }
}
