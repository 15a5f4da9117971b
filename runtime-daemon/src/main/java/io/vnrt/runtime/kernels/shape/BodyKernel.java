package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * A kernel whose output types are fixed at compile time and whose work is one function; used by
 * the operators of this family that need nothing else (no alias, no workspace).
 */
final class BodyKernel implements Kernel {
    /** The computation of run(). */
    @FunctionalInterface
    interface Body {
        void run(Tensor[] in, Tensor[] out, ExecContext ctx);
    }

    private final TensorType[] outputs;
    private final Body body;
    private final boolean readsInputs;

    BodyKernel(TensorType[] outputs, Body body, boolean readsInputs) {
        this.outputs = outputs;
        this.body = body;
        this.readsInputs = readsInputs;
    }

    BodyKernel(TensorType output, Body body) {
        this(new TensorType[] {output}, body, true);
    }

    @Override
    public TensorType[] outputTypes() {
        return outputs.clone();
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        body.run(in, out, ctx);
    }

    @Override
    public boolean readsInput(int inputIndex) {
        return readsInputs;
    }
}
