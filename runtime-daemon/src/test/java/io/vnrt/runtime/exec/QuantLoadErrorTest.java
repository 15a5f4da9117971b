package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT32;
import static io.vnrt.runtime.kernels.DType.INT8;
import static io.vnrt.runtime.kernels.DType.UINT8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Quantized models that are wrong whatever the inputs are refused at load with an error naming
 * the node and what is wrong (scale and zero-point shapes, zero-point type and range, axis), and
 * leave the device pool as they found it; a valid quantized model then loads and runs on it.
 */
class QuantLoadErrorTest {

    private static void refused(byte[] model, String... expected) throws Exception {
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(64L << 20)); CoreGroup group = new CoreGroup("q-err", 1)) {
            long before = pool.usedBytes();
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> new Engine().load("bad", model, null, pool, group, "test", null, 0, "bad"));
            for (String s : expected) {
                assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
            }
            assertEquals(before, pool.usedBytes(), "a refused load leaves nothing in the pool");
            try (LoadedModel ok = new Engine().load("ok", valid(), null, pool, group, "test", null, 0, "ok")) {
                Tensor y = ok.execute(Map.of("x", Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, -1, -2, 300))).get("y");
                assertEquals(UINT8, y.dtype());
                assertEquals(128 + 2, y.getLong(1), "2 / 1 + 128");
                assertEquals(255, y.getLong(5), "saturated");
            }
            assertEquals(before, pool.usedBytes());
        }
    }

    private static Tensor scalar(DType t, double v) {
        Tensor s = Tensor.allocate(t);
        s.setDouble(0, v);
        return s;
    }

    private static Tensor vector(DType t, double... v) {
        Tensor s = Tensor.allocate(t, v.length);
        for (int i = 0; i < v.length; i++) {
            s.setDouble(i, v[i]);
        }
        return s;
    }

    private static byte[] quantize(Tensor scale, Tensor zero, long axis) {
        return new ModelBuilder(21).input("x", FLOAT32, 2L, 3L).output("y", zero.dtype(), 2L, 3L)
                .initializer("s", scale).initializer("z", zero)
                .node("QuantizeLinear", List.of("x", "s", "z"), List.of("y"), ModelBuilder.intAttr("axis", axis))
                .bytes();
    }

    private static byte[] valid() {
        return quantize(scalar(FLOAT32, 1), scalar(UINT8, 128), 1);
    }

    @Test
    void scaleAndZeroPointOfDifferentShapes() throws Exception {
        refused(quantize(vector(FLOAT32, 1, 2, 3), vector(UINT8, 1, 2), 1), "QuantizeLinear", "quantizelinear0",
                "y_zero_point has shape [2] but y_scale has [3]");
    }

    @Test
    void perAxisScaleNotMatchingTheAxis() throws Exception {
        refused(quantize(vector(FLOAT32, 1, 2), vector(UINT8, 1, 2), 1), "QuantizeLinear", "quantizelinear0",
                "for per-axis quantization of float32[2, 3] along axis 1 it must be [3]");
    }

    @Test
    void axisOutOfRange() throws Exception {
        refused(quantize(vector(FLOAT32, 1, 2, 3), vector(UINT8, 1, 2, 3), 2), "quantizelinear0",
                "axis 2 is out of range for an input of rank 2");
    }

    @Test
    void zeroPointOfAnotherTypeThanTheOutput() throws Exception {
        byte[] m = new ModelBuilder(21).input("x", FLOAT32, 2L, 3L).output("y", INT8, 2L, 3L)
                .initializer("s", scalar(FLOAT32, 1)).initializer("z", scalar(UINT8, 3))
                .node("QuantizeLinear", List.of("x", "s", "z"), List.of("y"),
                        ModelBuilder.intAttr("output_dtype", INT8.onnxCode()))
                .bytes();
        refused(m, "quantizelinear0", "output_dtype is int8 but y_zero_point is uint8");
    }

    @Test
    void matMulIntegerZeroPointOfAnotherTypeThanItsOperand() throws Exception {
        byte[] m = new ModelBuilder(13).input("a", UINT8, 2L, 4L).output("y", INT32, 2L, 3L)
                .initializer("b", vector(INT8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12).reshape(4, 3))
                .initializer("za", scalar(INT8, 1))
                .node("MatMulInteger", List.of("a", "b", "za"), List.of("y"))
                .bytes();
        refused(m, "MatMulInteger", "a_zero_point is int8[] but must have the quantized type uint8");
    }

    @Test
    void zeroPointOutOfRange() throws Exception {
        // int32 x has no zero point: the spec's only allowed value is 0
        byte[] m = new ModelBuilder(21).input("x", INT32, 3L).output("y", FLOAT32, 3L)
                .initializer("s", scalar(FLOAT32, 0.5)).initializer("z", scalar(INT32, 7))
                .node("DequantizeLinear", List.of("x", "s", "z"), List.of("y"))
                .bytes();
        refused(m, "DequantizeLinear", "x_zero_point element 0 is 7.0; for int32 input the zero point must be 0");
    }
}
