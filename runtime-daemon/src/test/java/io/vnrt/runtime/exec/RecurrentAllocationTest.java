package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A warmed-up LSTM's executions take no device memory and a Java-heap amount that does not grow
 * with the number of steps: the time loop allocates nothing, on one core and split over two.
 */
class RecurrentAllocationTest {

    private static long heapPerRun(int steps, int cores) throws Exception {
        Random rnd = new Random(steps);
        int h = 96;
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, (long) steps, 4L, 16L)
                .output("y", FLOAT32, (long) steps, 1L, 4L, (long) h).output("y_h", FLOAT32, 1L, 4L, (long) h)
                .initializer("w", gaussian(rnd, 1, 4 * h, 16)).initializer("r", gaussian(rnd, 1, 4 * h, h))
                .initializer("b", gaussian(rnd, 1, 8 * h))
                .node("LSTM", List.of("x", "w", "r", "b"), List.of("y", "y_h"), ModelBuilder.intAttr("hidden_size", h))
                .bytes();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(64 << 20)); CoreGroup group = new CoreGroup("rnn-ss", cores);
                LoadedModel model = new Engine().load("m", m, null, pool, group, "test", null, 0, "m")) {
            Map<String, Tensor> in = Map.of("x", gaussian(rnd, steps, 4, 16));
            Map<String, Tensor> out = Map.of("y", Tensor.allocate(FLOAT32, steps, 1, 4, h), "y_h", Tensor.allocate(FLOAT32, 1, 4, h));
            // until C2 has compiled the kernels, Vector API code runs boxed and allocates
            long warmUntil = System.nanoTime() + 2_000_000_000L;
            for (int i = 0; i < 50 || System.nanoTime() < warmUntil; i++) {
                model.execute(in, out);
            }
            long used = pool.usedBytes();
            var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            // the least of several measurements: a kernel still being compiled (a loaded machine) allocates
            // in one of them, an allocation of the time loop itself in every one
            long perRun = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 8; attempt++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 20; i++) {
                    model.execute(in, out);
                }
                perRun = Math.min(perRun, (threads.getCurrentThreadAllocatedBytes() - before) / 20);
            }
            assertEquals(used, pool.usedBytes(), "executions take no device memory");
            return perRun;
        }
    }

    @Test
    void stepsAllocateNothing() throws Exception {
        for (int cores : new int[] {1, 2}) {
            long few = heapPerRun(4, cores);
            long many = heapPerRun(64, cores);
            assertTrue(many < few + 1024, cores + " core(s): heap per execution does not grow with the steps: " + few
                    + " bytes for 4 steps, " + many + " for 64");
        }
    }
}
