package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Models built here that the optimizer fuses (bias + activation into MatMul/Gemm, BatchNormalization
 * and Relu into Conv, Erf-form GELU) run with the real kernels and agree with ONNX Runtime; odd sizes.
 * The kernel counts assume the linalg kernels accept the fusion attributes (the optimizer probes
 * them; they do in this build).
 */
class FusedModelsOrtTest {
    private final CoreGroup group = new CoreGroup("fused-ort", 2);

    @AfterEach
    void close() {
        group.close();
    }


    /** Runs both engines; returns the number of kernels vnrt's plan runs. */
    private long compare(byte[] model, String input, Tensor x) throws Exception {
        Tensor ours;
        long kernels;
        try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
            kernels = m.plan(List.of(new TensorType(FLOAT32, x.shape()))).kernelCount();
            ours = m.execute(Map.of(input, x)).get("y");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
                OrtSession s = env.createSession(model, opts);
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), x.shape());
                OrtSession.Result res = s.run(Map.of(input, in))) {
            OnnxTensor t = (OnnxTensor) res.get("y").orElseThrow();
            assertArrayEquals(t.getInfo().getShape(), ours.shape());
            FloatBuffer exp = t.getFloatBuffer();
            for (int i = 0; i < ours.elementCount(); i++) {
                float a = ours.getFloat(i);
                float b = exp.get(i);
                if (!(Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b))) {
                    fail("element " + i + ": vnrt " + a + ", ORT " + b);
                }
            }
        }
        return kernels;
    }

    @Test
    void matmulBiasActivations() throws Exception {
        Random r = new Random(7);
        for (String act : List.of("Relu", "Sigmoid", "Tanh", "LeakyRelu")) {
            byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L, 7L, 13L).output("y", FLOAT32, 2L, 7L, 17L)
                    .initializer("w", gaussian(r, 13, 17)).initializer("b", gaussian(r, 17))
                    .node("MatMul", List.of("x", "w"), List.of("mm"))
                    .node("Add", List.of("mm", "b"), List.of("a"))
                    .node(act, List.of("a"), List.of("y")).bytes();
            long kernels = compare(m, "x", gaussian(r, 2, 7, 13));
            assertEquals(1, kernels, act + " fused into the MatMul with its bias");
        }
    }

    @Test
    void gemmBiasRelu() throws Exception {
        Random r = new Random(8);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 5L, 11L).output("y", FLOAT32, 5L, 9L)
                .initializer("w", gaussian(r, 9, 11)).initializer("b", gaussian(r, 9))
                .node("Gemm", List.of("x", "w"), List.of("g"), ModelBuilder.intAttr("transB", 1), ModelBuilder.floatAttr("alpha", 0.5f))
                .node("Add", List.of("g", "b"), List.of("a"))
                .node("Relu", List.of("a"), List.of("y")).bytes();
        assertEquals(1, compare(m, "x", gaussian(r, 5, 11)), "bias and Relu fused into the Gemm");
    }

    @Test
    void matmulErfGelu() throws Exception {
        Random r = new Random(9);
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 3L, 10L).output("y", FLOAT32, 3L, 6L)
                .initializer("w", gaussian(r, 10, 6)).initializer("b", gaussian(r, 6))
                .node("MatMul", List.of("x", "w"), List.of("mm"))
                .node("Add", List.of("mm", "b"), List.of("h"))
                .erfGelu("h", "y").bytes();
        assertEquals(1, compare(m, "x", gaussian(r, 3, 10)), "bias and Erf-form GELU fused into the MatMul");
    }

    @Test
    void convBatchNormRelu() throws Exception {
        Random r = new Random(10);
        Tensor var = gaussian(r, 8);
        for (int i = 0; i < 8; i++) {
            var.setFloat(i, Math.abs(var.getFloat(i)) + 0.2f);
        }
        byte[] m = new ModelBuilder(13).input("x", FLOAT32, 2L, 3L, 9L, 7L).output("y", FLOAT32, 2L, 8L, 9L, 7L)
                .initializer("w", gaussian(r, 8, 3, 3, 3)).initializer("cb", gaussian(r, 8))
                .initializer("scale", gaussian(r, 8)).initializer("shift", gaussian(r, 8))
                .initializer("mean", gaussian(r, 8)).initializer("var", var)
                .node("Conv", List.of("x", "w", "cb"), List.of("c"), ModelBuilder.intsAttr("pads", 1, 1, 1, 1))
                .node("BatchNormalization", List.of("c", "scale", "shift", "mean", "var"), List.of("bn"))
                .node("Relu", List.of("bn"), List.of("y")).bytes();
        long kernels = compare(m, "x", gaussian(r, 2, 3, 9, 7));
        assertEquals(1, kernels, "BatchNormalization folded and Relu fused into the Conv");
    }
}
