package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/** A unary operator with compile-time parameters; output has the input's type. */
final class UnaryKernel implements Kernel {
    private final UnaryOp op;
    private final TensorType type;
    private final double p;
    private final double q;

    UnaryKernel(UnaryOp op, TensorType type, double p, double q) {
        this.op = op;
        this.type = type;
        this.p = p;
        this.q = q;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        map(op, p, q, inputs[0], outputs[0], ctx);
    }

    /** out = op(in) elementwise; float32 vectorised and split over threads when large. */
    static void map(UnaryOp op, double p, double q, Tensor in, Tensor out, ExecContext ctx) {
        long total = in.elementCount();
        DType t = in.dtype();
        if (t == DType.FLOAT32) {
            int tasks = Broadcast.tasks(total * op.cost(), ctx.parallelism());
            float fp = (float) p;
            float fq = (float) q;
            if (tasks == 1) {
                FloatLoops.unary(op, fp, fq, in.data(), 0, out.data(), 0, total);
            } else {
                long chunk = Broadcast.chunk(total, tasks);
                ctx.parallelFor(tasks, task -> {
                    long s = Math.min(total, task * chunk);
                    long e = Math.min(total, s + chunk);
                    FloatLoops.unary(op, fp, fq, in.data(), s, out.data(), s, e - s);
                });
            }
        } else if (t.isFloatingPoint()) {
            for (long i = 0; i < total; i++) {
                out.setDouble(i, op.apply(in.getDouble(i), p, q));
            }
        } else {
            long lp = (long) p;
            long lq = (long) q;
            for (long i = 0; i < total; i++) {
                out.setLong(i, op.applyLong(in.getLong(i), lp, lq));
            }
        }
    }
}
