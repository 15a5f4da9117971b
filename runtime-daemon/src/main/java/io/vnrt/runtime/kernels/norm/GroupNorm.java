package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * GroupNormalization and InstanceNormalization (the case of one group per channel) over
 * X [N, C, D1...]: each (n, group) block of C/G channels times the spatial size is normalised by
 * its own mean and population variance, then scaled and shifted per channel. GroupNormalization
 * opset 18 took scale and bias per group; opset 21 takes them per channel.
 */
final class GroupNorm implements Kernel {
    private final TensorType type;
    private final long batch;
    private final long channels;
    private final long groups;
    private final long spatialSize;
    private final float epsilon;
    private final boolean paramsPerGroup;

    private GroupNorm(TensorType type, long groups, float epsilon, boolean paramsPerGroup) {
        long[] shape = type.shape();
        this.type = type;
        this.batch = shape[0];
        this.channels = shape[1];
        this.groups = groups;
        long spatial = 1;
        for (int i = 2; i < shape.length; i++) {
            spatial *= shape[i];
        }
        this.spatialSize = spatial;
        this.epsilon = epsilon;
        this.paramsPerGroup = paramsPerGroup;
    }

    static Kernel create(NodeContext node, boolean instance) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint() || in.rank() < 2) {
            throw node.error("input must be a floating-point tensor [N, C, ...], got " + in);
        }
        long channels = in.shape()[1];
        long groups = instance ? channels : node.attrInt("num_groups", -1);
        if (groups <= 0 || channels % groups != 0) {
            throw node.error("num_groups = " + groups + " must be positive and divide the " + channels + " channels");
        }
        boolean perGroup = !instance && node.opset() < 21;
        long paramCount = perGroup ? groups : channels;
        for (int i = 1; i <= 2; i++) {
            if (node.inputType(i).elementCount() != paramCount) {
                throw node.error((i == 1 ? "scale" : "bias") + " must have " + paramCount + " elements (one per "
                        + (perGroup ? "group at opset < 21" : "channel") + "), got " + node.inputType(i));
            }
        }
        return new GroupNorm(in, groups, node.attrFloat("epsilon", 1e-5f), perGroup);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        Tensor x = in[0];
        Tensor y = out[0];
        long blocks = batch * groups;
        long perGroup = channels / groups;
        long blockSize = perGroup * spatialSize;
        if (blockSize == 0) {
            return;
        }
        boolean f32 = x.dtype() == DType.FLOAT32;
        int tasks = Split.tasks(x.elementCount() * 3, blocks, ctx.parallelism());
        ctx.parallelFor(tasks, t -> {
            for (long b = Split.start(blocks, tasks, t), end = Split.start(blocks, tasks, t + 1); b < end; b++) {
                long base = b * blockSize;
                double mean;
                double var;
                if (f32) {
                    mean = RowVectors.sum(x.data(), base, blockSize) / (double) blockSize;
                    var = RowVectors.sumSquares(x.data(), base, blockSize, (float) mean) / (double) blockSize;
                } else {
                    double s = 0;
                    for (long i = 0; i < blockSize; i++) {
                        s += x.getDouble(base + i);
                    }
                    mean = s / blockSize;
                    double q = 0;
                    for (long i = 0; i < blockSize; i++) {
                        double d = x.getDouble(base + i) - mean;
                        q += d * d;
                    }
                    var = q / blockSize;
                }
                double inv = 1.0 / Math.sqrt(var + epsilon);
                long g = b % groups;
                for (long k = 0; k < perGroup; k++) {
                    long c = g * perGroup + k;
                    long p = paramsPerGroup ? g : c;
                    double a = in[1].getDouble(p) * inv;
                    double shift = in[2].getDouble(p) - mean * a;
                    long at = base + k * spatialSize;
                    if (f32) {
                        RowVectors.affine(x.data(), y.data(), at, spatialSize, (float) a, (float) shift);
                    } else {
                        for (long s = 0; s < spatialSize; s++) {
                            y.setDouble(at + s, x.getDouble(at + s) * a + shift);
                        }
                    }
                }
            }
        });
    }
}
