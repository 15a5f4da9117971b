package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Inputs for warm-up runs, made from a model's input specs: seeded Gaussian floats, zero integers
 * and false booleans (zero is a valid index for any gather), symbolic dims from {@code dims} or 1.
 * They live on the Java heap, as the inputs of an Execute request that carries them inline do, so
 * that the JIT sees the kind of memory real requests bring.
 */
public final class GeneratedInputs {
    private GeneratedInputs() {}

    /** One tensor per input, in the model's order. */
    public static Map<String, Tensor> of(List<ValueInfo> inputs, Map<String, Long> dims) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Random rnd = new Random(0x5eedL);
        for (ValueInfo in : inputs) {
            long[] shape = in.shape(symbol -> dims.getOrDefault(symbol, 1L));
            long bytes = Math.multiplyExact(Shapes.elementCount(shape), in.dtype().byteSize());
            Tensor t = new Tensor(in.dtype(), shape, MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]));
            if (in.dtype().isFloatingPoint()) {
                for (long i = 0; i < t.elementCount(); i++) {
                    t.setDouble(i, rnd.nextGaussian());
                }
            }
            out.put(in.name(), t);
        }
        return out;
    }
}
