package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT32;
import static io.vnrt.runtime.kernels.DType.INT8;
import static io.vnrt.runtime.kernels.DType.UINT8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fusion of the QDQ form (DequantizeLinear -> MatMul/Conv [-> Add bias] [-> Relu] ->
 * QuantizeLinear) into one int8 kernel. With power-of-two scales the unfused float MatMul/Conv is
 * exact and the fused output equals the unfused graph's bit for bit; with arbitrary scales the
 * unfused float sum rounds, and an output within that rounding of a quantization tie may land one
 * step away: the outputs differ by at most one quantum, and in few elements. Both agree with ONNX
 * Runtime within one quantum (its QLinear kernels requantize in their own arithmetic). Chains that
 * are not exactly the form (a run-time scale, an intermediate that is a graph output) stay
 * unfused and right.
 */
class QdqFusionTest {
    private final CoreGroup group = new CoreGroup("qdq-fusion", 2);

    @AfterEach
    void close() {
        group.close();
    }

    /** One chain's choices. {@code exact}: power-of-two scales (and a bias on their grid). */
    private record Spec(boolean conv, long[] xShape, long[] wShape, DType xt, DType wt, DType yt, boolean perChannel,
                        boolean bias, boolean relu, boolean exact, long[] pads, long[] strides, long[] dilations,
                        long group) {
        String label() {
            return (conv ? "conv x" : "matmul x") + Arrays.toString(xShape) + " w" + Arrays.toString(wShape) + " " + xt + "/"
                    + wt + "->" + yt + (perChannel ? " per-channel" : "") + (bias ? " bias" : "") + (relu ? " relu" : "")
                    + (exact ? " pow2" : "") + (conv ? " pads" + Arrays.toString(pads) + " strides"
                    + Arrays.toString(strides) + " dilations" + Arrays.toString(dilations) + " group " + group : "");
        }
    }

    private static float scale(Random r, boolean exact, int base) {
        return exact ? (float) Math.scalb(1.0, -(base + r.nextInt(3))) : (float) Math.scalb(0.5 + r.nextFloat(), -base);
    }

    private static Tensor scalar(DType t, long v) {
        Tensor s = Tensor.allocate(t);
        s.setLong(0, v);
        return s;
    }

    private static long zeroPoint(Random r, DType t) {
        return t == INT8 ? r.nextInt(11) - 5 : 120 + r.nextInt(16);
    }

    /**
     * The QDQ chain with input {@code x_q} and output {@code y} (quantized); {@code exposeFloat}
     * also makes the MatMul/Conv's float output a graph output, which keeps the chain unfused.
     */
    private static byte[] chain(Spec s, long seed, boolean exposeFloat) {
        Random r = new Random(seed);
        ModelBuilder b = new ModelBuilder(13).input("x_q", s.xt, (Object[]) box(s.xShape));
        long channels = s.conv ? s.wShape[0] : s.wShape[1];
        Tensor w = Tensor.allocate(s.wt, s.wShape);
        for (long i = 0; i < w.elementCount(); i++) {
            w.setLong(i, s.wt == INT8 ? r.nextInt(255) - 127 : r.nextInt(256));
        }
        long[] ps = s.perChannel ? new long[] {channels} : new long[0];
        Tensor ws = Tensor.allocate(FLOAT32, ps);
        Tensor wz = Tensor.allocate(s.wt, ps);
        long convZero = zeroPoint(r, s.wt);
        for (long j = 0; j < ws.elementCount(); j++) {
            ws.setFloat(j, scale(r, s.exact, 7));
            // ORT's QLinearConv takes one zero point for all the filters (as a symmetric quantizer writes)
            wz.setLong(j, s.conv ? convZero : zeroPoint(r, s.wt));
        }
        float xs = scale(r, s.exact, 5);
        float ys = scale(r, s.exact, s.exact ? 2 : 3);
        b.initializer("x_scale", Tensor.ofFloats(new long[0], xs)).initializer("x_zero_point", scalar(s.xt, zeroPoint(r, s.xt)))
                .initializer("w_q", w).initializer("w_scale", ws).initializer("w_zero_point", wz)
                .initializer("y_scale", Tensor.ofFloats(new long[0], ys)).initializer("y_zero_point", scalar(s.yt, zeroPoint(r, s.yt)));
        b.node("DequantizeLinear", List.of("x_q", "x_scale", "x_zero_point"), List.of("x"));
        b.node("DequantizeLinear", List.of("w_q", "w_scale", "w_zero_point"), List.of("w"),
                ModelBuilder.intAttr("axis", s.conv ? 0 : 1));
        String v = "mm";
        if (s.conv) {
            List<String> in = new ArrayList<>(List.of("x", "w"));
            if (s.bias) {
                // ORT's form: int32 with scale x_scale·w_scale, zero point 0, dequantized per channel
                Tensor bq = Tensor.allocate(INT32, channels);
                Tensor bs = Tensor.allocate(FLOAT32, channels);
                for (int j = 0; j < channels; j++) {
                    bq.setLong(j, r.nextInt(20001) - 10000);
                    bs.setFloat(j, xs * ws.getFloat(s.perChannel ? j : 0));
                }
                b.initializer("b_q", bq).initializer("b_scale", bs)
                        .node("DequantizeLinear", List.of("b_q", "b_scale"), List.of("b"), ModelBuilder.intAttr("axis", 0));
                in.add("b");
            }
            b.node("Conv", in, List.of(v), ModelBuilder.intsAttr("pads", s.pads), ModelBuilder.intsAttr("strides", s.strides),
                    ModelBuilder.intsAttr("dilations", s.dilations), ModelBuilder.intAttr("group", s.group));
        } else {
            b.node("MatMul", List.of("x", "w"), List.of(v));
            if (s.bias) {
                Tensor bias = Tensor.allocate(FLOAT32, channels);
                for (int j = 0; j < channels; j++) {
                    bias.setFloat(j, s.exact ? (r.nextInt(2001) - 1000) / 1024f : (float) (0.3 * r.nextGaussian()));
                }
                b.initializer("bias", bias).node("Add", List.of("bias", v), List.of("biased"));
                v = "biased";
            }
        }
        if (s.relu) {
            b.node("Relu", List.of(v), List.of("relu"));
            v = "relu";
        }
        b.node("QuantizeLinear", List.of(v, "y_scale", "y_zero_point"), List.of("y"));
        b.outputAnyShape("y", s.yt);
        if (exposeFloat) {
            b.outputAnyShape("mm", FLOAT32);
        }
        return b.bytes();
    }

    private static Long[] box(long[] s) {
        Long[] o = new Long[s.length];
        for (int i = 0; i < s.length; i++) {
            o[i] = s[i];
        }
        return o;
    }

    private static Tensor input(Spec s, long seed) {
        Random r = new Random(seed);
        Tensor x = Tensor.allocate(s.xt, s.xShape);
        for (long i = 0; i < x.elementCount(); i++) {
            x.setLong(i, s.xt == INT8 ? r.nextInt(256) - 128 : r.nextInt(256));
        }
        return x;
    }

    private record Run(Tensor y, long kernels) {}

    private Run run(byte[] model, Map<String, Tensor> inputs) throws Exception {
        try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
            List<TensorType> sig = new ArrayList<>();
            for (var in : m.inputs()) {
                sig.add(inputs.get(in.name()).type());
            }
            long kernels = m.plan(sig).kernelCount();
            return new Run(m.execute(inputs).get("y"), kernels);
        }
    }

    private static byte[] bits(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** Number of elements that differ; fails if any differs by more than one quantum. */
    private static int differing(String label, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), label + ": shape");
        assertEquals(expected.dtype(), actual.dtype(), label + ": type");
        int diff = 0;
        for (long i = 0; i < expected.elementCount(); i++) {
            long d = Math.abs(expected.getLong(i) - actual.getLong(i));
            assertTrue(d <= 1, label + ": element " + i + " unfused " + expected.getLong(i) + ", fused " + actual.getLong(i));
            diff += d == 0 ? 0 : 1;
        }
        return diff;
    }

    private void check(Spec s, long seed, int[] totals) throws Exception {
        String label = s.label();
        Map<String, Tensor> in = Map.of("x_q", input(s, seed + 1000));
        byte[] fusedModel = chain(s, seed, false);
        Run f = run(fusedModel, in);
        Run u = run(chain(s, seed, true), in);
        assertEquals(1, f.kernels, label + ": the chain runs as one kernel");
        assertTrue(u.kernels >= 3, label + ": with the float value an output, nothing fuses (" + u.kernels + ")");
        if (s.exact) {
            assertArrayEquals(bits(u.y), bits(f.y), label + ": with exact float sums, fused and unfused differ");
        } else {
            totals[0] += differing(label, u.y, f.y);
            totals[1] += (int) f.y.elementCount();
        }
        OrtComparison.assertMatchesOrt(label, fusedModel, in, group, 1, 0);
    }

    @Test
    void fusedMatMulEqualsUnfusedAndMatchesOrt() throws Exception {
        int seed = 0;
        int[] totals = new int[2];
        for (long[] xs : new long[][] {{5, 37}, {2, 13, 70}, {1, 128}, {29, 64}, {37}}) {
            for (DType xt : new DType[] {UINT8, INT8}) {
                for (boolean perChannel : new boolean[] {false, true}) {
                    for (boolean exact : new boolean[] {true, false}) {
                        int k = (int) xs[xs.length - 1];
                        int n = 3 + 31 * (seed % 3);
                        DType wt = seed % 4 == 3 ? UINT8 : INT8;
                        DType yt = seed % 2 == 0 ? UINT8 : INT8;
                        boolean bias = seed % 3 != 1;
                        boolean relu = seed % 5 < 2;
                        check(new Spec(false, xs, new long[] {k, n}, xt, wt, yt, perChannel, bias, relu, exact, null, null, null, 1),
                                seed++, totals);
                    }
                }
            }
        }
        // ties within the unfused sum's rounding are rare: well under 1% of the outputs move a step
        assertTrue(totals[0] * 100 < totals[1], totals[0] + " of " + totals[1] + " outputs differ by one quantum");
    }

    @Test
    void fusedConvEqualsUnfusedAndMatchesOrt() throws Exception {
        int seed = 100;
        int[] totals = new int[2];
        record Shape(long[] x, long[] w, long[] pads, long[] strides, long[] dilations, long group) {}
        List<Shape> shapes = List.of(
                new Shape(new long[] {2, 3, 9, 11}, new long[] {5, 3, 3, 3}, new long[] {1, 1, 1, 1}, new long[] {2, 2},
                        new long[] {1, 1}, 1),
                new Shape(new long[] {1, 8, 7, 7}, new long[] {33, 8, 1, 1}, new long[] {0, 0, 0, 0}, new long[] {1, 1},
                        new long[] {1, 1}, 1),
                new Shape(new long[] {1, 4, 10, 9}, new long[] {6, 4, 3, 2}, new long[] {1, 0, 2, 1}, new long[] {1, 2},
                        new long[] {1, 1}, 1),
                new Shape(new long[] {1, 5, 12, 11}, new long[] {7, 5, 3, 3}, new long[] {2, 1, 0, 2}, new long[] {2, 1},
                        new long[] {2, 3}, 1),
                new Shape(new long[] {1, 6, 8, 8}, new long[] {4, 3, 3, 3}, new long[] {1, 1, 1, 1}, new long[] {1, 1},
                        new long[] {1, 1}, 2));
        for (Shape sh : shapes) {
            for (DType xt : new DType[] {UINT8, INT8}) {
                for (boolean perChannel : new boolean[] {false, true}) {
                    for (boolean exact : new boolean[] {true, false}) {
                        DType yt = seed % 2 == 0 ? UINT8 : INT8;
                        boolean relu = seed % 3 == 0;
                        check(new Spec(true, sh.x, sh.w, xt, INT8, yt, perChannel, seed % 4 != 1, relu, exact, sh.pads,
                                sh.strides, sh.dilations, sh.group), seed++, totals);
                    }
                }
            }
        }
        assertTrue(totals[0] * 100 < totals[1], totals[0] + " of " + totals[1] + " outputs differ by one quantum");
    }

    @Test
    void chainsThatAreNotTheFormStayUnfusedAndRight() throws Exception {
        Random r = new Random(5);
        Tensor x = Tensor.allocate(UINT8, 4, 6);
        for (long i = 0; i < x.elementCount(); i++) {
            x.setLong(i, r.nextInt(256));
        }
        Tensor w = Tensor.allocate(INT8, 6, 5);
        for (long i = 0; i < w.elementCount(); i++) {
            w.setLong(i, r.nextInt(255) - 127);
        }
        // the weight's scale a run-time input: not fused
        byte[] runtimeW = qdqMatMul(w, Tensor.ofFloats(new long[0], 0.02f), Tensor.allocate(INT8), false, true);
        Map<String, Tensor> in = Map.of("x_q", x, "w_scale", Tensor.ofFloats(new long[0], 0.03f));
        assertTrue(run(runtimeW, in).kernels >= 3, "a run-time w_scale is not fused");
        OrtComparison.assertMatchesOrt("run-time w_scale", runtimeW, in, group, 1, 0);

        // y_scale a run-time input: not fused
        byte[] runtimeScale = qdqMatMul(w, Tensor.ofFloats(new long[0], 0.02f), Tensor.allocate(INT8), true, false);
        Map<String, Tensor> in2 = Map.of("x_q", x, "y_scale", Tensor.ofFloats(new long[0], 0.3f));
        assertTrue(run(runtimeScale, in2).kernels >= 3, "a run-time y_scale is not fused");
        OrtComparison.assertMatchesOrt("run-time y_scale", runtimeScale, in2, group, 1, 0);
    }

    /**
     * DequantizeLinear -> MaxPool -> QuantizeLinear with one scale and zero point runs as MaxPool
     * on the integers: bit for bit the unfused graph's output (which runs when the pooled float is
     * also a graph output) and ORT's. Pads or a different output scale keep the float MaxPool.
     */
    @Test
    void maxPoolBetweenOneScaleRunsOnTheIntegers() throws Exception {
        record Pool(long[] kernel, long[] strides, long[] dilations, long[] pads, float outScale, boolean fuses) {}
        List<Pool> pools = List.of(
                new Pool(new long[] {2, 2}, new long[] {2, 2}, new long[] {1, 1}, new long[] {0, 0, 0, 0}, 0.0371f, true),
                new Pool(new long[] {3, 3}, new long[] {1, 2}, new long[] {2, 1}, new long[] {0, 0, 0, 0}, 0.0371f, true),
                new Pool(new long[] {3, 3}, new long[] {2, 2}, new long[] {1, 1}, new long[] {1, 1, 1, 1}, 0.0371f, false),
                new Pool(new long[] {2, 2}, new long[] {2, 2}, new long[] {1, 1}, new long[] {0, 0, 0, 0}, 0.05f, false));
        Random r = new Random(9);
        for (Pool pl : pools) {
            for (DType t : new DType[] {UINT8, INT8}) {
                long zero = t == UINT8 ? 7 : -3;
                Tensor x = Tensor.allocate(t, 2, 3, 9, 10);
                for (long i = 0; i < x.elementCount(); i++) {
                    x.setLong(i, t == INT8 ? r.nextInt(256) - 128 : r.nextInt(256));
                }
                String label = t + " kernel" + Arrays.toString(pl.kernel) + " strides" + Arrays.toString(pl.strides)
                        + " dilations" + Arrays.toString(pl.dilations) + " pads" + Arrays.toString(pl.pads) + " y_scale "
                        + pl.outScale;
                byte[][] models = new byte[2][];
                for (int expose = 0; expose < 2; expose++) {
                    ModelBuilder b = new ModelBuilder(13).input("x_q", t, 2L, 3L, 9L, 10L)
                            .initializer("s", Tensor.ofFloats(new long[0], 0.0371f)).initializer("z", scalar(t, zero))
                            .initializer("ys", Tensor.ofFloats(new long[0], pl.outScale))
                            .node("DequantizeLinear", List.of("x_q", "s", "z"), List.of("x"))
                            .node("MaxPool", List.of("x"), List.of("pool"), ModelBuilder.intsAttr("kernel_shape", pl.kernel),
                                    ModelBuilder.intsAttr("strides", pl.strides), ModelBuilder.intsAttr("dilations", pl.dilations),
                                    ModelBuilder.intsAttr("pads", pl.pads))
                            .node("QuantizeLinear", List.of("pool", "ys", "z"), List.of("y"));
                    b.outputAnyShape("y", t);
                    if (expose == 1) {
                        b.outputAnyShape("pool", FLOAT32);
                    }
                    models[expose] = b.bytes();
                }
                Map<String, Tensor> in = Map.of("x_q", x);
                Run f = run(models[0], in);
                Run u = run(models[1], in);
                assertEquals(pl.fuses ? 1 : 3, f.kernels, label + ": kernels");
                assertEquals(3, u.kernels, label + ": with the float pool an output, nothing fuses");
                assertArrayEquals(bits(u.y), bits(f.y), label + ": fused and unfused differ");
                OrtComparison.assertMatchesOrt(label, models[0], in, group, 0, 0);
            }
        }
    }

    private static byte[] qdqMatMul(Tensor w, Tensor ws, Tensor wz, boolean runtimeYScale, boolean runtimeWScale) {
        ModelBuilder b = new ModelBuilder(13).input("x_q", UINT8, 4L, 6L).output("y", UINT8, 4L, 5L)
                .initializer("x_scale", Tensor.ofFloats(new long[0], 0.05f)).initializer("x_zero_point", scalar(UINT8, 128))
                .initializer("w_q", w).initializer("w_zero_point", wz).initializer("y_zero_point", scalar(UINT8, 100));
        if (runtimeWScale) {
            b.input("w_scale", FLOAT32);
        } else {
            b.initializer("w_scale", ws);
        }
        if (runtimeYScale) {
            b.input("y_scale", FLOAT32);
        } else {
            b.initializer("y_scale", Tensor.ofFloats(new long[0], 0.3f));
        }
        return b.node("DequantizeLinear", List.of("x_q", "x_scale", "x_zero_point"), List.of("x"))
                .node("DequantizeLinear", List.of("w_q", "w_scale", "w_zero_point"), List.of("w"))
                .node("MatMul", List.of("x", "w"), List.of("mm"))
                .node("QuantizeLinear", List.of("mm", "y_scale", "y_zero_point"), List.of("y")).bytes();
    }
}
