package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quantized models of {@link QuantizedModels} through vnrt against ONNX Runtime on the same
 * inputs: the dynamically quantized encoder (per-tensor and per-channel weights, two sequence
 * lengths) with every weight MatMul fused into the int8 GEMM, and the QDQ CNN with every
 * convolution fused into the QDQ int8 kernel.
 */
class QuantizedModelsOrtTest {
    private final CoreGroup group = new CoreGroup("quant-ort", 2);

    @AfterEach
    void close() {
        group.close();
    }

    @Test
    void dynamicallyQuantizedEncoderMatchesOrt() throws Exception {
        for (QuantizedModels.Weights w : new QuantizedModels.Weights[] {QuantizedModels.Weights.INT8_PER_TENSOR,
                QuantizedModels.Weights.INT8_PER_CHANNEL}) {
            byte[] model = QuantizedModels.encoder(QuantizedModelsTest.SMALL, w);
            for (long s : new long[] {7, 32}) {
                Tensor ids = Tensor.allocate(DType.INT64, 2, s);
                Random r = new Random(s);
                for (long i = 0; i < ids.elementCount(); i++) {
                    ids.setLong(i, r.nextInt(QuantizedModelsTest.SMALL.vocab()));
                }
                // LayerNorm outputs of unit scale; a uint8 step of a layer's input range is about 0.03,
                // so one rounding that lands the other way near a tie moves an output by ~1e-3
                OrtComparison.assertMatchesOrt(w + " S=" + s, model, Map.of("input_ids", ids), group, 2e-3, 1e-3);
            }
            try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
                long kernels = m.plan(List.of(new TensorType(DType.INT64, new long[] {1, 16}))).kernelCount();
                // per layer 6 fused GEMMs replace 6 x (MatMulInteger, Cast, Mul, Mul, Add) and 4 DQLs
                assertTrue(kernels < 60, w + ": " + kernels + " kernels for 2 layers (unfused is over 80)");
            }
        }
    }

    @Test
    void qdqCnnMatchesOrt() throws Exception {
        byte[] model = QuantizedModels.qdqCnn(16, 10, 4);
        Random r = new Random(2);
        Tensor x = TestTensors.gaussian(r, 2, 3, 16, 16);
        OrtComparison.assertMatchesOrt("qdq cnn", model, Map.of("x", x), group, 1e-3, 1e-3);
        try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
            List<String> ops = m.plan(List.of(x.type())).steps().stream().filter(st -> !st.skip())
                    .map(st -> st.node().opType()).toList();
            // each Conv -> QuantizeLinear (with its DequantizeLinears) is one int8 kernel; the final Gemm stays float
            assertEquals(3, ops.stream().filter("QdqConv"::equals).count(), "fused convolutions in " + ops);
            assertFalse(ops.contains("Conv"), "no float Conv left in " + ops);
        }
    }
}
