package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.BOOL;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Control-flow models that are wrong whatever the inputs are refused at load with an error naming
 * the node and saying what is wrong, and leave the device pool as they found it; a valid model
 * loaded afterwards on the same pool runs.
 */
class ControlFlowLoadErrorTest {

    private static void refused(byte[] model, String... expected) throws Exception {
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(64L << 20)); CoreGroup group = new CoreGroup("cf-err", 1)) {
            long before = pool.usedBytes();
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> new Engine().load("bad", model, null, pool, group, "test", null, 0, "bad"));
            for (String s : expected) {
                assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
            }
            assertEquals(before, pool.usedBytes(), "a refused load leaves nothing in the pool");
            try (LoadedModel ok = new Engine().load("ok", validLoop(), null, pool, group, "test", null, 0, "ok")) {
                Tensor y = ok.execute(Map.of("y", Tensor.ofFloats(new long[] {2}, 1, 2))).get("y_out");
                assertEquals(8f, y.getFloat(0), "1 doubled three times");
            }
            assertEquals(before, pool.usedBytes());
        }
    }

    private static ModelBuilder doubling(boolean castToInt, boolean declareOutput) {
        ModelBuilder body = new ModelBuilder(13).input("i", INT64).input("c", BOOL).input("y_in", FLOAT32, 2L)
                .output("c_out", BOOL)
                .node("Identity", List.of("c"), List.of("c_out"))
                .node("Add", List.of("y_in", "y_in"), List.of(castToInt ? "d" : "y_next"));
        if (castToInt) {
            body.node("Cast", List.of("d"), List.of("y_next"), ModelBuilder.intAttr("to", INT64.onnxCode()));
        }
        return declareOutput ? body.output("y_next", castToInt ? INT64 : FLOAT32, 2L) : body.outputUntyped("y_next");
    }

    private static byte[] loop(ModelBuilder body) {
        return new ModelBuilder(13).input("y", FLOAT32, 2L).output("y_out", FLOAT32, 2L)
                .initializer("m", Tensor.ofLongs(new long[0], 3))
                .node("Loop", List.of("m", "", "y"), List.of("y_out"), body.asGraphAttr("body")).bytes();
    }

    private static byte[] validLoop() {
        return loop(doubling(false, true));
    }

    @Test
    void loopBodyDeclaringAnotherTypeForACarriedValue() throws Exception {
        refused(loop(doubling(true, true)), "loop0", "Loop", "changes the type of loop-carried value 0 ('y_in') from float32 to int64");
    }

    @Test
    void loopBodyComputingAnotherTypeForACarriedValue() throws Exception {
        refused(loop(doubling(true, false)), "loop0", "changes the type of loop-carried value 0 ('y_in') from float32 to int64");
    }

    @Test
    void loopThatNeverEnds() throws Exception {
        byte[] m = new ModelBuilder(13).input("y", FLOAT32, 2L).output("y_out", FLOAT32, 2L)
                .node("Loop", List.of("", "", "y"), List.of("y_out"), doubling(false, true).asGraphAttr("body")).bytes();
        refused(m, "loop0", "never ends");
    }

    @Test
    void ifBranchesWithDifferentOutputCounts() throws Exception {
        ModelBuilder then = new ModelBuilder(13).outputUntyped("a").outputUntyped("b")
                .node("Neg", List.of("x"), List.of("a")).node("Abs", List.of("x"), List.of("b"));
        ModelBuilder otherwise = new ModelBuilder(13).outputUntyped("c").node("Relu", List.of("x"), List.of("c"));
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L).input("flag", BOOL).output("r", FLOAT32, 3L)
                .node("If", List.of("flag"), List.of("r"), then.asGraphAttr("then_branch"), otherwise.asGraphAttr("else_branch"))
                .bytes();
        refused(m, "if0", "then_branch has 2 outputs but else_branch has 1");
    }

    @Test
    void ifBranchesComputingDifferentTypes() throws Exception {
        ModelBuilder then = new ModelBuilder(13).outputUntyped("a")
                .node("Cast", List.of("x"), List.of("a"), ModelBuilder.intAttr("to", INT64.onnxCode()));
        ModelBuilder otherwise = new ModelBuilder(13).outputUntyped("c").node("Relu", List.of("x"), List.of("c"));
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L).input("flag", BOOL).outputAnyShape("r", FLOAT32)
                .node("If", List.of("flag"), List.of("r"), then.asGraphAttr("then_branch"), otherwise.asGraphAttr("else_branch"))
                .bytes();
        refused(m, "if0", "output 0 is int64 in then_branch but float32 in else_branch");
    }
}
