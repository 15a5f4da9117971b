package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Fused and unfused plans of the same model agree, and fusion removes the absorbed kernels. */
class FusionTest {
    private final CoreGroup group = new CoreGroup("fusion-test", 1);

    @AfterEach
    void close() {
        group.close();
    }


    /** Runs the model with kernels that accept fusion and with kernels that refuse it; returns kernel counts. */
    private long[] compare(byte[] model, Map<String, Tensor> inputs, List<TensorType> sig) throws Exception {
        long[] counts = new long[2];
        Tensor[] results = new Tensor[2];
        for (int v = 0; v < 2; v++) {
            Engine engine = new Engine(FusionKernels.registry(v == 0));
            try (LoadedModel m = engine.load("m", model, null, new HostMemory(), group)) {
                counts[v] = m.plan(sig).kernelCount();
                results[v] = m.execute(inputs).get("y");
            }
        }
        for (long i = 0; i < results[0].elementCount(); i++) {
            assertEquals(results[1].getFloat(i), results[0].getFloat(i), 1e-4 + 1e-4 * Math.abs(results[1].getFloat(i)), "element " + i);
        }
        return counts;
    }

    @Test
    void matmulBiasRelu() throws Exception {
        Random r = new Random(1);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L, 4L).output("y", FLOAT32, 3L, 5L)
                .initializer("w", gaussian(r, 4, 5)).initializer("b", gaussian(r, 5))
                .node("MatMul", List.of("x", "w"), List.of("mm"))
                .node("Add", List.of("mm", "b"), List.of("a"))
                .node("Relu", List.of("a"), List.of("y")).bytes();
        long[] counts = compare(m, Map.of("x", gaussian(r, 3, 4)), List.of(new TensorType(FLOAT32, new long[] {3, 4})));
        assertEquals(1, counts[0], "MatMul+Add+Relu fused into one kernel");
        assertEquals(3, counts[1]);
    }

    @Test
    void matmulBiasErfGelu() throws Exception {
        Random r = new Random(2);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L, 3L).output("y", FLOAT32, 2L, 4L)
                .initializer("w", gaussian(r, 3, 4)).initializer("b", gaussian(r, 4))
                .node("MatMul", List.of("x", "w"), List.of("mm"))
                .node("Add", List.of("b", "mm"), List.of("h"))
                .erfGelu("h", "y").bytes();
        long[] counts = compare(m, Map.of("x", gaussian(r, 2, 3)), List.of(new TensorType(FLOAT32, new long[] {2, 3})));
        assertEquals(1, counts[0]);
        assertEquals(7, counts[1]);
    }

    /**
     * Attention's head split of Q and V and its head merge fold into the MatMuls (the standard
     * kernels read and write through the Transposes' perms), and so does the scale after Q·Kᵀ
     * (the GEMM's alpha); K's Transpose, which moves the last axis, stays. The result is the
     * attention computed directly.
     */
    @Test
    void attentionTransposesFoldIntoMatMul() throws Exception {
        Random r = new Random(4);
        int s = 5;
        int h = 2;
        int d = 4;
        byte[] model = new ModelBuilder(13).input("q", FLOAT32, 1L, (long) s, (long) h, (long) d)
                .input("v", FLOAT32, 1L, (long) s, (long) h, (long) d).output("y", FLOAT32, 1L, (long) s, (long) h, (long) d)
                .node("Transpose", List.of("q"), List.of("qt"), ModelBuilder.intsAttr("perm", 0, 2, 1, 3))
                .node("Transpose", List.of("q"), List.of("kt"), ModelBuilder.intsAttr("perm", 0, 2, 3, 1))
                .node("Transpose", List.of("v"), List.of("vt"), ModelBuilder.intsAttr("perm", 0, 2, 1, 3))
                .initializer("scale", Tensor.ofFloats(new long[0], 0.375f))
                .node("MatMul", List.of("qt", "kt"), List.of("raw"))
                .node("Mul", List.of("raw", "scale"), List.of("scores"))
                .node("MatMul", List.of("scores", "vt"), List.of("c"))
                .node("Transpose", List.of("c"), List.of("y"), ModelBuilder.intsAttr("perm", 0, 2, 1, 3)).bytes();
        Tensor q = gaussian(r, 1, s, h, d);
        Tensor v = gaussian(r, 1, s, h, d);
        TensorType type = new TensorType(FLOAT32, new long[] {1, s, h, d});
        try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
            assertEquals(3, m.plan(List.of(type, type)).kernelCount(), "K's Transpose and the two MatMuls");
            Tensor y = m.execute(Map.of("q", q, "v", v)).get("y");
            for (int i = 0; i < s; i++) {
                for (int hh = 0; hh < h; hh++) {
                    for (int e = 0; e < d; e++) {
                        double want = 0;
                        for (int t = 0; t < s; t++) {
                            double score = 0;
                            for (int f = 0; f < d; f++) {
                                score += (double) q.getFloat((i * h + hh) * d + f) * q.getFloat((t * h + hh) * d + f);
                            }
                            want += score * 0.375 * v.getFloat((t * h + hh) * d + e);
                        }
                        float got = y.getFloat((i * h + hh) * d + e);
                        assertEquals(want, got, 1e-4 + 1e-4 * Math.abs(want), "y[0," + i + "," + hh + "," + e + "]");
                    }
                }
            }
        }
    }

    @Test
    void convBatchNormRelu() throws Exception {
        Random r = new Random(3);
        Tensor var = gaussian(r, 4);
        for (int i = 0; i < 4; i++) {
            var.setFloat(i, Math.abs(var.getFloat(i)) + 0.1f);
        }
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 1L, 3L, 2L, 2L).output("y", FLOAT32, 1L, 4L, 2L, 2L)
                .initializer("w", gaussian(r, 4, 3, 1, 1)).initializer("cb", gaussian(r, 4))
                .initializer("scale", gaussian(r, 4)).initializer("shift", gaussian(r, 4))
                .initializer("mean", gaussian(r, 4)).initializer("var", var)
                .node("Conv", List.of("x", "w", "cb"), List.of("c"))
                .node("BatchNormalization", List.of("c", "scale", "shift", "mean", "var"), List.of("bn"),
                        ModelBuilder.floatAttr("epsilon", 1e-3f))
                .node("Relu", List.of("bn"), List.of("y")).bytes();
        long[] counts = compare(m, Map.of("x", gaussian(r, 1, 3, 2, 2)), List.of(new TensorType(FLOAT32, new long[] {1, 3, 2, 2})));
        assertEquals(1, counts[0], "Conv+BN+Relu in one kernel");
        assertEquals(2, counts[1], "BN folds into the weights even when activations cannot fuse");
    }
}
