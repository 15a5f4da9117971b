package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SwiGLU (opset 28): y = a · sigmoid(alpha · a) · b, the gated unit of LLaMA-style feed-forward
 * blocks, with numpy broadcasting. float32 runs as vectors over the broadcast rows; other float
 * types compute in double.
 */
final class SwiGluKernel implements Kernel {
    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final TensorType out;
    private final Broadcast broadcast;
    private final float alpha;

    SwiGluKernel(TensorType a, TensorType b, float alpha) {
        long[] shape = Shapes.broadcast(a.shape(), b.shape());
        this.out = new TensorType(a.dtype(), shape);
        this.broadcast = new Broadcast(shape, a.shape(), b.shape());
        this.alpha = alpha;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
        Tensor a = in[0];
        Tensor b = in[1];
        Tensor y = outs[0];
        boolean ra = broadcast.repeated(0);
        boolean rb = broadcast.repeated(1);
        long sa = ra ? 0 : 1;
        long sb = rb ? 0 : 1;
        boolean f32 = a.dtype() == DType.FLOAT32;
        broadcast.run(ctx, 8, (at, o, n) -> {
            long i = 0;
            if (f32) {
                MemorySegment as = a.data();
                MemorySegment bs = b.data();
                MemorySegment ys = y.data();
                long bound = n - n % L;
                for (; i < bound; i += L) {
                    FloatVector x = ra ? FloatVector.broadcast(F, as.getAtIndex(Tensor.F32, at[0]))
                            : FloatVector.fromMemorySegment(F, as, (at[0] + i) * 4, LE);
                    FloatVector g = rb ? FloatVector.broadcast(F, bs.getAtIndex(Tensor.F32, at[1]))
                            : FloatVector.fromMemorySegment(F, bs, (at[1] + i) * 4, LE);
                    FloatLoops.swish(x, alpha).mul(g).intoMemorySegment(ys, (o + i) * 4, LE);
                }
            }
            for (; i < n; i++) {
                double x = a.getDouble(at[0] + i * sa);
                y.setDouble(o + i, x * UnaryOp.sigmoid(alpha * x) * b.getDouble(at[1] + i * sb));
            }
        });
    }
}
