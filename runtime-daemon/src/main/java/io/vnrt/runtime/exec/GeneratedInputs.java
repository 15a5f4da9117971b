package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Inputs for warm-up runs, made from a model's input specs: seeded Gaussian floats, zero integers
 * and false booleans (zero is a valid index for any gather), symbolic dims from {@code dims} or 1.
 * They live in native memory of the caller's arena, as every execution input does (the daemon
 * copies inputs that arrive on the heap), so that the JIT sees only the kind of memory real
 * executions bring.
 */
public final class GeneratedInputs {
    private GeneratedInputs() {}

    /** One tensor per input, in the model's order. */
    public static Map<String, Tensor> of(List<ValueInfo> inputs, Map<String, Long> dims, Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Random rnd = new Random(0x5eedL);
        for (ValueInfo in : inputs) {
            long[] shape = in.shape(symbol -> dims.getOrDefault(symbol, 1L));
            long bytes = Math.multiplyExact(Shapes.elementCount(shape), in.dtype().byteSize());
            if (bytes > Integer.MAX_VALUE) {
                throw new ArithmeticException(in.name() + " would take " + bytes + " bytes");
            }
            Tensor t = new Tensor(in.dtype(), shape, arena.allocate(Math.max(1, bytes), 64).asSlice(0, bytes));
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
