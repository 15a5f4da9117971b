package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * MeanVarianceNormalization: (x - mean) / (sqrt(E[x²] - mean²) + 1e-9) over {@code axes}
 * (default [0, 2, 3]: per channel of an NCHW tensor), as the operator's function body computes it.
 * Statistics accumulate in double, one pair per group of the kept axes, in the workspace.
 */
final class MeanVarianceNorm implements Kernel {
    private static final double EPSILON = 1e-9;

    private final TensorType type;
    private final long[] shape;
    /** Per axis, the stride of the group index (0 for a normalised axis). */
    private final long[] groupStride;
    private final long groups;
    private final long perGroup;

    private MeanVarianceNorm(TensorType type, boolean[] reduced) {
        this.type = type;
        this.shape = type.shape();
        this.groupStride = new long[shape.length];
        long g = 1;
        long per = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (reduced[i]) {
                per *= shape[i];
            } else {
                groupStride[i] = g;
                g *= shape[i];
            }
        }
        this.groups = g;
        this.perGroup = per;
    }

    static Kernel create(NodeContext node) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint() || in.dtype().isSmallFloat()) {
            throw node.error("input must be float32, float16, bfloat16 or float64, got " + in);
        }
        long[] axes = node.attrInts("axes", new long[] {0, 2, 3});
        boolean[] reduced = new boolean[in.rank()];
        for (long a : axes) {
            try {
                reduced[Shapes.axis(a, in.rank())] = true;
            } catch (IllegalArgumentException e) {
                throw node.error("axes: " + e.getMessage());
            }
        }
        return new MeanVarianceNorm(in, reduced);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public long workspaceBytes() {
        return groups * 16;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        MemorySegment stats = ctx.workspace();
        stats.asSlice(0, groups * 16).fill((byte) 0);
        long total = x.elementCount();
        long[] index = new long[shape.length];
        long group = 0;
        for (long e = 0; e < total; e++) {
            double v = x.getDouble(e);
            stats.setAtIndex(Tensor.F64, 2 * group, stats.getAtIndex(Tensor.F64, 2 * group) + v);
            stats.setAtIndex(Tensor.F64, 2 * group + 1, stats.getAtIndex(Tensor.F64, 2 * group + 1) + v * v);
            group = next(index, group);
        }
        for (long g = 0; g < groups; g++) {
            double mean = stats.getAtIndex(Tensor.F64, 2 * g) / perGroup;
            double variance = stats.getAtIndex(Tensor.F64, 2 * g + 1) / perGroup - mean * mean;
            stats.setAtIndex(Tensor.F64, 2 * g, mean);
            stats.setAtIndex(Tensor.F64, 2 * g + 1, 1 / (Math.sqrt(Math.max(variance, 0)) + EPSILON));
        }
        java.util.Arrays.fill(index, 0);
        group = 0;
        for (long e = 0; e < total; e++) {
            y.setDouble(e, (x.getDouble(e) - stats.getAtIndex(Tensor.F64, 2 * group))
                    * stats.getAtIndex(Tensor.F64, 2 * group + 1));
            group = next(index, group);
        }
    }

    /** Advances the row-major index by one element and returns the new element's group. */
    private long next(long[] index, long group) {
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d]++;
            group += groupStride[d];
            if (index[d] < shape[d]) {
                return group;
            }
            group -= groupStride[d] * index[d];
            index[d] = 0;
        }
        return group;
    }
}
