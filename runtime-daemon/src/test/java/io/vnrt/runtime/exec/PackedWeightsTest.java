package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pre-packed GEMM weights live in the device's pool as weights, once per model, and go with it. */
class PackedWeightsTest {


    @Test
    void packedWeightsAreChargedToThePoolOncePerModel() throws Exception {
        Random rnd = new Random(5);
        Tensor w = gaussian(rnd, 64, 48);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "N", 64L).output("y", FLOAT32, "N", 48L)
                .initializer("w", w).node("MatMul", List.of("x", "w"), List.of("y")).bytes();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(8 << 20)); CoreGroup group = new CoreGroup("pw", 1)) {
            try (LoadedModel model = new Engine().load("mm", m, null, pool, group, "test", null, 0, "mm")) {
                long atLoad = model.packedWeightBytes();
                assertTrue(atLoad >= 64 * 48 * 4, "the symbolic model's weights are packed at load: " + atLoad);
                for (long n : new long[] {3, 5, 3}) {
                    Tensor x = gaussian(rnd, n, 64);
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
                assertEquals(atLoad, packed, "one packed copy, shared by both plans");
                assertEquals(packed, model.weightsBytes(), "the weight is placed once, as its packed panels");
                assertEquals(model.weightsBytes(), (long) pool.stats().byCategory().get(MemoryCategory.WEIGHTS));
            }
            assertEquals(0, pool.usedBytes(), "unloading frees the packed weights too");
        }
    }

    @Test
    void packedWeightsThatDoNotFitFailTheLoadAndLeaveNothing() throws Exception {
        Tensor w = gaussian(new Random(6), 256, 256);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 1L, 256L).output("y", FLOAT32, 1L, 256L)
                .initializer("w", w).node("MatMul", List.of("x", "w"), List.of("y")).bytes();
        // no room for the 256 KiB of packed panels
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(192 << 10)); CoreGroup group = new CoreGroup("pw", 1)) {
            DeviceMemoryExhaustedException e = assertThrows(DeviceMemoryExhaustedException.class,
                    () -> new Engine().load("mm", m, null, pool, group, "test", null, 0, "mm"));
            assertTrue(e.getMessage().contains("packed weights"), e.getMessage());
            assertEquals(0, pool.usedBytes());
        }
    }

    @Test
    void aWeightAlsoReadAsItCameIsPlacedBothWays() throws Exception {
        Random rnd = new Random(7);
        Tensor w = gaussian(rnd, 32, 32);
        // y = x·w + w: the Add reads w's own bytes, so w stays beside its packed copy.
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 32L, 32L).output("y", FLOAT32, 32L, 32L)
                .initializer("w", w)
                .node("MatMul", List.of("x", "w"), List.of("p"))
                .node("Add", List.of("p", "w"), List.of("y")).bytes();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(8 << 20)); CoreGroup group = new CoreGroup("pw", 1)) {
            try (LoadedModel model = new Engine().load("mm", m, null, pool, group, "test", null, 0, "mm")) {
                assertEquals(32 * 32 * 4 + model.packedWeightBytes(), model.weightsBytes());
                Tensor x = gaussian(rnd, 32, 32);
                Tensor y = model.execute(Map.of("x", x)).get("y");
                for (int i = 0; i < 32; i++) {
                    for (int j = 0; j < 32; j++) {
                        double ref = w.getFloat(i * 32L + j);
                        for (int k = 0; k < 32; k++) {
                            ref += x.getFloat(i * 32L + k) * w.getFloat(k * 32L + j);
                        }
                        assertEquals(ref, y.getFloat(i * 32L + j), 1e-4 * (1 + Math.abs(ref)));
                    }
                }
            }
            assertEquals(0, pool.usedBytes());
        }
    }

    @Test
    void aWithheldConstantRefusesToBeReadOrPackedAnew() throws Exception {
        Tensor t = Tensor.withheld(FLOAT32, new long[] {4, 8}, "constant 'w' is only packed");
        assertEquals(128, t.byteSize());
        assertEquals("constant 'w' is only packed", assertThrows(IllegalStateException.class, t::data).getMessage());
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(1 << 20));
                PackedConstants store = new PackedConstants(new HbmModelMemory(pool, "s", "test", 0, "m"), "m")) {
            store.get("w", "panels", 64, seg -> seg.fill((byte) 1));
            store.withhold(java.util.Set.of("w"));
            assertEquals(64, store.get("w", "panels", 64, seg -> { throw new AssertionError("cached"); }).byteSize());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> store.get("w", "rows", 64, seg -> { }));
            assertTrue(e.getMessage().contains("held only as panels") && e.getMessage().contains("as rows"), e.getMessage());
        }
    }
}
