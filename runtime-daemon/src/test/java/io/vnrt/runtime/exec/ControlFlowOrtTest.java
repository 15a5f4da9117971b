package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.BOOL;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Models with If, Loop and Scan built here agree with ONNX Runtime: subgraphs that read outer-scope
 * values (weights and activations), loop-carried state, scan outputs, trip counts and conditions
 * given at run time, branches of different shapes, scan axes and directions.
 */
class ControlFlowOrtTest {
    private final CoreGroup group = new CoreGroup("cf-ort", 2);

    @AfterEach
    void close() {
        group.close();
    }

    private static Tensor scalar(long v) {
        return Tensor.ofLongs(new long[0], v);
    }

    private static Tensor bool(boolean v) {
        Tensor t = Tensor.allocate(BOOL);
        t.setLong(0, v ? 1 : 0);
        return t;
    }

    /**
     * x → Loop(n times: h = tanh(h·W + b), scan h[0]) → If(flag: h_final ⊙ x and row sums | h_final - x
     * and h_final flattened): W, b and x are read from inside the subgraphs.
     */
    private static byte[] loopThenIf(Random r) {
        ModelBuilder body = new ModelBuilder(13)
                .input("i", INT64).input("c", BOOL).input("h", FLOAT32, 3L, 4L)
                .output("c_out", BOOL).output("h_out", FLOAT32, 3L, 4L).output("row", FLOAT32, 4L)
                .node("Identity", List.of("c"), List.of("c_out"))
                .node("MatMul", List.of("h", "w"), List.of("hw"))
                .node("Add", List.of("hw", "b"), List.of("a"))
                .node("Tanh", List.of("a"), List.of("h_out"))
                .node("Gather", List.of("h_out", "zero"), List.of("row"));
        ModelBuilder then = new ModelBuilder(13).outputUntyped("p").outputUntyped("q")
                .node("Mul", List.of("h_final", "x"), List.of("p"))
                .node("ReduceSum", List.of("h_final", "axis1"), List.of("q"), ModelBuilder.intAttr("keepdims", 0));
        ModelBuilder otherwise = new ModelBuilder(13).outputUntyped("p2").outputUntyped("q2")
                .node("Sub", List.of("h_final", "x"), List.of("p2"))
                .node("Flatten", List.of("h_final"), List.of("q2"), ModelBuilder.intAttr("axis", 0));
        return new ModelBuilder(13)
                .input("x", FLOAT32, 3L, 4L).input("n", INT64).input("flag", BOOL)
                .initializer("w", gaussian(r, 4, 4)).initializer("b", gaussian(r, 4))
                .initializer("zero", Tensor.ofLongs(new long[0], 0)).initializer("axis1", Tensor.ofLongs(new long[] {1}, 1))
                .output("h_final", FLOAT32, 3L, 4L).outputAnyShape("rows", FLOAT32)
                .output("p_out", FLOAT32, 3L, 4L).outputAnyShape("q_out", FLOAT32)
                .node("Loop", List.of("n", "", "x"), List.of("h_final", "rows"), body.asGraphAttr("body"))
                .node("If", List.of("flag"), List.of("p_out", "q_out"), then.asGraphAttr("then_branch"),
                        otherwise.asGraphAttr("else_branch"))
                .bytes();
    }

    @Test
    void loopAndIfWithOuterScopeValuesAndRuntimeTripCounts() throws Exception {
        byte[] model = loopThenIf(new Random(3));
        Tensor x = gaussian(new Random(4), 3, 4);
        for (long n : new long[] {0, 1, 3, 6}) {
            for (boolean flag : new boolean[] {true, false}) {
                Map<String, Tensor> in = new LinkedHashMap<>();
                in.put("x", x);
                in.put("n", scalar(n));
                in.put("flag", bool(flag));
                Map<String, Tensor> out = OrtComparison.assertMatchesOrt("n=" + n + " flag=" + flag, model, in, group, 1e-5, 1e-4);
                assertEquals(n, out.get("rows").dim(0), "one scan row per iteration");
            }
        }
    }

    /** A while loop: the body computes its condition from an outer limit, carries two values, has no scan outputs. */
    private static byte[] whileLoop() {
        ModelBuilder body = new ModelBuilder(13)
                .input("i", INT64).input("c", BOOL).input("acc", FLOAT32, 5L).input("k", INT64)
                .output("go", BOOL).output("acc2", FLOAT32, 5L).output("k2", INT64)
                .node("Mul", List.of("acc", "scale"), List.of("m"))
                .node("Add", List.of("m", "v"), List.of("acc2"))
                .node("Add", List.of("k", "one"), List.of("k2"))
                .node("Less", List.of("k2", "limit"), List.of("go"));
        return new ModelBuilder(13)
                .input("v", FLOAT32, 5L).input("limit", INT64).input("start", FLOAT32, 5L)
                .initializer("scale", Tensor.ofFloats(new long[0], 0.5f)).initializer("one", Tensor.ofLongs(new long[0], 1))
                .initializer("k0", Tensor.ofLongs(new long[0], 0)).initializer("yes", boolTensor(true))
                .output("acc_final", FLOAT32, 5L).output("k_final", INT64)
                .node("Loop", List.of("", "yes", "start", "k0"), List.of("acc_final", "k_final"), body.asGraphAttr("body"))
                .bytes();
    }

    @Test
    void whileLoopWithTwoCarriedValuesIsAPlanStep() throws Exception {
        byte[] model = whileLoop();
        Random r = new Random(5);
        for (long limit : new long[] {1, 4, 9}) {
            Map<String, Tensor> in = Map.of("v", gaussian(r, 5), "limit", scalar(limit), "start", gaussian(r, 5));
            Map<String, Tensor> out = OrtComparison.assertMatchesOrt("limit=" + limit, model, in, group, 1e-5, 1e-4);
            assertEquals(limit, out.get("k_final").getLong(0));
        }
        try (LoadedModel m = new Engine().load("w", model, null, new HostMemory(), group)) {
            ExecutionPlan plan = m.plan(List.of(new TensorType(FLOAT32, new long[] {5}), new TensorType(INT64, new long[0]),
                    new TensorType(FLOAT32, new long[] {5})));
            assertTrue(plan.dynamicNodes().isEmpty(), "carried values keep their shape: the Loop is a step of the plan");
        }
    }

    /**
     * The Loop itself allocates nothing per iteration: with a body whose steps are views (so no
     * kernel of its own runs), the heap per execution does not grow with the trip count.
     */
    @Test
    void loopIterationsAllocateNothing() throws Exception {
        ModelBuilder body = new ModelBuilder(13)
                .input("i", INT64).input("c", BOOL).input("acc", FLOAT32, 5L)
                .output("go", BOOL).output("acc2", FLOAT32, 5L)
                .node("Identity", List.of("c"), List.of("go"))
                .node("Identity", List.of("acc"), List.of("acc2"));
        byte[] model = new ModelBuilder(13)
                .input("limit", INT64).input("start", FLOAT32, 5L).output("acc_final", FLOAT32, 5L)
                .node("Loop", List.of("limit", "", "start"), List.of("acc_final"), body.asGraphAttr("body")).bytes();
        Random r = new Random(9);
        try (LoadedModel m = new Engine().load("w", model, null, new HostMemory(), group)) {
            long[] perRun = new long[2];
            long[] limits = {4, 260};
            for (int c = 0; c < 2; c++) {
                Map<String, Tensor> in = Map.of("limit", scalar(limits[c]), "start", gaussian(r, 5));
                Map<String, Tensor> out = Map.of("acc_final", Tensor.allocate(FLOAT32, 5));
                long warmUntil = System.nanoTime() + 1_500_000_000L;
                for (int i = 0; i < 50 || System.nanoTime() < warmUntil; i++) {
                    m.execute(in, out);
                }
                var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 20; i++) {
                    m.execute(in, out);
                }
                perRun[c] = (threads.getCurrentThreadAllocatedBytes() - before) / 20;
            }
            assertTrue(perRun[1] < perRun[0] + 1024, "heap per execution: " + perRun[0] + " bytes for 4 iterations, "
                    + perRun[1] + " for 260");
        }
    }

    private static Tensor boolTensor(boolean v) {
        return bool(v);
    }

    /** A fixed trip count with scan outputs: a static step writing its scan outputs in place. */
    @Test
    void fixedTripCountWithScanOutputs() throws Exception {
        ModelBuilder body = new ModelBuilder(13)
                .input("i", INT64).input("c", BOOL).input("s", FLOAT32, 2L, 3L)
                .output("c2", BOOL).output("s2", FLOAT32, 2L, 3L).output("i_f", FLOAT32)
                .node("Identity", List.of("c"), List.of("c2"))
                .node("Cast", List.of("i"), List.of("i_f"), ModelBuilder.intAttr("to", FLOAT32.onnxCode()))
                .node("Add", List.of("s", "i_f"), List.of("t"))
                .node("Sigmoid", List.of("t"), List.of("s2"));
        byte[] model = new ModelBuilder(13)
                .input("s0", FLOAT32, 2L, 3L)
                .initializer("m", Tensor.ofLongs(new long[0], 7))
                .output("s_final", FLOAT32, 2L, 3L).output("iters", FLOAT32, 7L)
                .node("Loop", List.of("m", "", "s0"), List.of("s_final", "iters"), body.asGraphAttr("body"))
                .bytes();
        OrtComparison.assertMatchesOrt("fixed", model, Map.of("s0", gaussian(new Random(6), 2, 3)), group, 1e-5, 1e-4);
        try (LoadedModel m = new Engine().load("f", model, null, new HostMemory(), group)) {
            assertTrue(m.plan(List.of(new TensorType(FLOAT32, new long[] {2, 3}))).dynamicNodes().isEmpty(),
                    "a constant trip count and a condition passed through: the scan outputs' shape is known");
        }
    }

    /** Scan (opset 16) over axis 1 of one input and backwards over another, one output along axis 1, one prepended. */
    @Test
    void scanAxesAndDirections() throws Exception {
        ModelBuilder body = new ModelBuilder(16)
                .input("acc", FLOAT32, 3L).input("a", FLOAT32, 3L).input("b", FLOAT32, 3L)
                .output("acc2", FLOAT32, 3L).output("o1", FLOAT32, 3L).output("o2", FLOAT32, 3L)
                .node("Mul", List.of("a", "b"), List.of("ab"))
                .node("Add", List.of("acc", "ab"), List.of("acc2"))
                .node("Tanh", List.of("acc2"), List.of("o1"))
                .node("Mul", List.of("acc2", "w"), List.of("o2"));
        Random r = new Random(8);
        byte[] model = new ModelBuilder(16)
                .input("init", FLOAT32, 3L).input("xa", FLOAT32, 3L, 6L).input("xb", FLOAT32, 6L, 3L)
                .initializer("w", gaussian(r, 3))
                .output("acc_out", FLOAT32, 3L).output("y1", FLOAT32, 3L, 6L).output("y2", FLOAT32, 6L, 3L)
                .node("Scan", List.of("init", "xa", "xb"), List.of("acc_out", "y1", "y2"), body.asGraphAttr("body"),
                        ModelBuilder.intAttr("num_scan_inputs", 2), ModelBuilder.intsAttr("scan_input_axes", 1, 0),
                        ModelBuilder.intsAttr("scan_input_directions", 0, 1), ModelBuilder.intsAttr("scan_output_axes", 1, 0),
                        ModelBuilder.intsAttr("scan_output_directions", 0, 1))
                .bytes();
        OrtComparison.assertMatchesOrt("scan", model, Map.of("init", gaussian(r, 3), "xa", gaussian(r, 3, 6),
                "xb", gaussian(r, 6, 3)), group, 1e-5, 1e-4);
    }
}
