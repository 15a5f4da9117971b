package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A float16 or float64 Conv, MatMul or Gemm followed by a Relu (the optimizer fuses the Relu
 * without knowing element types) loads, runs and matches the unfused graph within a rounding of
 * the type. Before 2026-12-07 the float16/float64 Conv dropped the Relu and MatMul/Gemm refused
 * the model at load ("fused activation is only supported for float32").
 */
class NonFloat32FusionTest {
    private final CoreGroup group = new CoreGroup("non-float32-fusion-test", 1);

    @AfterEach
    void close() {
        group.close();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"Conv, FLOAT16", "Conv, FLOAT64", "MatMul, FLOAT16", "MatMul, FLOAT64", "Gemm, FLOAT16", "Gemm, FLOAT64"})
    void reluAfterTheLinearNodeStillApplies(String op, DType type) throws Exception {
        Random r = new Random(3);
        boolean conv = op.equals("Conv");
        Tensor x = conv ? Tensor.allocate(type, 1, 2, 5, 5) : Tensor.allocate(type, 4, 6);
        Tensor w = conv ? Tensor.allocate(type, 3, 2, 3, 3) : Tensor.allocate(type, 6, 5);
        for (Tensor t : new Tensor[] {x, w}) {
            for (long i = 0; i < t.elementCount(); i++) {
                t.setDouble(i, r.nextGaussian());
            }
        }
        Tensor[] ys = new Tensor[2];
        for (int v = 0; v < 2; v++) {
            ModelBuilder mb = new ModelBuilder(13).initializer("w", w);
            long[] cShape = conv ? new long[] {1, 3, 5, 5} : new long[] {4, 5};
            if (conv) {
                mb.input("x", type, 1L, 2L, 5L, 5L).output("y", type, 1L, 3L, 5L, 5L)
                        .node("Conv", List.of("x", "w"), List.of("c"), ModelBuilder.intsAttr("pads", 1, 1, 1, 1));
            } else {
                mb.input("x", type, 4L, 6L).output("y", type, 4L, 5L).node(op, List.of("x", "w"), List.of("c"));
            }
            if (v == 1) {
                // the product is a graph output too, so the Relu stays a node of its own: the reference
                mb.output("c", type, java.util.Arrays.stream(cShape).boxed().toArray());
            }
            byte[] model = mb.node("Relu", List.of("c"), List.of("y")).bytes();
            try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
                ys[v] = m.execute(Map.of("x", x)).get("y");
            }
        }
        int positive = 0;
        double tol = type == DType.FLOAT64 ? 1e-12 : 1e-2;
        for (long i = 0; i < ys[0].elementCount(); i++) {
            double want = ys[1].getDouble(i);
            double got = ys[0].getDouble(i);
            assertEquals(want, got, tol * (1 + Math.abs(want)), "y element " + i);
            assertTrue(got >= 0, "Relu's output element " + i + " is " + got);
            positive += got > 0 ? 1 : 0;
        }
        assertTrue(positive > 0, "some outputs are positive");
    }
}
