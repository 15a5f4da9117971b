package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pre-packed GEMM weights live in the device's pool as weights, once per model, and go with it. */
class PackedWeightsTest {

    private static Tensor random(Random rnd, long... shape) {
        Tensor t = Tensor.allocate(FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) rnd.nextGaussian());
        }
        return t;
    }

    @Test
    void packedWeightsAreChargedToThePoolOncePerModel() throws Exception {
        Random rnd = new Random(5);
        Tensor w = random(rnd, 64, 48);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "N", 64L).output("y", FLOAT32, "N", 48L)
                .initializer("w", w).node("MatMul", List.of("x", "w"), List.of("y")).bytes();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(8 << 20)); CoreGroup group = new CoreGroup("pw", 1)) {
            try (LoadedModel model = new Engine().load("mm", m, null, pool, group, "test", null, 0, "mm")) {
                for (long n : new long[] {3, 5, 3}) {
                    Tensor x = random(rnd, n, 64);
                    Tensor y = model.execute(Map.of("x", x)).get("y");
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < 48; j++) {
                            double ref = 0;
                            for (int k = 0; k < 64; k++) {
                                ref += x.getFloat(i * 64L + k) * w.getFloat(k * 48L + j);
                            }
                            assertEquals(ref, y.getFloat(i * 48L + j), 1e-4 * (1 + Math.abs(ref)));
                        }
                    }
                }
                assertEquals(2, model.planCount());
                long packed = model.packedWeightBytes();
                assertTrue(packed >= 64 * 48 * 4, "packed panels cover the weight matrix: " + packed);
                assertEquals(64 * 48 * 4 + packed, model.weightsBytes(), "constants plus one packed copy, shared by both plans");
                assertEquals(model.weightsBytes(), (long) pool.stats().byCategory().get(MemoryCategory.WEIGHTS));
            }
            assertEquals(0, pool.usedBytes(), "unloading frees the packed weights too");
        }
    }

    @Test
    void packedWeightsThatDoNotFitFailTheLoadAndLeaveNothing() throws Exception {
        Tensor w = random(new Random(6), 256, 256);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 1L, 256L).output("y", FLOAT32, 1L, 256L)
                .initializer("w", w).node("MatMul", List.of("x", "w"), List.of("y")).bytes();
        // room for the 256 KiB of constants, not for their packed copy as well
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(384 << 10)); CoreGroup group = new CoreGroup("pw", 1)) {
            HbmExhaustedException e = assertThrows(HbmExhaustedException.class,
                    () -> new Engine().load("mm", m, null, pool, group, "test", null, 0, "mm"));
            assertTrue(e.getMessage().contains("packed weights"), e.getMessage());
            assertEquals(0, pool.usedBytes());
        }
    }
}
