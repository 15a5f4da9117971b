package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fusion of quantize_dynamic's DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul [-> Add]
 * into one int8 GEMM: the fused plan runs one kernel and gives the unfused graph's output bit for
 * bit (the same integers, the same float epilogue) and agrees with ONNX Runtime; chains that must
 * not fuse (the int32 value also a graph output, a zero point that is not the DQL's own, a weight
 * zero point that is not constant) stay unfused and still agree with ORT.
 */
class QuantizationFusionTest {
    private final CoreGroup group = new CoreGroup("qfusion", 2);

    @AfterEach
    void close() {
        group.close();
    }

    /** Variations of one chain; {@code exposeInt32} makes the MatMulInteger result a graph output too. */
    private static byte[] chain(Random r, long[] xShape, int k, int n, DType wType, boolean perChannel, boolean bias,
                                boolean exposeInt32, boolean runtimeWeightZero) {
        return chain(r, xShape, k, n, wType, perChannel, bias, exposeInt32, runtimeWeightZero, null);
    }

    /** The chain, then {@code act} ("Relu", or "Gelu" for the exported Div/Erf/Add/Mul/Mul form; null for none). */
    private static byte[] chain(Random r, long[] xShape, int k, int n, DType wType, boolean perChannel, boolean bias,
                                boolean exposeInt32, boolean runtimeWeightZero, String act) {
        return chain(r, xShape, k, n, wType, perChannel, bias, exposeInt32, runtimeWeightZero, act, null);
    }

    /** The chain, with every weight zero point {@code zero} when not null (drawn all the same). */
    private static byte[] chain(Random r, long[] xShape, int k, int n, DType wType, boolean perChannel, boolean bias,
                                boolean exposeInt32, boolean runtimeWeightZero, String act, Long zero) {
        String lin = act == null ? "y" : "lin";
        ModelBuilder b = new ModelBuilder(13).input("x", FLOAT32, (Object[]) box(xShape));
        long[] yShape = xShape.clone();
        yShape[yShape.length - 1] = n;
        b.output("y", FLOAT32, (Object[]) box(yShape));
        Tensor w = Tensor.allocate(wType, k, n);
        for (long i = 0; i < w.elementCount(); i++) {
            w.setLong(i, wType == INT8 ? r.nextInt(255) - 127 : r.nextInt(256));
        }
        long[] ps = perChannel ? new long[] {n} : new long[0];
        Tensor ws = Tensor.allocate(FLOAT32, ps);
        Tensor wz = Tensor.allocate(wType, ps);
        for (long j = 0; j < ws.elementCount(); j++) {
            ws.setFloat(j, 0.001f + 0.01f * r.nextFloat());
            long z = wType == INT8 ? r.nextInt(9) - 4 : 120 + r.nextInt(16);
            wz.setLong(j, zero != null ? zero : z);
        }
        b.initializer("w", w).initializer("w_scale", ws);
        if (runtimeWeightZero) {
            b.input("w_zero_point", wType, (Object[]) box(ps));
        } else {
            b.initializer("w_zero_point", wz);
        }
        b.node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xz"))
                .node("MatMulInteger", List.of("xq", "w", "xz", "w_zero_point"), List.of("mm"))
                .node("Cast", List.of("mm"), List.of("mmf"), ModelBuilder.intAttr("to", 1))
                .node("Mul", List.of("xs", "w_scale"), List.of("scales"))
                .node("Mul", List.of("mmf", "scales"), List.of(bias ? "prod" : lin));
        if (bias) {
            b.initializer("bias", gaussian(r, n)).node("Add", List.of("prod", "bias"), List.of(lin));
        }
        if ("Relu".equals(act)) {
            b.node("Relu", List.of(lin), List.of("y"));
        } else if ("Gelu".equals(act)) {
            b.initializer("sqrt2", Tensor.ofFloats(new long[0], 1.4142135f))
                    .initializer("one", Tensor.ofFloats(new long[0], 1f))
                    .initializer("half", Tensor.ofFloats(new long[0], 0.5f))
                    .node("Div", List.of(lin, "sqrt2"), List.of("g_d"))
                    .node("Erf", List.of("g_d"), List.of("g_e"))
                    .node("Add", List.of("g_e", "one"), List.of("g_p"))
                    .node("Mul", List.of(lin, "g_p"), List.of("g_q"))
                    .node("Mul", List.of("g_q", "half"), List.of("y"));
        }
        if (exposeInt32) {
            b.output("mm", INT32, (Object[]) box(yShape));
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

    @Test
    void fusedEqualsUnfusedBitForBitAndMatchesOrt() throws Exception {
        int seed = 0;
        for (long[] xs : new long[][] {{5, 37}, {2, 13, 70}, {1, 128}, {29, 64}}) {
            for (DType wt : new DType[] {INT8, UINT8}) {
                for (boolean perChannel : new boolean[] {false, true}) {
                    for (boolean bias : new boolean[] {false, true}) {
                        int k = (int) xs[xs.length - 1];
                        int n = 3 + 31 * (seed % 3);
                        String label = java.util.Arrays.toString(xs) + " n=" + n + " " + wt + (perChannel ? " per-channel" : "")
                                + (bias ? " bias" : "");
                        byte[] fused = chain(new Random(seed), xs, k, n, wt, perChannel, bias, false, false);
                        byte[] unfused = chain(new Random(seed), xs, k, n, wt, perChannel, bias, true, false);
                        seed++;
                        Map<String, Tensor> in = Map.of("x", gaussian(new Random(seed), xs));
                        Run f = run(fused, in);
                        Run u = run(unfused, in);
                        assertEquals(1, f.kernels, label + ": the chain runs as one kernel");
                        assertTrue(u.kernels >= 4, label + ": with the int32 value an output, nothing fuses (" + u.kernels + ")");
                        assertArrayEquals(bits(u.y), bits(f.y), label + ": fused and unfused outputs differ");
                        OrtComparison.assertMatchesOrt(label, fused, in, group, 1e-4, 1e-4);
                    }
                }
            }
        }
    }

    /**
     * A Relu or an Erf-form GELU after the chain runs in the int8 GEMM's epilogue: one kernel, the
     * unfused graph's output bit for bit for Relu, within a few float roundings for the GELU
     * (the epilogue multiplies by √½ where the graph divides by √2), and ORT's within float
     * tolerance with ragged rows too.
     */
    @Test
    void followingActivationFusesIntoTheEpilogue() throws Exception {
        int seed = 100;
        for (String act : new String[] {"Relu", "Gelu"}) {
            for (long[] xs : new long[][] {{7, 48}, {1, 128}}) {
                for (int n : new int[] {64, 37}) {
                    int k = (int) xs[xs.length - 1];
                    String label = act + " " + java.util.Arrays.toString(xs) + " n=" + n;
                    byte[] fused = chain(new Random(seed), xs, k, n, INT8, false, true, false, false, act);
                    byte[] unfused = chain(new Random(seed), xs, k, n, INT8, false, true, true, false, act);
                    seed++;
                    Map<String, Tensor> in = Map.of("x", gaussian(new Random(seed), xs));
                    Run f = run(fused, in);
                    Run u = run(unfused, in);
                    assertEquals(1, f.kernels, label + ": chain and activation run as one kernel");
                    if (act.equals("Relu")) {
                        assertArrayEquals(bits(u.y), bits(f.y), label + ": fused and unfused outputs differ");
                    } else {
                        for (long i = 0; i < u.y.elementCount(); i++) {
                            float want = u.y.getFloat(i);
                            assertEquals(want, f.y.getFloat(i), 1e-6f + 1e-6f * Math.abs(want), label + ": element " + i);
                        }
                    }
                    OrtComparison.assertMatchesOrt(label, fused, in, group, 1e-4, 1e-4);
                }
            }
        }
    }

    /**
     * Three chains reading one DynamicQuantizeLinear (attention's Q, K and V) run as one merged
     * int8 GEMM with their weights side by side (per-channel and per-tensor scales, zero points
     * or none), each output the unfused graph's bit for bit; when one has no bias they stay three.
     */
    @Test
    void chainsSharingAnActivationMergeIntoOneGemm() throws Exception {
        for (DType wt : new DType[] {INT8, UINT8}) {
            for (boolean allBias : new boolean[] {true, false}) {
                long[] xs = {2, 9, 48};
                int[] widths = {40, 64, 33};
                Tensor x = gaussian(new Random(7), xs);
                Map<String, Tensor>[] got = new Map[2];
                long[] kernels = new long[2];
                for (int v = 0; v < 2; v++) {
                    Random r = new Random(11);
                    ModelBuilder b = new ModelBuilder(13).input("x", FLOAT32, (Object[]) box(xs));
                    b.node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xz"));
                    for (int i = 0; i < 3; i++) {
                        int n = widths[i];
                        Tensor w = Tensor.allocate(wt, 48, n);
                        for (long e = 0; e < w.elementCount(); e++) {
                            w.setLong(e, wt == INT8 ? r.nextInt(255) - 127 : r.nextInt(256));
                        }
                        long[] ps = i == 1 ? new long[0] : new long[] {n};
                        Tensor ws = Tensor.allocate(FLOAT32, ps);
                        Tensor wz = Tensor.allocate(wt, ps);
                        for (long j = 0; j < ws.elementCount(); j++) {
                            ws.setFloat(j, 0.001f + 0.01f * r.nextFloat());
                            wz.setLong(j, wt == INT8 ? r.nextInt(9) - 4 : 120 + r.nextInt(16));
                        }
                        b.initializer("w" + i, w).initializer("ws" + i, ws).initializer("wz" + i, wz);
                        List<String> mmIn = i == 2 ? List.of("xq", "w" + i, "xz") : List.of("xq", "w" + i, "xz", "wz" + i);
                        boolean bias = allBias || i != 1;
                        long[] ys = {2, 9, n};
                        b.output("y" + i, FLOAT32, (Object[]) box(ys))
                                .node("MatMulInteger", mmIn, List.of("mm" + i))
                                .node("Cast", List.of("mm" + i), List.of("mmf" + i), ModelBuilder.intAttr("to", 1))
                                .node("Mul", List.of("xs", "ws" + i), List.of("scales" + i))
                                .node("Mul", List.of("mmf" + i, "scales" + i), List.of(bias ? "prod" + i : "y" + i));
                        if (bias) {
                            b.initializer("bias" + i, gaussian(r, n)).node("Add", List.of("prod" + i, "bias" + i), List.of("y" + i));
                        }
                        if (v == 1) {
                            b.output("mm" + i, INT32, (Object[]) box(ys));
                        }
                    }
                    try (LoadedModel m = new Engine().load("m", b.bytes(), null, new HostMemory(), group)) {
                        kernels[v] = m.plan(List.of(x.type())).kernelCount();
                        got[v] = m.execute(Map.of("x", x));
                    }
                }
                String label = wt + (allBias ? "" : ", one without bias");
                assertEquals(allBias ? 1 : 3, kernels[0], label + ": fused GEMMs");
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(bits(got[1].get("y" + i)), bits(got[0].get("y" + i)), label + ": output y" + i);
                }
            }
        }
    }

    @Test
    void chainsThatMustNotFuseStayCorrect() throws Exception {
        Random r = new Random(41);
        // the weight zero point a run-time input: not fused, still right. ORT's reference is the same
        // chain with that zero point a constant: with a run-time one ORT keeps its U8S8 kernel, whose
        // 16-bit pair sums saturate on x86 without VNNI (OrtComparison.exactInt8)
        byte[] m = chain(r, new long[] {4, 20}, 20, 9, INT8, false, true, false, true);
        byte[] constantZero = chain(new Random(41), new long[] {4, 20}, 20, 9, INT8, false, true, false, false, null, 3L);
        Tensor wz = Tensor.allocate(INT8);
        wz.setLong(0, 3);
        Map<String, Tensor> in = new HashMap<>(Map.of("x", gaussian(r, 4, 20), "w_zero_point", wz));
        assertTrue(run(m, in).kernels > 1, "a run-time zero point is not fused");
        OrtComparison.assertMatchesOrt("run-time w_zero_point", m, constantZero, in, group, 1e-4, 1e-4);

        // MatMulInteger's activation zero point a constant rather than the DQL's: not fused
        Tensor w = Tensor.allocate(INT8, 6, 5);
        for (long i = 0; i < w.elementCount(); i++) {
            w.setLong(i, r.nextInt(255) - 127);
        }
        Tensor az = Tensor.allocate(UINT8);
        az.setLong(0, 128);
        byte[] other = new ModelBuilder(13).input("x", FLOAT32, 3L, 6L).output("y", FLOAT32, 3L, 5L)
                .initializer("w", w).initializer("w_scale", Tensor.ofFloats(new long[0], 0.02f)).initializer("az", az)
                .node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xz"))
                .node("MatMulInteger", List.of("xq", "w", "az"), List.of("mm"))
                .node("Cast", List.of("mm"), List.of("mmf"), ModelBuilder.intAttr("to", 1))
                .node("Mul", List.of("xs", "w_scale"), List.of("scales"))
                .node("Mul", List.of("mmf", "scales"), List.of("y")).bytes();
        Map<String, Tensor> in2 = Map.of("x", gaussian(r, 3, 6));
        assertTrue(run(other, in2).kernels >= 4, "another zero point than the DQL's is not fused");
        OrtComparison.assertMatchesOrt("constant a_zero_point", other, in2, group, 1e-4, 1e-4);
    }
}
