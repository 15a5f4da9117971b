package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs a model built by a test through the engine (weights and scratch in an HBM pool) and through
 * ONNX Runtime on the same inputs, and asserts every output agrees: floats within
 * {@code atol + rtol·|ORT|}, integers and bools exactly, shapes equal; and that closing the model
 * gives back every byte of the pool.
 */
final class OrtComparison {
    private OrtComparison() {}

    /**
     * Makes ORT's int8 matrix products exact, as they are in vnrt: on x86-64 without VNNI (AVX2,
     * AVX-512 without VNNI) ORT's default U8S8 kernel adds pairs of u8 × s8 products in saturating
     * 16-bit lanes (VPMADDUBSW), so with full-range weights its results are off, by whole units of
     * the output's scale (seen on a Zen 3 here); {@code session.x64quantprecision} switches it to
     * its exact U8U8 path. Elsewhere the option changes nothing.
     */
    static OrtSession.SessionOptions exactInt8(OrtSession.SessionOptions opts) throws Exception {
        opts.addConfigEntry("session.x64quantprecision", "1");
        return opts;
    }

    /** Returns vnrt's outputs after checking them against ORT's. */
    static Map<String, Tensor> assertMatchesOrt(String label, byte[] model, Map<String, Tensor> inputs, CoreGroup group,
            double atol, double rtol) throws Exception {
        return assertMatchesOrt(label, model, model, inputs, group, atol, rtol);
    }

    /**
     * {@link #assertMatchesOrt(String, byte[], Map, CoreGroup, double, double)} with ORT running
     * {@code ortModel}, a model with the same outputs for these inputs (ORT takes the inputs it
     * declares): for a form whose exact int8 path ORT lacks, given as one it has.
     */
    static Map<String, Tensor> assertMatchesOrt(String label, byte[] model, byte[] ortModel, Map<String, Tensor> inputs,
            CoreGroup group, double atol, double rtol) throws Exception {
        Map<String, Tensor> ours;
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(256L << 20))) {
            try (LoadedModel m = new Engine().load("m", model, null, pool, group, "test", null, 0, "m")) {
                ours = m.execute(inputs);
                // a second run of the same plan gives the same values (no state left behind): the same
                // bits, except that a float output may move by float rounding where the Vector API's
                // transcendental ops (lanewise EXP, TANH, ...) changed JIT tier between the two runs
                // (its Java fallback and its compiled intrinsic differ in the last bit)
                Map<String, Tensor> again = m.execute(inputs);
                for (var e : ours.entrySet()) {
                    Tensor a = e.getValue();
                    Tensor b = again.get(e.getKey());
                    if (a.dtype() != DType.FLOAT32) {
                        assertArrayEquals(bytes(a), bytes(b), label + ": rerun of " + e.getKey());
                        continue;
                    }
                    assertArrayEquals(a.shape(), b.shape(), label + ": rerun of " + e.getKey() + ": shape");
                    for (long i = 0; i < a.elementCount(); i++) {
                        float x = a.getFloat(i);
                        float y = b.getFloat(i);
                        if (Float.floatToRawIntBits(x) != Float.floatToRawIntBits(y)
                                && !(Math.abs(x - y) <= 1e-6 + 1e-5 * Math.abs(x))) {
                            fail(label + ": rerun of " + e.getKey() + " element " + i + ": " + x + ", then " + y);
                        }
                    }
                }
            }
            assertEquals(0, pool.usedBytes(), label + ": the model's HBM is freed on close");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> ortIn = new HashMap<>();
        try (OrtSession.SessionOptions opts = exactInt8(new OrtSession.SessionOptions())) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(ortModel, opts)) {
                for (var e : inputs.entrySet()) {
                    if (s.getInputNames().contains(e.getKey())) {
                        ortIn.put(e.getKey(), ortTensor(env, e.getValue()));
                    }
                }
                try (OrtSession.Result res = s.run(ortIn)) {
                    for (var e : ours.entrySet()) {
                        OnnxTensor t = (OnnxTensor) res.get(e.getKey()).orElseThrow();
                        compare(label + " output '" + e.getKey() + "'", e.getValue(), t, atol, rtol);
                    }
                }
            } finally {
                ortIn.values().forEach(OnnxTensor::close);
            }
        }
        return ours;
    }

    private static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private static OnnxTensor ortTensor(OrtEnvironment env, Tensor t) throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) t.byteSize()).order(ByteOrder.nativeOrder());
        buf.put(t.data().asByteBuffer());
        buf.flip();
        ai.onnxruntime.OnnxJavaType type = switch (t.dtype()) {
            case FLOAT32 -> ai.onnxruntime.OnnxJavaType.FLOAT;
            case INT32 -> ai.onnxruntime.OnnxJavaType.INT32;
            case INT64 -> ai.onnxruntime.OnnxJavaType.INT64;
            case BOOL -> ai.onnxruntime.OnnxJavaType.BOOL;
            case INT8 -> ai.onnxruntime.OnnxJavaType.INT8;
            case UINT8 -> ai.onnxruntime.OnnxJavaType.UINT8;
            default -> throw new IllegalArgumentException("no ORT input for " + t);
        };
        return OnnxTensor.createTensor(env, buf, t.shape(), type);
    }

    private static void compare(String what, Tensor ours, OnnxTensor theirs, double atol, double rtol) {
        assertArrayEquals(theirs.getInfo().getShape(), ours.shape(), what + ": shape");
        ByteBuffer b = theirs.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ours.elementCount(); i++) {
            if (ours.dtype() == DType.FLOAT32) {
                float a = ours.getFloat(i);
                float e = b.getFloat(i * 4);
                if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
                    fail(what + " element " + i + ": vnrt " + a + ", ORT " + e);
                }
            } else {
                long e = switch (ours.dtype()) {
                    case INT64 -> b.getLong(i * 8);
                    case INT32 -> b.getInt(i * 4);
                    case BOOL -> b.get(i);
                    case INT8 -> b.get(i);
                    case UINT8 -> b.get(i) & 0xFF;
                    default -> throw new IllegalArgumentException("cannot compare " + ours);
                };
                // integers agree exactly, unless atol allows whole steps (quantized outputs: ORT's requantization)
                if (Math.abs(e - ours.getLong(i)) > Math.floor(atol)) {
                    assertEquals(e, ours.getLong(i), what + " element " + i);
                }
            }
        }
    }
}
