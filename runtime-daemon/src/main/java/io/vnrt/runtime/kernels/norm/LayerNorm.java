package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.Arrays;

/**
 * LayerNormalization (opset 17) and RMSNormalization (opset 23): each row of the dims from
 * {@code axis} on is normalised (LayerNorm subtracts its mean, RMS does not), then scaled
 * (and, for LayerNorm, biased) by tensors broadcast over that row. LayerNorm's optional Mean and
 * InvStdDev outputs have the input's shape with the normalised dims set to 1, in the stash type.
 */
final class LayerNorm implements Kernel {
    private final boolean rms;
    private final TensorType[] outTypes;
    private final long outer;
    private final long n;
    private final float epsilon;
    /** Row offset to scale/bias offset mapping for broadcast parameters (null when they fill the row). */
    private final long[] normShape;
    private final long[] scaleStrides;
    private final long[] biasStrides;
    private final boolean fast;

    private LayerNorm(boolean rms, TensorType[] outTypes, long outer, long n, float epsilon, long[] normShape,
                      long[] scaleStrides, long[] biasStrides, boolean fast) {
        this.rms = rms;
        this.outTypes = outTypes;
        this.outer = outer;
        this.n = n;
        this.epsilon = epsilon;
        this.normShape = normShape;
        this.scaleStrides = scaleStrides;
        this.biasStrides = biasStrides;
        this.fast = fast;
    }

    static LayerNorm create(NodeContext node, boolean rms) {
        return create(node, rms, node.inputType(0), 1);
    }

    /**
     * The kernel for input X of type {@code in} with Scale (and B) at inputs {@code param} (and
     * {@code param + 1}) of the node: 1 for LayerNormalization itself, later for a fused node
     * that computes X first.
     */
    static LayerNorm create(NodeContext node, boolean rms, TensorType in, int param) {
        if (!in.dtype().isFloatingPoint()) {
            throw node.error("X must be a floating-point tensor, got " + in);
        }
        long[] shape = in.shape();
        int axis;
        try {
            axis = Shapes.axis(node.attrInt("axis", -1), shape.length);
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage());
        }
        float epsilon = node.attrFloat("epsilon", 1e-5f);
        DType stash;
        try {
            stash = DType.fromOnnx((int) node.attrInt("stash_type", 1));
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage());
        }
        long outer = 1;
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) {
                outer *= shape[i];
            } else {
                n *= shape[i];
            }
        }
        long[] normShape = Arrays.copyOfRange(shape, axis, shape.length);
        TensorType scale = node.inputType(param);
        TensorType bias = !rms && node.hasInput(param + 1) ? node.inputType(param + 1) : null;
        long[] scaleStrides = paramStrides(node, "Scale", scale, normShape);
        long[] biasStrides = bias == null ? null : paramStrides(node, "B", bias, normShape);
        boolean fast = in.dtype() == DType.FLOAT32 && scale.dtype() == DType.FLOAT32 && scale.elementCount() == n
                && (bias == null || (bias.dtype() == DType.FLOAT32 && bias.elementCount() == n));

        int outputs = rms ? 1 : Math.max(1, node.outputCount());
        TensorType[] types = new TensorType[outputs];
        types[0] = in;
        long[] statShape = shape.clone();
        for (int i = axis; i < statShape.length; i++) {
            statShape[i] = 1;
        }
        for (int i = 1; i < outputs; i++) {
            types[i] = new TensorType(stash, statShape);
        }
        return new LayerNorm(rms, types, outer, n, epsilon, normShape, scaleStrides, biasStrides, fast);
    }

    /** Strides to read a scale/bias tensor as the normalised shape; it must broadcast to it. */
    private static long[] paramStrides(NodeContext node, String name, TensorType t, long[] normShape) {
        long[] s = t.shape();
        int lead = 0;
        while (s.length - lead > normShape.length && s[lead] == 1) {
            lead++;
        }
        long[] trimmed = Arrays.copyOfRange(s, lead, s.length);
        try {
            if (!Arrays.equals(Shapes.broadcast(trimmed, normShape), normShape)) {
                throw new IllegalArgumentException("it would change the normalised shape");
            }
        } catch (IllegalArgumentException e) {
            throw node.error(name + " " + t + " does not broadcast to the normalised dims "
                    + Arrays.toString(normShape) + ": " + e.getMessage());
        }
        return Shapes.broadcastStrides(trimmed, normShape);
    }

    @Override
    public TensorType[] outputTypes() {
        return outTypes.clone();
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor scale = inputs[1];
        Tensor bias = !rms && inputs.length > 2 ? inputs[2] : null;
        Tensor y = outputs[0];
        Tensor mean = outputs.length > 1 ? outputs[1] : null;
        Tensor invStd = outputs.length > 2 ? outputs[2] : null;
        if (n == 0 || outer == 0) {
            return;
        }
        int tasks = Split.tasks(x.elementCount() * 3, outer, ctx.parallelism());
        ctx.parallelFor(tasks, t -> {
            long from = Split.start(outer, tasks, t);
            long to = Split.start(outer, tasks, t + 1);
            if (fast) {
                rowsVector(x, scale, bias, y, mean, invStd, from, to);
            } else {
                reference(x, scale, bias, y, mean, invStd, from, to);
            }
        });
    }

    /** Whether rows take the float32 vector path (else the double-precision reference). */
    boolean fast() {
        return fast;
    }

    /** Elements per normalised row. */
    long rowLength() {
        return n;
    }

    /** Rows [from, to) of X into Y (X may be Y: each row is read before it is written). */
    void rows(Tensor x, Tensor scale, Tensor bias, Tensor y, long from, long to) {
        if (fast) {
            rowsVector(x, scale, bias, y, null, null, from, to);
        } else {
            reference(x, scale, bias, y, null, null, from, to);
        }
    }

    private void rowsVector(Tensor x, Tensor scale, Tensor bias, Tensor y, Tensor mean, Tensor invStd,
                            long from, long to) {
        for (long r = from; r < to; r++) {
            long base = r * n;
            float m = rms ? 0f : RowVectors.sum(x.data(), base, n) / n;
            float var = RowVectors.sumSquares(x.data(), base, n, m) / n;
            float inv = (float) (1.0 / Math.sqrt(var + epsilon));
            RowVectors.normalizeRow(x.data(), y.data(), base, n, m, inv, scale.data(),
                    bias == null ? null : bias.data());
            if (mean != null) {
                mean.setDouble(r, m);
            }
            if (invStd != null) {
                invStd.setDouble(r, inv);
            }
        }
    }

    /** Scalar double-precision path for any float dtype and broadcast parameters; the vector path's oracle. */
    void reference(Tensor x, Tensor scale, Tensor bias, Tensor y, Tensor mean, Tensor invStd, long from, long to) {
        for (long r = from; r < to; r++) {
            long base = r * n;
            double m = 0;
            if (!rms) {
                for (long i = 0; i < n; i++) {
                    m += x.getDouble(base + i);
                }
                m /= n;
            }
            double var = 0;
            for (long i = 0; i < n; i++) {
                double d = x.getDouble(base + i) - m;
                var += d * d;
            }
            var /= n;
            double inv = 1.0 / Math.sqrt(var + epsilon);
            for (long i = 0; i < n; i++) {
                double v = (x.getDouble(base + i) - m) * inv * scale.getDouble(paramOffset(i, scaleStrides));
                if (bias != null) {
                    v += bias.getDouble(paramOffset(i, biasStrides));
                }
                y.setDouble(base + i, v);
            }
            if (mean != null) {
                mean.setDouble(r, m);
            }
            if (invStd != null) {
                invStd.setDouble(r, inv);
            }
        }
    }

    private long paramOffset(long i, long[] strides) {
        long off = 0;
        for (int d = normShape.length - 1; d >= 0; d--) {
            off += (i % normShape[d]) * strides[d];
            i /= normShape[d];
        }
        return off;
    }
}
