package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * LRN across channels of X [N, C, D1...]: y = x / (bias + alpha / size * sum of x^2 over the
 * channels c - floor((size-1)/2) .. c + ceil((size-1)/2))^beta.
 */
final class Lrn implements Kernel {
    private final TensorType type;
    private final long batch;
    private final long channels;
    private final long spatialSize;
    private final long size;
    private final double alpha;
    private final double beta;
    private final double bias;

    private Lrn(TensorType type, long size, double alpha, double beta, double bias) {
        long[] shape = type.shape();
        this.type = type;
        this.batch = shape[0];
        this.channels = shape[1];
        long spatial = 1;
        for (int i = 2; i < shape.length; i++) {
            spatial *= shape[i];
        }
        this.spatialSize = spatial;
        this.size = size;
        this.alpha = alpha;
        this.beta = beta;
        this.bias = bias;
    }

    static Kernel create(NodeContext node) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint() || in.rank() < 2) {
            throw node.error("X must be a floating-point tensor [N, C, ...], got " + in);
        }
        long size = node.attrInt("size", -1);
        if (size < 1) {
            throw node.error("attribute size must be a positive integer, got " + size);
        }
        return new Lrn(in, size, node.attrFloat("alpha", 1e-4f), node.attrFloat("beta", 0.75f),
                node.attrFloat("bias", 1.0f));
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        Tensor x = in[0];
        Tensor y = out[0];
        long before = (size - 1) / 2;
        long after = size - 1 - before;
        long blocks = batch * channels;
        int tasks = Split.tasks(x.elementCount() * size, blocks, ctx.parallelism());
        ctx.parallelFor(tasks, t -> {
            for (long b = Split.start(blocks, tasks, t), end = Split.start(blocks, tasks, t + 1); b < end; b++) {
                long n = b / channels;
                long c = b % channels;
                long lo = Math.max(0, c - before);
                long hi = Math.min(channels - 1, c + after);
                for (long s = 0; s < spatialSize; s++) {
                    double sq = 0;
                    for (long k = lo; k <= hi; k++) {
                        double v = x.getDouble((n * channels + k) * spatialSize + s);
                        sq += v * v;
                    }
                    long at = b * spatialSize + s;
                    y.setDouble(at, x.getDouble(at) / Math.pow(bias + alpha / size * sq, beta));
                }
            }
        });
    }
}
