package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LpNormalization: x divided by its L1 (p = 1) or L2 (p = 2) norm along one axis (default the
 * last); a line whose norm is 0 stays 0, as the conformance tests expect (not 0/0 = NaN). Rows along the last axis of float32 run as vectors; other layouts and types in double.
 */
final class LpNorm implements Kernel {
    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final TensorType type;
    private final boolean l1;
    private final long outer;
    private final long n;
    private final long inner;

    private LpNorm(TensorType type, boolean l1, long outer, long n, long inner) {
        this.type = type;
        this.l1 = l1;
        this.outer = outer;
        this.n = n;
        this.inner = inner;
    }

    static Kernel create(NodeContext node) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint() || in.dtype().isSmallFloat()) {
            throw node.error("input must be float32, float16, bfloat16 or float64, got " + in);
        }
        long p = node.attrInt("p", 2);
        if (p != 1 && p != 2) {
            throw node.error("p must be 1 or 2, got " + p);
        }
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
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else if (i > axis) {
                inner *= shape[i];
            }
        }
        return new LpNorm(in, p == 1, outer, shape[axis], inner);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        long lines = outer * inner;
        int tasks = Split.tasks(x.elementCount() * 4, lines, ctx.parallelism());
        ctx.parallelFor(tasks, t -> {
            for (long line = Split.start(lines, tasks, t); line < Split.start(lines, tasks, t + 1); line++) {
                long o = line / inner;
                long j = line % inner;
                long base = o * n * inner + j;
                if (inner == 1 && x.dtype() == DType.FLOAT32) {
                    row(x.data(), y.data(), base);
                } else {
                    line(x, y, base);
                }
            }
        });
    }

    private void row(MemorySegment x, MemorySegment y, long base) {
        long off = base * 4;
        int bound = (int) (n - n % L);
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        for (; k < bound; k += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, off + k * 4L, LE);
            acc = l1 ? acc.add(v.abs()) : v.fma(v, acc);
        }
        double sum = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            float v = x.get(Tensor.F32, off + k * 4L);
            sum += l1 ? Math.abs(v) : (double) v * v;
        }
        float inv = sum == 0 ? 0f : (float) (1 / (l1 ? sum : Math.sqrt(sum)));
        k = 0;
        for (; k < bound; k += L) {
            FloatVector.fromMemorySegment(F, x, off + k * 4L, LE).mul(inv).intoMemorySegment(y, off + k * 4L, LE);
        }
        for (; k < n; k++) {
            y.set(Tensor.F32, off + k * 4L, x.get(Tensor.F32, off + k * 4L) * inv);
        }
    }

    private void line(Tensor x, Tensor y, long base) {
        double sum = 0;
        for (long k = 0; k < n; k++) {
            double v = x.getDouble(base + k * inner);
            sum += l1 ? Math.abs(v) : v * v;
        }
        double inv = sum == 0 ? 0 : 1 / (l1 ? sum : Math.sqrt(sum));
        for (long k = 0; k < n; k++) {
            y.setDouble(base + k * inner, x.getDouble(base + k * inner) * inv);
        }
    }
}
