package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The load-time check of models with symbolic dims refuses only what is wrong at every binding:
 * shape problems at some trial sizes are warnings, and real shapes that hit one fail at execution
 * with a message naming the input dims, leaving the pool as it was.
 */
class SymbolicDimsLoadTest {
    private final Engine engine = new Engine();
    private final CoreGroup group = new CoreGroup("symbolic-test", 2);
    private final HbmPool pool = new HbmPool(0, HbmBacking.anonymous(64 << 20));

    @AfterEach
    void close() {
        group.close();
        pool.close();
    }

    private LoadedModel load(byte[] model) throws Exception {
        return engine.load("m", model, null, pool, group, "test", null, 0, "m");
    }

    @Test
    void aCnnThatFailsAtSmallTrialSizesLoadsWithWarningsAndRunsAtRealSizes() throws Exception {
        try (LoadedModel model = load(ShrinkingCnn.model())) {
            List<String> warnings = model.loadWarnings();
            assertTrue(warnings.stream().anyMatch(w -> w.contains("(Conv, opset 9): window of 3 does not fit")
                    && w.endsWith("(with every symbolic dim set to 1)")), warnings.toString());
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("node 'maxpool4' (MaxPool, opset 9): window of 2")
                    && w.endsWith("(with every symbolic dim set to 8)")), warnings.toString());
            for (int size : new int[] {224, 97, 34}) {
                Tensor y = model.execute(Map.of("x", ShrinkingCnn.ones(size))).get("y");
                assertArrayEquals(new long[] {1, 4, 1, 1}, y.shape());
                assertArrayEquals(ShrinkingCnn.ONES_OUTPUT, y.toFloatArray(), "size " + size);
            }
            long used = pool.usedBytes();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.execute(Map.of("x", ShrinkingCnn.ones(33))));
            assertEquals("cannot run with these input shapes: MaxPool 'maxpool6' (opset 9): window of 2"
                    + " does not fit axis 0 of size 1 with pads 0+0 (input 'x' is float32[1, 3, 33, 33]; N=1, H=33, W=33)",
                    e.getMessage());
            assertEquals(used, pool.usedBytes(), "a refused execution allocates nothing");
            assertArrayEquals(ShrinkingCnn.ONES_OUTPUT, model.execute(Map.of("x", ShrinkingCnn.ones(34))).get("y")
                    .toFloatArray(), "still runs after a refusal");
        }
        assertEquals(0, pool.usedBytes());
    }

    @Test
    void aProblemAtEveryBindingStillRefusesTheModel() {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "N", 3L, "H", "W").output("y", FLOAT32, "N", 3L, "h", "w")
                .node("MaxPool", List.of("x"), List.of("y"), ModelBuilder.intsAttr("kernel_shape", 2, 2, 2)).bytes();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> load(m));
        assertEquals(1, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("node 'maxpool0' (MaxPool, opset 13): kernel_shape [2, 2, 2] does not match 2 "
                + "spatial axes (found with every symbolic dim set to each of [1, 8, 64, 512])"), e.getMessage());
        assertEquals(0, pool.usedBytes());
    }

    @Test
    void aModelThatCompilesAtOneHasNoWarnings() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "N", 4L).output("y", FLOAT32, "N", 4L)
                .node("Relu", List.of("x"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            assertEquals(List.of(), model.loadWarnings());
        }
    }
}
