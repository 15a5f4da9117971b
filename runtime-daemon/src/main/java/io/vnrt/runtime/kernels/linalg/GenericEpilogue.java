package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * The fused scale, bias and activation of a MatMul or Gemm whose type has no float32 kernel
 * (float16, bfloat16, float64): the plain product first, then {@code act(scale · y + bias[j])}
 * element by element, computed in double and rounded once to the type. The optimizer fuses
 * without knowing element types, so these nodes must run, not be refused; the unfused nodes would
 * round after each step, so results can differ from them by a rounding of the type.
 */
final class GenericEpilogue implements Kernel {
    private final Kernel product;
    private final float scale;
    /** Input index of the bias (one value per output column), or -1. */
    private final int biasInput;
    private final Activation act;
    private final float actAlpha;

    GenericEpilogue(Kernel product, float scale, int biasInput, Activation act, float actAlpha) {
        this.product = product;
        this.scale = scale;
        this.biasInput = biasInput;
        this.act = act;
        this.actAlpha = actAlpha;
    }

    @Override
    public TensorType[] outputTypes() {
        return product.outputTypes();
    }

    @Override
    public long workspaceBytes() {
        return product.workspaceBytes();
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        product.run(in, out, ctx);
        Tensor y = out[0];
        Tensor bias = biasInput >= 0 && biasInput < in.length ? in[biasInput] : null;
        long[] shape = y.shape();
        long n = shape.length == 0 ? 1 : shape[shape.length - 1];
        for (long i = 0; i < y.elementCount(); i++) {
            double v = y.getDouble(i) * scale;
            if (bias != null) {
                v += bias.getDouble(i % n);
            }
            y.setDouble(i, act == null ? v : act.applyDouble(v, actAlpha));
        }
    }
}
