package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Models on different core groups run at the same time, and neither disturbs the other's results. */
class ConcurrentModelsTest {


    @Test
    void modelsOnDifferentCoreGroupsRunAtTheSameTime() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 4L).output("y", FLOAT32, 4L)
                .node("TRendezvous", List.of("x"), List.of("y")).bytes();
        Engine engine = new Engine(TestKernels.registry());
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(4 << 20));
                CoreGroup g0 = new CoreGroup("c0", 1); CoreGroup g1 = new CoreGroup("c1", 1);
                LoadedModel a = engine.load("a", m, null, pool, g0, "test", null, 0, "a");
                LoadedModel b = engine.load("b", m, null, pool, g1, "test", null, 1, "b");
                ExecutorService clients = Executors.newFixedThreadPool(2)) {
            Tensor xa = Tensor.ofFloats(new long[] {4}, 1, 2, 3, 4);
            Tensor xb = Tensor.ofFloats(new long[] {4}, 5, 6, 7, 8);
            for (int round = 0; round < 3; round++) {
                // Each run returns only when the other model's run is inside its kernel too: a
                // lock shared by the two would make both time out.
                TestKernels.RENDEZVOUS.set(new CountDownLatch(2));
                Future<Map<String, Tensor>> ra = clients.submit(() -> a.execute(Map.of("x", xa)));
                Future<Map<String, Tensor>> rb = clients.submit(() -> b.execute(Map.of("x", xb)));
                assertArrayEquals(new float[] {1, 2, 3, 4}, ra.get().get("y").toFloatArray());
                assertArrayEquals(new float[] {5, 6, 7, 8}, rb.get().get("y").toFloatArray());
            }
        } finally {
            TestKernels.RENDEZVOUS.set(new CountDownLatch(0));
        }
    }

    @Test
    void concurrentModelsGiveTheSameResultsAsAlone() throws Exception {
        Random rnd = new Random(11);
        List<byte[]> models = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            models.add(new ModelBuilder(13).input("x", FLOAT32, "N", 96L).output("y", FLOAT32, "N", 40L)
                    .initializer("w1", gaussian(rnd, 96, 80)).initializer("b1", gaussian(rnd, 80))
                    .initializer("w2", gaussian(rnd, 80, 40))
                    .node("MatMul", List.of("x", "w1"), List.of("h"))
                    .node("Add", List.of("h", "b1"), List.of("hb"))
                    .node("Relu", List.of("hb"), List.of("r"))
                    .node("MatMul", List.of("r", "w2"), List.of("y")).bytes());
        }
        Tensor[] inputs = {gaussian(rnd, 37, 96), gaussian(rnd, 37, 96)};
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(8 << 20));
                CoreGroup g0 = new CoreGroup("c0", 1); CoreGroup g1 = new CoreGroup("c1", 1);
                LoadedModel a = new Engine().load("a", models.get(0), null, pool, g0, "test", null, 0, "a");
                LoadedModel b = new Engine().load("b", models.get(1), null, pool, g1, "test", null, 1, "b");
                ExecutorService clients = Executors.newFixedThreadPool(2)) {
            LoadedModel[] both = {a, b};
            float[][] alone = new float[2][];
            for (int k = 0; k < 2; k++) {
                alone[k] = both[k].execute(Map.of("x", inputs[k])).get("y").toFloatArray();
            }
            long used = pool.usedBytes();
            List<Future<?>> runs = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                int kk = k;
                runs.add(clients.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        assertArrayEquals(alone[kk], both[kk].execute(Map.of("x", inputs[kk])).get("y").toFloatArray(),
                                "model " + kk + ", run " + i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : runs) {
                f.get();
            }
            assertEquals(used, pool.usedBytes(), "executions allocate no device memory");
        }
    }
}
