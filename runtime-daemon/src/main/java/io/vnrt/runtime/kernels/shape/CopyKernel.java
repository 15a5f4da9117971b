package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * A kernel that is only byte movement: a list of strided copies from input views to output views.
 * Reshape-like operators are a single contiguous copy that also declares the output an alias of
 * the input, so a planner may skip it altogether.
 */
final class CopyKernel implements Kernel {
    /** One strided copy from input {@code input} (at srcOffset bytes) to output {@code output}. */
    record Part(int input, int output, long srcOffset, long dstOffset, StridedCopy copy) {}

    private final TensorType[] outputs;
    private final Part[] parts;
    private final int aliasInput;

    CopyKernel(TensorType[] outputs, Part[] parts, int aliasInput) {
        this.outputs = outputs;
        this.parts = parts;
        this.aliasInput = aliasInput;
    }

    /** Output 0 is input 0's bytes under another shape. */
    static CopyKernel alias(TensorType in, long[] outShape) {
        long n = in.elementCount();
        StridedCopy c = StridedCopy.of(new long[] {n}, new long[] {1}, new long[] {1}, in.dtype().byteSize());
        return new CopyKernel(new TensorType[] {new TensorType(in.dtype(), outShape)},
                new Part[] {new Part(0, 0, 0, 0, c)}, 0);
    }

    @Override
    public TensorType[] outputTypes() {
        return outputs.clone();
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        for (Part p : parts) {
            p.copy.run(in[p.input].data(), p.srcOffset, out[p.output].data(), p.dstOffset, ctx);
        }
    }

    @Override
    public int aliasOfInput(int outputIndex) {
        return outputIndex == 0 ? aliasInput : -1;
    }
}
