package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.ModelBuilder.floatAttr;
import static io.vnrt.runtime.exec.ModelBuilder.intAttr;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.LoadProblem;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine end to end on models built in the test, with the simple kernels of {@link TestKernels}. */
class EngineTest {
    private final Engine engine = new Engine(TestKernels.registry());
    private final CoreGroup group = new CoreGroup("engine-test", 2);
    private final HbmPool pool = new HbmPool(0, HbmBacking.anonymous(16 << 20));

    @AfterEach
    void close() {
        group.close();
        pool.close();
    }

    private LoadedModel load(byte[] model) throws Exception {
        return engine.load("m", model, null, pool, group, "test", null, 0, "m");
    }

    private static Tensor floats(long[] shape, float... v) {
        return Tensor.ofFloats(shape, v);
    }

    @Test
    void runsAStaticGraphWithWeightsInHbm() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L, 2L).output("y", FLOAT32, 2L, 2L)
                .initializer("b", floats(new long[] {2, 2}, 1, -10, 1, 1))
                .node("TAdd", List.of("x", "b"), List.of("s"))
                .node("TRelu", List.of("s"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            assertEquals(64, model.weightsBytes());
            assertTrue(model.scratchBytes() > 0);
            assertEquals(64 + model.scratchBytes(), pool.usedBytes(), "weights and scratch live in the pool");
            Map<String, Tensor> out = model.execute(Map.of("x", floats(new long[] {2, 2}, 1, 2, -3, 4)));
            assertArrayEquals(new float[] {2, 0, 0, 5}, out.get("y").toFloatArray());
            assertEquals(1, model.planCount());
        }
        assertEquals(0, pool.usedBytes(), "close frees the model's HBM");
    }

    @Test
    void reportsEveryProblemAtOnce() {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L).output("y", FLOAT32, 2L).output("z", FLOAT32, 2L)
                .output("w", FLOAT32, 3L)
                .node("NoSuchOp", List.of("x"), List.of("a"))
                .node("TRelu", List.of("missing"), List.of("b"))
                .node("TScale", List.of("x"), List.of("y"), intAttr("alpha", 2))
                .node("TRelu", List.of("x"), List.of("w"))
                .node("TAdd", List.of("a", "b"), List.of("z")).bytes();
        long before = pool.usedBytes();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> load(m));
        List<LoadProblem> p = e.problems();
        String all = e.getMessage();
        assertEquals(4, p.size(), all);
        assertTrue(all.contains("node 'nosuchop0' (NoSuchOp, opset 13): unsupported operator NoSuchOp"), all);
        assertTrue(all.contains("input 'missing' is not defined"), all);
        assertTrue(all.contains("attribute 'alpha' must be of type float, the model gives int"), all);
        assertTrue(all.contains("output 'w' is declared float32[3] but computes to float32[2]"), all);
        assertEquals(before, pool.usedBytes());
    }

    @Test
    void checksModelsWithSymbolicDimsAtLoad() {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "batch", 4L).output("y", FLOAT32, "batch", 4L)
                .node("TScale", List.of("x"), List.of("a"), ModelBuilder.intAttr("alpha", 3))
                .node("TRelu", List.of("a"), List.of("y")).bytes();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> load(m));
        assertTrue(e.getMessage().contains("attribute 'alpha' must be of type float"), e.getMessage());
        assertEquals(0, pool.usedBytes());
    }

    @Test
    void steadyStateExecutionsAllocateLittleAndNothingSizeDependent() throws Exception {
        long[] perRun = new long[2];
        long[] sizes = {1_000, 1_000_000};
        for (int k = 0; k < 2; k++) {
            long n = sizes[k];
            byte[] m = new ModelBuilder(13).input("x", FLOAT32, n).output("y", FLOAT32, n)
                    .node("TRelu", List.of("x"), List.of("a")).node("TWorkspace", List.of("a"), List.of("b"))
                    .node("TRelu", List.of("b"), List.of("y")).bytes();
            try (LoadedModel model = load(m)) {
                Map<String, Tensor> in = Map.of("x", Tensor.allocate(FLOAT32, n));
                Map<String, Tensor> out = Map.of("y", Tensor.allocate(FLOAT32, n));
                long used = pool.usedBytes();
                for (int i = 0; i < 3; i++) {
                    model.execute(in, out);
                }
                var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 10; i++) {
                    model.execute(in, out);
                }
                perRun[k] = (threads.getCurrentThreadAllocatedBytes() - before) / 10;
                assertEquals(used, pool.usedBytes(), "no device memory allocated by executions");
            }
        }
        assertTrue(perRun[1] < 16_384, "Java heap per execution: " + perRun[1] + " bytes");
        assertTrue(perRun[1] < perRun[0] + 1024, "heap per execution does not grow with tensor size: " + perRun[0] + " vs " + perRun[1]);
    }

    @Test
    void reportsCycles() {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L).output("y", FLOAT32, 2L)
                .node("TAdd", List.of("x", "c"), List.of("b"))
                .node("TRelu", List.of("b"), List.of("c"))
                .node("TRelu", List.of("c"), List.of("y")).bytes();
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> load(m));
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
    }

    @Test
    void rejectsOldOpsetsAndGarbage() {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> load(new ModelBuilder(6).input("x", FLOAT32, 2L).output("y", FLOAT32, 2L)
                        .node("TRelu", List.of("x"), List.of("y")).bytes()));
        assertTrue(e.getMessage().contains("opset 6") && e.getMessage().contains("[TRelu] changed"), e.getMessage());
        assertThrows(ModelLoadException.class, () -> load(new byte[] {1, 2, 3, 4, 5}));
    }

    @Test
    void validatesInputs() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "batch", 2L).input("y", FLOAT32, "batch", 2L)
                .output("z", FLOAT32, "batch", 2L).node("TAdd", List.of("x", "y"), List.of("z")).bytes();
        try (LoadedModel model = load(m)) {
            Tensor ok = floats(new long[] {1, 2}, 1, 2);
            String msg = assertThrows(IllegalArgumentException.class, () -> model.execute(Map.of("x", ok, "q", ok))).getMessage();
            assertTrue(msg.contains("unknown input 'q'") && msg.contains("missing input 'y'") && msg.contains("x: float32[batch,2]"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> model.execute(Map.of("x", ok, "y", Tensor.ofLongs(new long[] {1, 2}, 1, 2)))).getMessage();
            assertTrue(msg.contains("input 'y' must be float32, got int64"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> model.execute(Map.of("x", ok, "y", floats(new long[] {2}, 1, 2)))).getMessage();
            assertTrue(msg.contains("input 'y' must have rank 2"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> model.execute(Map.of("x", ok, "y", floats(new long[] {1, 3}, 1, 2, 3)))).getMessage();
            assertTrue(msg.contains("input 'y' dimension 1 must be 2"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> model.execute(Map.of("x", ok, "y", floats(new long[] {2, 2}, 1, 2, 3, 4)))).getMessage();
            assertTrue(msg.contains("binds 'batch' to 1"), msg);
            Tensor nan = floats(new long[] {1, 2}, Float.NaN, Float.POSITIVE_INFINITY);
            Tensor out = model.execute(Map.of("x", nan, "y", ok)).get("z");
            assertTrue(Float.isNaN(out.getFloat(0)) && out.getFloat(1) == Float.POSITIVE_INFINITY);
        }
    }

    @Test
    void compilesOnePlanPerShapeAndGrowsScratch() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, "n").output("y", FLOAT32, "n")
                .node("TRelu", List.of("x"), List.of("a")).node("TRelu", List.of("a"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            assertEquals(0, model.planCount(), "symbolic inputs: compiled at first execution");
            assertArrayEquals(new float[] {0, 1}, model.execute(Map.of("x", floats(new long[] {2}, -1, 1))).get("y").toFloatArray());
            long small = model.scratchBytes();
            float[] big = new float[1000];
            big[999] = 7;
            assertEquals(7f, model.execute(Map.of("x", floats(new long[] {1000}, big))).get("y").getFloat(999));
            assertEquals(2, model.planCount());
            assertTrue(model.scratchBytes() > small);
            model.execute(Map.of("x", floats(new long[] {2}, -1, 1)));
            assertEquals(2, model.planCount(), "plans are cached per signature");
        }
        assertEquals(0, pool.usedBytes());
    }

    @Test
    void foldsConstantsAndShapesAndReusesScratch() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 1000L).output("y", FLOAT32, 1000L)
                .initializer("one", floats(new long[0], 1))
                .initializer("two", floats(new long[0], 2))
                .node("TAdd", List.of("one", "two"), List.of("three"))
                .node("TShape", List.of("x"), List.of("shape"))
                .node("TAdd", List.of("x", "three"), List.of("a"))
                .node("TRelu", List.of("a"), List.of("b"))
                .node("TRelu", List.of("b"), List.of("c"))
                .node("TRelu", List.of("c"), List.of("d"))
                .node("TReshape", List.of("d", "shape"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            ExecutionPlan plan = model.plan(List.of(new TensorType(FLOAT32, new long[] {1000})));
            assertEquals(4, plan.kernelCount(), "1+2 and Shape folded, the reshape aliased");
            assertEquals(64, model.weightsBytes(), "only the folded constant 3 stays as a weight");
            assertTrue(plan.scratchBytes() <= 2 * 4032, "two live buffers at a time suffice: " + plan.scratchBytes());
            float[] x = new float[1000];
            x[5] = -2;
            x[6] = 1;
            float[] y = model.execute(Map.of("x", floats(new long[] {1000}, x))).get("y").toFloatArray();
            assertEquals(1f, y[5]);
            assertEquals(4f, y[6]);
            assertEquals(3f, y[0]);
        }
    }

    @Test
    void defersNodesWhoseShapeDependsOnInputValues() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 6L).input("shape", INT64, 2L).output("y", FLOAT32, "a", "b")
                .node("TRelu", List.of("x"), List.of("r"))
                .node("TReshape", List.of("r", "shape"), List.of("s"))
                .node("TScale", List.of("s"), List.of("y"), floatAttr("alpha", 2f)).bytes();
        try (LoadedModel model = load(m)) {
            Tensor x = floats(new long[] {6}, 1, -2, 3, 4, 5, 6);
            Tensor y = model.execute(Map.of("x", x, "shape", Tensor.ofLongs(new long[] {2}, 3, 2))).get("y");
            assertArrayEquals(new long[] {3, 2}, y.shape());
            assertArrayEquals(new float[] {2, 0, 6, 8, 10, 12}, y.toFloatArray());
            y = model.execute(Map.of("x", x, "shape", Tensor.ofLongs(new long[] {2}, 1, 6))).get("y");
            assertArrayEquals(new long[] {1, 6}, y.shape());
        }
    }

    @Test
    void workspaceAndCallerProvidedOutputs() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L).output("y", FLOAT32, 3L)
                .node("TWorkspace", List.of("x"), List.of("a"))
                .node("TWorkspace", List.of("a"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            Tensor out = Tensor.allocate(FLOAT32, 3);
            model.execute(Map.of("x", floats(new long[] {3}, 1, 2, 3)), Map.of("y", out));
            assertArrayEquals(new float[] {1, 2, 3}, out.toFloatArray());
            Tensor wrong = Tensor.allocate(FLOAT32, 4);
            assertThrows(IllegalArgumentException.class, () -> model.execute(Map.of("x", floats(new long[] {3}, 1, 2, 3)), Map.of("y", wrong)));
        }
    }

    @Test
    void kernelsWriteStraightIntoCallerOutputs() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L).output("a", FLOAT32, 3L).output("y", FLOAT32, 3L)
                .node("TRelu", List.of("x"), List.of("a"))
                .node("TScale", List.of("a"), List.of("y"), floatAttr("alpha", 2f)).bytes();
        try (LoadedModel model = load(m)) {
            Tensor x = floats(new long[] {3}, -1, 2, 3);
            Tensor a = Tensor.allocate(FLOAT32, 3);
            Tensor y = Tensor.allocate(FLOAT32, 3);
            model.execute(Map.of("x", x), Map.of("a", a, "y", y));
            assertArrayEquals(new float[] {0, 2, 3}, a.toFloatArray(), "an output that also feeds another node");
            assertArrayEquals(new float[] {0, 4, 6}, y.toFloatArray());
            Map<String, Tensor> out = model.execute(Map.of("x", floats(new long[] {3}, 1, 1, -1)));
            assertArrayEquals(new float[] {2, 2, 0}, out.get("y").toFloatArray(), "scratch views restored after a direct run");
            assertArrayEquals(new float[] {0, 2, 3}, a.toFloatArray(), "the caller's tensor is not written by later runs");
        }
    }

    @Test
    void modelLargerThanThePoolFailsBeforeAnyWorkAndLeavesNothing() throws Exception {
        HbmPool tiny = new HbmPool(1, HbmBacking.anonymous(1 << 20));
        try {
            // 256k floats of weights fit; the 2 x 1 MiB intermediates do not
            float[] w = new float[256 * 1024];
            byte[] m = new ModelBuilder(13).input("x", FLOAT32, 256L * 1024).output("y", FLOAT32, 256L * 1024)
                    .initializer("w", floats(new long[] {256 * 1024}, w))
                    .node("TAdd", List.of("x", "w"), List.of("a"))
                    .node("TRelu", List.of("a"), List.of("y")).bytes();
            int runs = TestKernels.RUNS.get();
            assertThrows(DeviceMemoryExhaustedException.class, () -> engine.load("big", m, null, tiny, group, "test", null, 0, "big"));
            assertEquals(0, tiny.usedBytes());
            assertEquals(runs, TestKernels.RUNS.get(), "no kernel ran");
        } finally {
            tiny.close();
        }
    }

    @Test
    void constantNodesBecomeConstants() throws Exception {
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L).output("y", FLOAT32, 2L)
                .node("Constant", List.of(), List.of("c"), ModelBuilder.tensorAttr("value", floats(new long[] {2}, 10, 20)))
                .node("Constant", List.of(), List.of("k"), floatAttr("value_float", 0.5f))
                .node("TAdd", List.of("x", "c"), List.of("a"))
                .node("TAdd", List.of("a", "k"), List.of("y")).bytes();
        try (LoadedModel model = load(m)) {
            assertArrayEquals(new float[] {11.5f, 22.5f}, model.execute(Map.of("x", floats(new long[] {2}, 1, 2))).get("y").toFloatArray());
        }
    }
}
