package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/** Where(condition, X, Y) with three-way broadcasting; copies raw elements, so any dtype works. */
final class WhereKernel implements Kernel {
    private final TensorType outType;
    private final Broadcast broadcast;

    WhereKernel(TensorType cond, TensorType x, TensorType y) {
        long[] shape = Shapes.broadcast(cond.shape(), x.shape(), y.shape());
        this.outType = new TensorType(x.dtype(), shape);
        this.broadcast = new Broadcast(shape, cond.shape(), x.shape(), y.shape());
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        MemorySegment c = inputs[0].data();
        MemorySegment x = inputs[1].data();
        MemorySegment y = inputs[2].data();
        MemorySegment out = outputs[0].data();
        long sc = broadcast.repeated(0) ? 0 : 1;
        long sx = broadcast.repeated(1) ? 0 : 1;
        long sy = broadcast.repeated(2) ? 0 : 1;
        int size = outType.dtype().byteSize();
        broadcast.run(ctx, 1, (in, o, n) -> {
            switch (size) {
                case 1 -> {
                    for (long i = 0; i < n; i++) {
                        boolean t = c.get(Tensor.I8, in[0] + i * sc) != 0;
                        out.set(Tensor.I8, o + i, t ? x.get(Tensor.I8, in[1] + i * sx) : y.get(Tensor.I8, in[2] + i * sy));
                    }
                }
                case 2 -> {
                    for (long i = 0; i < n; i++) {
                        boolean t = c.get(Tensor.I8, in[0] + i * sc) != 0;
                        out.setAtIndex(Tensor.I16, o + i,
                                t ? x.getAtIndex(Tensor.I16, in[1] + i * sx) : y.getAtIndex(Tensor.I16, in[2] + i * sy));
                    }
                }
                case 4 -> {
                    long done = FloatLoops.select32(c, in[0], sc == 0, x, in[1], sx == 0, y, in[2], sy == 0, out, o, n);
                    for (long i = done; i < n; i++) {
                        boolean t = c.get(Tensor.I8, in[0] + i * sc) != 0;
                        out.setAtIndex(Tensor.I32, o + i,
                                t ? x.getAtIndex(Tensor.I32, in[1] + i * sx) : y.getAtIndex(Tensor.I32, in[2] + i * sy));
                    }
                }
                default -> {
                    for (long i = 0; i < n; i++) {
                        boolean t = c.get(Tensor.I8, in[0] + i * sc) != 0;
                        out.setAtIndex(Tensor.I64, o + i,
                                t ? x.getAtIndex(Tensor.I64, in[1] + i * sx) : y.getAtIndex(Tensor.I64, in[2] + i * sy));
                    }
                }
            }
        });
    }
}
