package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Min, Max, Sum and Mean over any number of broadcast inputs: the first pair is combined into the
 * output, then each further input is folded into the output in place; Mean divides at the end.
 */
final class VariadicKernel implements Kernel {
    private final BinaryOp op;
    private final boolean mean;
    private final TensorType outType;
    private final Broadcast[] steps;
    private final BinaryKernel.Path path;
    private final boolean unsigned;
    private final Tensor count;
    private final Broadcast divide;

    VariadicKernel(BinaryOp op, boolean mean, TensorType[] inputs) {
        this.op = op;
        this.mean = mean;
        long[][] shapes = new long[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            shapes[i] = inputs[i].shape();
        }
        long[] shape = Shapes.broadcast(shapes);
        DType dtype = inputs[0].dtype();
        this.outType = new TensorType(dtype, shape);
        this.path = BinaryKernel.pathFor(op, dtype, dtype);
        this.unsigned = dtype == DType.UINT64;
        int k = inputs.length;
        this.steps = new Broadcast[k];
        steps[0] = new Broadcast(shape, shapes[0]);
        if (k > 1) {
            steps[1] = new Broadcast(shape, shapes[0], shapes[1]);
        }
        for (int i = 2; i < k; i++) {
            steps[i] = new Broadcast(shape, shape, shapes[i]);
        }
        this.count = Tensor.allocate(dtype);
        count.setDouble(0, k);
        this.divide = new Broadcast(shape, shape, new long[0]);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor out = outputs[0];
        if (inputs.length == 1) {
            copyBroadcast(steps[0], inputs[0], out);
        } else {
            BinaryKernel.compute(op, path, unsigned, steps[1], inputs[0], inputs[1], out, ctx);
            for (int i = 2; i < inputs.length; i++) {
                BinaryKernel.compute(op, path, unsigned, steps[i], out, inputs[i], out, ctx);
            }
        }
        if (mean && inputs.length > 1) {
            BinaryKernel.Path divPath = BinaryKernel.pathFor(BinaryOp.DIV, out.dtype(), out.dtype());
            BinaryKernel.compute(BinaryOp.DIV, divPath, unsigned, divide, out, count, out, ctx);
        }
    }

    private static void copyBroadcast(Broadcast bc, Tensor in, Tensor out) {
        int size = in.dtype().byteSize();
        boolean rep = bc.repeated(0);
        bc.forRange(0, bc.total(), (off, o, n) -> {
            if (!rep) {
                MemorySegment.copy(in.data(), off[0] * size, out.data(), o * size, n * size);
            } else {
                for (long i = 0; i < n; i++) {
                    MemorySegment.copy(in.data(), off[0] * size, out.data(), (o + i) * size, size);
                }
            }
        });
    }
}
