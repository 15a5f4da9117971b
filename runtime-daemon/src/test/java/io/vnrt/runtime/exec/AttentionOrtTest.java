package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.kernels.Tensor;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Models with the opset-23 Attention and RotaryEmbedding operators, built here, run through the
 * engine (real kernels, 2 cores) and through ONNX Runtime 1.23 on the same inputs: every output
 * agrees within rtol 1e-3 / atol 1e-4. Sizes are odd and cross the kernels' blocking (query rows
 * past one block, keys past one GEMM panel).
 */
class AttentionOrtTest {
    private final CoreGroup group = new CoreGroup("attention-ort", 2);

    @AfterEach
    void close() {
        group.close();
    }

    /** Runs both engines on {@code inputs} and compares the named outputs. */
    private void compare(byte[] model, Map<String, Tensor> inputs, List<String> outputs) throws Exception {
        Map<String, Tensor> ours;
        try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
            ours = m.execute(inputs);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> ortIn = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
                OrtSession s = env.createSession(model, opts)) {
            for (var e : inputs.entrySet()) {
                Tensor t = e.getValue();
                ortIn.put(e.getKey(), t.dtype() == INT64
                        ? OnnxTensor.createTensor(env, LongBuffer.wrap(t.toLongArray()), t.shape())
                        : OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), t.shape()));
            }
            try (OrtSession.Result res = s.run(ortIn)) {
                for (String name : outputs) {
                    OnnxTensor t = (OnnxTensor) res.get(name).orElseThrow();
                    Tensor got = ours.get(name);
                    assertArrayEquals(t.getInfo().getShape(), got.shape(), "shape of " + name);
                    FloatBuffer exp = t.getFloatBuffer();
                    for (int i = 0; i < got.elementCount(); i++) {
                        float a = got.getFloat(i);
                        float b = exp.get(i);
                        if (!(Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b))) {
                            fail(name + " element " + i + ": vnrt " + a + ", ORT " + b);
                        }
                    }
                }
            }
        } finally {
            ortIn.values().forEach(OnnxTensor::close);
        }
    }

    private static ModelBuilder attention(ModelBuilder b, List<String> in, List<String> out, Object... attrs) {
        var list = new java.util.ArrayList<io.vnrt.proto.onnx.AttributeProto>();
        for (int i = 0; i < attrs.length; i += 2) {
            String name = (String) attrs[i];
            list.add(attrs[i + 1] instanceof Float f ? ModelBuilder.floatAttr(name, f)
                    : ModelBuilder.intAttr(name, ((Number) attrs[i + 1]).longValue()));
        }
        return b.node("Attention", in, out, list.toArray(new io.vnrt.proto.onnx.AttributeProto[0]));
    }

    @Test
    void groupedCausalAttentionWithAKvCache() throws Exception {
        Random r = new Random(11);
        // 8 query heads over 2 kv heads, 37 new tokens after 29 cached ones: 66 keys, two query blocks
        long b = 2;
        long past = 29;
        long len = 37;
        byte[] m = attention(new ModelBuilder(23).input("q", FLOAT32, b, 8L, len, 32L).input("k", FLOAT32, b, 2L, len, 32L)
                .input("v", FLOAT32, b, 2L, len, 24L).input("pk", FLOAT32, b, 2L, past, 32L)
                .input("pv", FLOAT32, b, 2L, past, 24L).output("y", FLOAT32, b, 8L, len, 24L)
                .output("present_k", FLOAT32, b, 2L, past + len, 32L).output("present_v", FLOAT32, b, 2L, past + len, 24L),
                List.of("q", "k", "v", "", "pk", "pv"), List.of("y", "present_k", "present_v"), "is_causal", 1).bytes();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("q", gaussian(r, b, 8, len, 32));
        in.put("k", gaussian(r, b, 2, len, 32));
        in.put("v", gaussian(r, b, 2, len, 24));
        in.put("pk", gaussian(r, b, 2, past, 32));
        in.put("pv", gaussian(r, b, 2, past, 24));
        compare(m, in, List.of("y", "present_k", "present_v"));
    }

    /**
     * A float mask with -inf entries, and a scale. (With a mask, ORT 1.23.2 applies softcap after
     * adding it, where the spec and its conformance tests apply it before, so that -inf stays
     * -inf: softcap is compared without a mask, below.)
     */
    @Test
    void threeDimensionalAttentionWithAFloatMaskAndScale() throws Exception {
        Random r = new Random(12);
        byte[] m = attention(new ModelBuilder(23).input("q", FLOAT32, 3L, 45L, 4L * 16).input("k", FLOAT32, 3L, 40L, 4L * 16)
                .input("v", FLOAT32, 3L, 40L, 4L * 20).input("mask", FLOAT32, 45L, 40L)
                .output("y", FLOAT32, 3L, 45L, 4L * 20), List.of("q", "k", "v", "mask"), List.of("y"),
                "q_num_heads", 4, "kv_num_heads", 4, "scale", 0.2f).bytes();
        Tensor mask = gaussian(r, 45, 40);
        for (long i = 0; i < mask.elementCount(); i += 7) {
            mask.setFloat(i, Float.NEGATIVE_INFINITY);
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("q", gaussian(r, 3, 45, 64));
        in.put("k", gaussian(r, 3, 40, 64));
        in.put("v", gaussian(r, 3, 40, 80));
        in.put("mask", mask);
        compare(m, in, List.of("y"));
    }

    @Test
    void softcapWithGroupedHeads() throws Exception {
        Random r = new Random(16);
        byte[] m = attention(new ModelBuilder(23).input("q", FLOAT32, 2L, 6L, 33L, 16L).input("k", FLOAT32, 2L, 3L, 50L, 16L)
                .input("v", FLOAT32, 2L, 3L, 50L, 16L).output("y", FLOAT32, 2L, 6L, 33L, 16L),
                List.of("q", "k", "v"), List.of("y"), "softcap", 1.5f).bytes();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("q", gaussian(r, 2, 6, 33, 16));
        in.put("k", gaussian(r, 2, 3, 50, 16));
        in.put("v", gaussian(r, 2, 3, 50, 16));
        compare(m, in, List.of("y"));
    }

    @Test
    void multiQueryDecodeStep() throws Exception {
        Random r = new Random(13);
        byte[] m = attention(new ModelBuilder(23).input("q", FLOAT32, 4L, 6L, 1L, 64L).input("k", FLOAT32, 4L, 1L, 1L, 64L)
                .input("v", FLOAT32, 4L, 1L, 1L, 64L).input("pk", FLOAT32, 4L, 1L, 100L, 64L)
                .input("pv", FLOAT32, 4L, 1L, 100L, 64L).output("y", FLOAT32, 4L, 6L, 1L, 64L)
                .output("present_k", FLOAT32, 4L, 1L, 101L, 64L).output("present_v", FLOAT32, 4L, 1L, 101L, 64L),
                List.of("q", "k", "v", "", "pk", "pv"), List.of("y", "present_k", "present_v"), "is_causal", 1).bytes();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("q", gaussian(r, 4, 6, 1, 64));
        in.put("k", gaussian(r, 4, 1, 1, 64));
        in.put("v", gaussian(r, 4, 1, 1, 64));
        in.put("pk", gaussian(r, 4, 1, 100, 64));
        in.put("pv", gaussian(r, 4, 1, 100, 64));
        compare(m, in, List.of("y", "present_k", "present_v"));
    }

    @Test
    void rotaryEmbeddingWithPositionIdsHalvesAndInterleaved() throws Exception {
        Random r = new Random(14);
        for (int interleaved = 0; interleaved <= 1; interleaved++) {
            for (long rot : new long[] {0, 32}) {
                long used = rot == 0 ? 48 : rot;
                ModelBuilder b = new ModelBuilder(23).input("x", FLOAT32, 2L, 5L, 7L, 48L).input("cos", FLOAT32, 64L, used / 2)
                        .input("sin", FLOAT32, 64L, used / 2).input("pos", INT64, 2L, 7L).output("y", FLOAT32, 2L, 5L, 7L, 48L);
                b.node("RotaryEmbedding", List.of("x", "cos", "sin", "pos"), List.of("y"),
                        ModelBuilder.intAttr("interleaved", interleaved), ModelBuilder.intAttr("rotary_embedding_dim", rot),
                        // ORT wants num_heads whenever rotary_embedding_dim is given, even for 4-D input
                        ModelBuilder.intAttr("num_heads", 5));
                long[] pos = new long[14];
                for (int i = 0; i < pos.length; i++) {
                    pos[i] = r.nextInt(64);
                }
                Map<String, Tensor> in = new LinkedHashMap<>();
                in.put("x", gaussian(r, 2, 5, 7, 48));
                in.put("cos", gaussian(r, 64, used / 2));
                in.put("sin", gaussian(r, 64, used / 2));
                in.put("pos", Tensor.ofLongs(new long[] {2, 7}, pos));
                compare(b.bytes(), in, List.of("y"));
            }
        }
    }

    @Test
    void rotaryEmbeddingOfA3dInputWithoutPositionIds() throws Exception {
        Random r = new Random(15);
        byte[] m = new ModelBuilder(23).input("x", FLOAT32, 2L, 9L, 4L * 32).input("cos", FLOAT32, 2L, 9L, 16L)
                .input("sin", FLOAT32, 2L, 9L, 16L).output("y", FLOAT32, 2L, 9L, 4L * 32)
                .node("RotaryEmbedding", List.of("x", "cos", "sin"), List.of("y"), ModelBuilder.intAttr("num_heads", 4))
                .bytes();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("x", gaussian(r, 2, 9, 128));
        in.put("cos", gaussian(r, 2, 9, 16));
        in.put("sin", gaussian(r, 2, 9, 16));
        compare(m, in, List.of("y"));
    }

}
