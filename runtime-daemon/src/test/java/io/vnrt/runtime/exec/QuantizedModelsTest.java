package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The test-model builders themselves, checked with ONNX Runtime alone: the quantized forms of the
 * encoder and the QDQ CNN are valid models that ORT runs, and quantizing changes the encoder's
 * output only by quantization noise (so a test comparing vnrt with ORT on them compares something).
 */
class QuantizedModelsTest {
    static final QuantizedModels.EncoderSpec SMALL = new QuantizedModels.EncoderSpec(2, 64, 4, 256, 50, 32, 5);

    static float[] ortEncoder(byte[] model, long[] ids, long b, long s) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = OrtComparison.exactInt8(new OrtSession.SessionOptions());
                OrtSession sess = env.createSession(model, o);
                OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, s});
                OrtSession.Result r = sess.run(Map.of("input_ids", in))) {
            FloatBuffer fb = ((OnnxTensor) r.get("y").orElseThrow()).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Test
    void quantizedEncoderTracksTheFloatOne() throws Exception {
        long[] ids = new Random(3).longs(2 * 9, 0, SMALL.vocab()).toArray();
        float[] ref = ortEncoder(QuantizedModels.encoder(SMALL, QuantizedModels.Weights.FLOAT), ids, 2, 9);
        for (QuantizedModels.Weights w : new QuantizedModels.Weights[] {QuantizedModels.Weights.INT8_PER_TENSOR,
                QuantizedModels.Weights.INT8_PER_CHANNEL}) {
            float[] q = ortEncoder(QuantizedModels.encoder(SMALL, w), ids, 2, 9);
            double err = 0;
            double sq = 0;
            for (int i = 0; i < ref.length; i++) {
                err += (q[i] - ref[i]) * (q[i] - ref[i]);
                sq += ref[i] * ref[i];
            }
            double rel = Math.sqrt(err / sq);
            assertTrue(rel > 1e-5 && rel < 0.1, w + ": relative RMS difference from float " + rel);
        }
    }

    @Test
    void qdqCnnRunsInOrt() throws Exception {
        byte[] model = QuantizedModels.qdqCnn(16, 10, 4);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] x = new float[2 * 3 * 16 * 16];
        Random r = new Random(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (OrtSession.SessionOptions o = OrtComparison.exactInt8(new OrtSession.SessionOptions());
                OrtSession sess = env.createSession(model, o);
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 3, 16, 16});
                OrtSession.Result res = sess.run(Map.of("x", in))) {
            FloatBuffer fb = ((OnnxTensor) res.get("y").orElseThrow()).getFloatBuffer();
            assertTrue(fb.remaining() == 20, "20 logits");
            double sum = 0;
            while (fb.hasRemaining()) {
                sum += Math.abs(fb.get());
            }
            assertTrue(sum > 0, "the logits are not all zero");
        }
    }
}
