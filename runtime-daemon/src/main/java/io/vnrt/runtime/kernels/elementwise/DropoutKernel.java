package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Dropout. In inference (no training_mode input, or false) the output is the input and the
 * optional mask is all true; ratio is ignored. With training_mode true (opset 12+) each element is
 * kept when a uniform draw is >= ratio and scaled by 1/(1 - ratio); draws come from
 * {@link DropoutMask} seeded by the {@code seed} attribute, so a run is reproducible.
 */
final class DropoutKernel implements Kernel {
    private final TensorType[] outTypes;
    private final boolean mayTrain;
    private final long seed;
    private final float defaultRatio;

    /**
     * @param mayTrain whether a training_mode input exists that is not a constant false
     * @param defaultRatio ratio when the ratio input is absent
     */
    DropoutKernel(TensorType in, boolean mask, DType maskType, boolean mayTrain, long seed, float defaultRatio) {
        this.outTypes = mask ? new TensorType[] {in, new TensorType(maskType, in.shape())} : new TensorType[] {in};
        this.mayTrain = mayTrain;
        this.seed = seed;
        this.defaultRatio = defaultRatio;
    }

    @Override
    public TensorType[] outputTypes() {
        return outTypes.clone();
    }

    @Override
    public int aliasOfInput(int outputIndex) {
        return outputIndex == 0 && !mayTrain ? 0 : -1;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor in = inputs[0];
        Tensor out = outputs[0];
        Tensor mask = outputs.length > 1 ? outputs[1] : null;
        boolean training = mayTrain && inputs.length > 2 && inputs[2] != null && inputs[2].getLong(0) != 0;
        double ratio = inputs.length > 1 && inputs[1] != null ? inputs[1].getDouble(0) : defaultRatio;
        if (!training || ratio == 0) {
            MemorySegment.copy(in.data(), 0, out.data(), 0, in.byteSize());
            if (mask != null) {
                fillTrue(mask);
            }
            return;
        }
        DropoutMask random = new DropoutMask(seed);
        float scale = (float) (1 / (1 - ratio));
        long n = in.elementCount();
        for (long i = 0; i < n; i++) {
            boolean keep = random.nextDouble() >= ratio;
            out.setDouble(i, keep ? (float) in.getDouble(i) * scale : 0);
            if (mask != null) {
                mask.setLong(i, keep ? 1 : 0);
            }
        }
    }

    private static void fillTrue(Tensor mask) {
        if (mask.dtype() == DType.BOOL) {
            mask.data().fill((byte) 1);
        } else {
            for (long i = 0; i < mask.elementCount(); i++) {
                mask.setDouble(i, 1);
            }
        }
    }
}
