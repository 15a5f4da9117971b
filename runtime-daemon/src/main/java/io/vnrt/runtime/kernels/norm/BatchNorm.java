package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * BatchNormalization over X [N, C, D1...]. Inference uses the given running mean/var (momentum is
 * unused). Training mode (attribute training_mode at opset 14+, or extra outputs before that)
 * normalises with the batch's own mean and population variance and returns the updated running
 * statistics {@code running * momentum + batch * (1 - momentum)}; before opset 14 the two further
 * outputs are the batch mean and variance. Opset 7/8 {@code spatial = 0} takes per-element
 * parameters of shape [C, D1...].
 */
final class BatchNorm implements Kernel {
    private final TensorType[] outTypes;
    private final long batch;
    private final long channels;
    private final long spatialSize;
    private final float epsilon;
    private final float momentum;
    private final boolean training;
    private final boolean perElement;

    private BatchNorm(TensorType[] outTypes, long batch, long channels, long spatialSize, float epsilon,
                      float momentum, boolean training, boolean perElement) {
        this.outTypes = outTypes;
        this.batch = batch;
        this.channels = channels;
        this.spatialSize = spatialSize;
        this.epsilon = epsilon;
        this.momentum = momentum;
        this.training = training;
        this.perElement = perElement;
    }

    static Kernel create(NodeContext node) {
        TensorType in = node.inputType(0);
        if (!in.dtype().isFloatingPoint() || in.rank() < 2) {
            throw node.error("X must be a floating-point tensor [N, C, ...], got " + in);
        }
        long[] shape = in.shape();
        long spatial = 1;
        for (int i = 2; i < shape.length; i++) {
            spatial *= shape[i];
        }
        boolean perElement = node.opset() < 9 && node.attrInt("spatial", 1) == 0;
        long paramCount = perElement ? shape[1] * spatial : shape[1];
        for (int i = 1; i <= 4; i++) {
            if (node.inputType(i).elementCount() != paramCount) {
                throw node.error("input " + i + " must have " + paramCount + " elements (one per channel"
                        + (perElement ? " and position" : "") + "), got " + node.inputType(i));
            }
        }
        boolean training = node.opset() >= 14 ? node.attrInt("training_mode", 0) != 0 : node.outputCount() > 1;
        if (training && perElement) {
            throw node.error("training mode with spatial = 0 is not supported");
        }
        int outputs = Math.max(1, node.outputCount());
        TensorType[] types = new TensorType[outputs];
        types[0] = in;
        for (int i = 1; i < outputs; i++) {
            DType statType = node.inputType(statInput(i)).dtype();
            types[i] = new TensorType(statType, node.inputType(3).shape());
        }
        return new BatchNorm(types, shape[0], shape[1], spatial, node.attrFloat("epsilon", 1e-5f),
                node.attrFloat("momentum", 0.9f), training, perElement);
    }

    /** The input (mean 3 or var 4) whose type and, in inference, value an extra output takes. */
    private static int statInput(int output) {
        return output == 1 || output == 3 ? 3 : 4;
    }

    @Override
    public TensorType[] outputTypes() {
        return outTypes.clone();
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        Tensor x = in[0];
        Tensor y = out[0];
        if (training) {
            train(in, out);
            return;
        }
        for (int i = 1; i < out.length; i++) {
            Tensor stat = in[statInput(i)];
            for (long c = 0; c < stat.elementCount(); c++) {
                out[i].setDouble(c, stat.getDouble(c));
            }
        }
        long blocks = batch * channels;
        int tasks = Split.tasks(x.elementCount(), blocks, ctx.parallelism());
        ctx.parallelFor(tasks, t -> {
            for (long b = Split.start(blocks, tasks, t), end = Split.start(blocks, tasks, t + 1); b < end; b++) {
                long c = b % channels;
                long base = b * spatialSize;
                if (perElement) {
                    for (long s = 0; s < spatialSize; s++) {
                        long p = c * spatialSize + s;
                        double a = in[1].getDouble(p) / Math.sqrt(in[4].getDouble(p) + epsilon);
                        y.setDouble(base + s, (x.getDouble(base + s) - in[3].getDouble(p)) * a + in[2].getDouble(p));
                    }
                    continue;
                }
                double a = in[1].getDouble(c) / Math.sqrt(in[4].getDouble(c) + epsilon);
                double shift = in[2].getDouble(c) - in[3].getDouble(c) * a;
                affine(x, y, base, a, shift);
            }
        });
    }

    /** y = x * a + b over one (n, c) block of spatialSize elements. */
    private void affine(Tensor x, Tensor y, long base, double a, double b) {
        if (x.dtype() == DType.FLOAT32) {
            RowVectors.affine(x.data(), y.data(), base, spatialSize, (float) a, (float) b);
        } else {
            for (long s = 0; s < spatialSize; s++) {
                y.setDouble(base + s, x.getDouble(base + s) * a + b);
            }
        }
    }

    private void train(Tensor[] in, Tensor[] out) {
        Tensor x = in[0];
        long count = batch * spatialSize;
        for (long c = 0; c < channels; c++) {
            double sum = 0;
            for (long nIdx = 0; nIdx < batch; nIdx++) {
                long base = (nIdx * channels + c) * spatialSize;
                for (long s = 0; s < spatialSize; s++) {
                    sum += x.getDouble(base + s);
                }
            }
            double mean = sum / count;
            double sq = 0;
            for (long nIdx = 0; nIdx < batch; nIdx++) {
                long base = (nIdx * channels + c) * spatialSize;
                for (long s = 0; s < spatialSize; s++) {
                    double d = x.getDouble(base + s) - mean;
                    sq += d * d;
                }
            }
            double var = sq / count;
            double a = in[1].getDouble(c) / Math.sqrt(var + epsilon);
            double shift = in[2].getDouble(c) - mean * a;
            for (long nIdx = 0; nIdx < batch; nIdx++) {
                affine(x, out[0], (nIdx * channels + c) * spatialSize, a, shift);
            }
            if (out.length > 1) {
                out[1].setDouble(c, in[3].getDouble(c) * momentum + mean * (1 - momentum));
            }
            if (out.length > 2) {
                out[2].setDouble(c, in[4].getDouble(c) * momentum + var * (1 - momentum));
            }
            if (out.length > 3) {
                out[3].setDouble(c, mean);
            }
            if (out.length > 4) {
                out[4].setDouble(c, var);
            }
        }
    }
}
