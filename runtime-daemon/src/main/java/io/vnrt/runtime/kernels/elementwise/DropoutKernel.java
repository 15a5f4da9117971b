package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Dropout in inference mode: the output is the input and the optional mask is all true (ratio is
 * ignored, as the spec says for inference). Training mode (a true training_mode input, opset 12+)
 * is refused: the engine runs inference only.
 */
final class DropoutKernel implements Kernel {
    private final TensorType[] outTypes;
    private final String name;

    DropoutKernel(TensorType in, boolean mask, DType maskType, String name) {
        this.outTypes = mask ? new TensorType[] {in, new TensorType(maskType, in.shape())} : new TensorType[] {in};
        this.name = name;
    }

    @Override
    public TensorType[] outputTypes() {
        return outTypes.clone();
    }

    @Override
    public int aliasOfInput(int outputIndex) {
        return outputIndex == 0 ? 0 : -1;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        if (inputs.length > 2 && inputs[2] != null && inputs[2].getLong(0) != 0) {
            throw new OpException(name + ": training_mode=true is not supported (this engine runs inference; "
                    + "export the model in eval mode or feed training_mode=false)");
        }
        Tensor in = inputs[0];
        Tensor out = outputs[0];
        MemorySegment.copy(in.data(), 0, out.data(), 0, in.byteSize());
        if (outputs.length > 1 && outputs[1] != null) {
            Tensor mask = outputs[1];
            if (mask.dtype() == DType.BOOL) {
                mask.data().fill((byte) 1);
            } else {
                for (long i = 0; i < mask.elementCount(); i++) {
                    mask.setDouble(i, 1);
                }
            }
        }
    }
}
