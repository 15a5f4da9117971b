package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * A binary operator with numpy broadcasting. float32 arithmetic and comparisons run vector loops
 * over the collapsed broadcast rows; integers compute exactly in long (wrapping to the dtype);
 * other floats and mixed-type Pow compute in double.
 */
final class BinaryKernel implements Kernel {
    /** Which arithmetic a pair of input types gets. */
    enum Path { VECTOR_F32, COMPARE_F32, LONG, DOUBLE }

    private final BinaryOp op;
    private final TensorType outType;
    private final Broadcast broadcast;
    private final Path path;
    private final boolean unsigned;

    BinaryKernel(BinaryOp op, TensorType a, TensorType b, DType outDtype) {
        this.op = op;
        long[] shape = Shapes.broadcast(a.shape(), b.shape());
        this.outType = new TensorType(outDtype, shape);
        this.broadcast = new Broadcast(shape, a.shape(), b.shape());
        this.path = pathFor(op, a.dtype(), b.dtype());
        this.unsigned = a.dtype() == DType.UINT64;
    }

    static Path pathFor(BinaryOp op, DType a, DType b) {
        if (a == DType.FLOAT32 && b == DType.FLOAT32) {
            if (op.isComparison()) {
                return Path.COMPARE_F32;
            }
            if (op != BinaryOp.FMOD && op != BinaryOp.MOD && !op.isLogical()) {
                return Path.VECTOR_F32;
            }
        }
        boolean aInt = a.isInteger() || a == DType.BOOL;
        boolean bInt = b.isInteger() || b == DType.BOOL;
        return aInt && bInt ? Path.LONG : Path.DOUBLE;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        compute(op, path, unsigned, broadcast, inputs[0], inputs[1], outputs[0], ctx);
    }

    /** out = a op b over the rows of {@code bc}; out may be the same tensor as a (in-place folds). */
    static void compute(BinaryOp op, Path path, boolean unsigned, Broadcast bc, Tensor a, Tensor b, Tensor out,
            ExecContext ctx) {
        boolean ra = bc.repeated(0);
        boolean rb = bc.repeated(1);
        long sa = ra ? 0 : 1;
        long sb = rb ? 0 : 1;
        int cost = op == BinaryOp.POW ? 8 : 1;
        switch (path) {
            case VECTOR_F32 -> bc.run(ctx, cost, (in, o, n) ->
                    FloatLoops.binary(op, a.data(), in[0], ra, b.data(), in[1], rb, out.data(), o, n));
            case COMPARE_F32 -> bc.run(ctx, cost, (in, o, n) ->
                    FloatLoops.compare(op, a.data(), in[0], ra, b.data(), in[1], rb, out.data(), o, n));
            case LONG -> bc.run(ctx, cost, (in, o, n) -> {
                for (long i = 0; i < n; i++) {
                    out.setLong(o + i, op.applyLong(a.getLong(in[0] + i * sa), b.getLong(in[1] + i * sb), unsigned));
                }
            });
            case DOUBLE -> bc.run(ctx, cost, (in, o, n) -> {
                for (long i = 0; i < n; i++) {
                    out.setDouble(o + i, op.apply(a.getDouble(in[0] + i * sa), b.getDouble(in[1] + i * sb)));
                }
            });
        }
    }
}
