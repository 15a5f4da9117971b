package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;

import io.vnrt.runtime.kernels.Tensor;
import java.util.Random;

/** Tensors the engine tests feed their models. */
final class TestTensors {
    private TestTensors() {}

    /** A float32 tensor of standard-normal values drawn from {@code rnd}. */
    static Tensor gaussian(Random rnd, long... shape) {
        Tensor t = Tensor.allocate(FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) rnd.nextGaussian());
        }
        return t;
    }
}
