package io.vnrt.runtime.kernels.norm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Softmax and LayerNorm families: vector paths against scalar references, threads, opset semantics. */
class NormKernelTest {
    private static final OpRegistry REGISTRY = OpRegistry.standard();

    static Tensor random(long seed, float spread, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        Random r = new Random(seed);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (r.nextFloat() * 2 - 1) * spread);
        }
        return t;
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        for (long i = 0; i < expected.elementCount(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            assertTrue(Math.abs(e - a) <= tol * (1 + Math.abs(e)), what + " element " + i + ": " + e + " vs " + a);
        }
    }

    private static void checkSoftmax(String op, int opset, Tensor x, long axis, ExecContext ctx) {
        TestNode node = TestNode.of(op, opset).input(x).attr("axis", axis);
        Kernel k = REGISTRY.find("", op).create(node);
        Tensor fast = node.run(k, ctx)[0];
        Tensor ref = Tensor.allocate(DType.FLOAT32, x.shape());
        ((Softmax) k).reference(x, ref, op.equals("LogSoftmax"), 0, fastOuter(x, axis, opset));
        assertClose(ref, fast, 1e-5, op + " axis " + axis + " opset " + opset);
    }

    private static long fastOuter(Tensor x, long axis, int opset) {
        int a = (int) (axis < 0 ? axis + x.rank() : axis);
        long outer = 1;
        for (int i = 0; i < a; i++) {
            outer *= x.dim(i);
        }
        return outer;
    }

    @Test
    void softmaxVectorPathsMatchReferenceOnOddShapes() {
        Tensor x = random(1, 20, 3, 7, 131);
        for (String op : new String[] {"Softmax", "LogSoftmax"}) {
            for (long axis : new long[] {-1, 1, 0}) {
                checkSoftmax(op, 13, x, axis, ExecContext.inline(null));
                checkSoftmax(op, 11, x, axis, ExecContext.inline(null));
            }
        }
    }

    @Test
    void polynomialExpIsWithinOneMillionthOfMathExp() {
        float[] xs = new float[16 * 4096 + 7];
        Random r = new Random(11);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = -r.nextFloat() * 90f;
        }
        xs[0] = 0f;
        xs[1] = -0f;
        xs[2] = Float.NEGATIVE_INFINITY;
        xs[3] = Float.NaN;
        xs[4] = -87.3f;
        xs[5] = -1e-8f;
        java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofArray(xs.clone());
        float sum = RowVectors.expShifted(seg, seg, 0, xs.length, 0f);
        float[] out = seg.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
        assertTrue(Float.isNaN(sum), "a NaN input makes the sum NaN");
        assertEquals(1f, out[0]);
        assertEquals(1f, out[1]);
        assertEquals(0f, out[2]);
        assertTrue(Float.isNaN(out[3]));
        for (int i = 4; i < xs.length; i++) {
            double e = Math.exp(xs[i]);
            if (xs[i] >= -87.33f) {
                assertEquals(e, out[i], 1e-6 * e, "exp(" + xs[i] + ")");
            } else {
                assertEquals(0f, out[i], "exp(" + xs[i] + ") flushes to zero");
            }
        }
    }

    @Test
    void softmaxRowsShorterThanAVectorMatchReference() {
        // Rows of 1..17 floats: the one-masked-vector path and the boundary around it.
        for (long n : new long[] {1, 2, 10, 15, 16, 17}) {
            Tensor x = random(3, 20, 9, n);
            checkSoftmax("Softmax", 13, x, -1, ExecContext.inline(null));
            checkSoftmax("LogSoftmax", 13, x, -1, ExecContext.inline(null));
        }
    }

    @Test
    void softmaxSplitOverTwoThreads() {
        Tensor x = random(2, 8, 1, 12, 128, 128);
        try (CoreGroup group = new CoreGroup("t", 2)) {
            checkSoftmax("Softmax", 13, x, -1, group.context(null));
            checkSoftmax("LogSoftmax", 13, x, 2, group.context(null));
        }
    }

    @Test
    void softmaxBeforeOpset13CoercesTo2d() {
        Tensor x = random(3, 3, 2, 3, 4);
        Tensor old = TestNode.of("Softmax", 11).input(x).run()[0];
        Tensor now = TestNode.of("Softmax", 13).input(x).run()[0];
        for (int row = 0; row < 2; row++) {
            double s = 0;
            for (int i = 0; i < 12; i++) {
                s += old.getFloat(row * 12L + i);
            }
            assertEquals(1.0, s, 1e-5, "opset 11: one distribution over dims 1.. of each batch");
        }
        for (int row = 0; row < 6; row++) {
            double s = 0;
            for (int i = 0; i < 4; i++) {
                s += now.getFloat(row * 4L + i);
            }
            assertEquals(1.0, s, 1e-5, "opset 13: one distribution along the last axis");
        }
        Tensor hard = TestNode.of("Hardmax", 11).input(Tensor.ofFloats(new long[] {1, 2, 2}, 1, 5, 5, 2)).run()[0];
        assertArrayEquals(new float[] {0, 1, 0, 0}, hard.toFloatArray());
        Tensor hard13 = TestNode.of("Hardmax", 13).input(Tensor.ofFloats(new long[] {1, 2, 2}, 1, 5, 5, 2)).run()[0];
        assertArrayEquals(new float[] {0, 1, 1, 0}, hard13.toFloatArray());
    }

    private static void checkLayerNorm(boolean rms, Tensor x, long axis, ExecContext ctx) {
        long n = 1;
        int a = (int) (axis < 0 ? axis + x.rank() : axis);
        long[] norm = java.util.Arrays.copyOfRange(x.shape(), a, x.rank());
        for (long d : norm) {
            n *= d;
        }
        Tensor scale = random(7, 2, norm);
        Tensor bias = random(8, 2, norm);
        String op = rms ? "RMSNormalization" : "LayerNormalization";
        TestNode node = TestNode.of(op, rms ? 23 : 17).input(x).input(scale).attr("axis", axis).outputs(rms ? 1 : 3);
        if (!rms) {
            node.input(bias);
        }
        Kernel k = REGISTRY.find("", op).create(node);
        Tensor[] fast = node.run(k, ctx);
        Tensor[] ref = new Tensor[fast.length];
        for (int i = 0; i < ref.length; i++) {
            ref[i] = Tensor.allocate(fast[i].dtype(), fast[i].shape());
        }
        long outer = x.elementCount() / n;
        ((LayerNorm) k).reference(x, scale, rms ? null : bias, ref[0], rms ? null : ref[1], rms ? null : ref[2], 0, outer);
        for (int i = 0; i < ref.length; i++) {
            assertClose(ref[i], fast[i], 1e-4, op + " output " + i);
        }
    }

    @Test
    void layerNormVectorPathMatchesReference() {
        Tensor x = random(4, 3, 5, 3, 257);
        for (long axis : new long[] {-1, 1, 0}) {
            checkLayerNorm(false, x, axis, ExecContext.inline(null));
            checkLayerNorm(true, x, axis, ExecContext.inline(null));
        }
        try (CoreGroup group = new CoreGroup("t", 2)) {
            Tensor big = random(5, 3, 1, 128, 768);
            checkLayerNorm(false, big, -1, group.context(null));
            checkLayerNorm(true, big, -1, group.context(null));
        }
    }

    @Test
    void groupNormParamsArePerGroupAtOpset18AndPerChannelAt21() {
        Tensor x = random(6, 2, 1, 4, 3);
        Tensor ones = Tensor.ofFloats(new long[] {2}, 1, 1);
        Tensor zeros = Tensor.ofFloats(new long[] {2}, 0, 0);
        Tensor y18 = TestNode.of("GroupNormalization", 18).input(x).input(ones).input(zeros).attr("num_groups", 2L).run()[0];
        Tensor scale4 = Tensor.ofFloats(new long[] {4}, 1, 1, 1, 1);
        Tensor bias4 = Tensor.ofFloats(new long[] {4}, 0, 0, 0, 0);
        Tensor y21 = TestNode.of("GroupNormalization", 21).input(x).input(scale4).input(bias4).attr("num_groups", 2L).run()[0];
        assertClose(y18, y21, 1e-6, "same normalisation with unit params");
        // Each group of 2 channels x 3 positions has mean 0 and unit variance (up to epsilon).
        for (int g = 0; g < 2; g++) {
            double s = 0;
            double q = 0;
            for (int i = 0; i < 6; i++) {
                double v = y21.getFloat(g * 6L + i);
                s += v;
                q += v * v;
            }
            assertEquals(0, s / 6, 1e-5);
            assertEquals(1, q / 6, 1e-3);
        }
    }

    @Test
    void batchNormInferenceUsesRunningStatistics() {
        Tensor x = random(9, 2, 2, 3, 17);
        Tensor scale = Tensor.ofFloats(new long[] {3}, 1, 2, 3);
        Tensor bias = Tensor.ofFloats(new long[] {3}, 0, 1, -1);
        Tensor mean = Tensor.ofFloats(new long[] {3}, 0.5f, -0.5f, 0);
        Tensor var = Tensor.ofFloats(new long[] {3}, 1, 4, 0.25f);
        Tensor y = TestNode.of("BatchNormalization", 15).input(x).input(scale).input(bias).input(mean).input(var)
                .attr("epsilon", 1e-5f).run()[0];
        for (long i = 0; i < x.elementCount(); i++) {
            int c = (int) (i / 17 % 3);
            double e = (x.getFloat(i) - mean.getFloat(c)) / Math.sqrt(var.getFloat(c) + 1e-5) * scale.getFloat(c)
                    + bias.getFloat(c);
            assertEquals(e, y.getFloat(i), 1e-5);
        }
    }

    private static Tensor convert(Tensor x, DType dt) {
        Tensor t = Tensor.allocate(dt, x.shape());
        for (long i = 0; i < x.elementCount(); i++) {
            t.setDouble(i, x.getDouble(i));
        }
        return t;
    }

    @Test
    void float16AndFloat64GoThroughTheGenericPathsWithTheSameResults() {
        Tensor x = random(12, 3, 4, 6, 37);
        Tensor scale = random(13, 1, 37);
        Tensor bias = random(14, 1, 37);
        Tensor soft = TestNode.of("Softmax", 13).input(x).run()[0];
        Tensor norm = TestNode.of("LayerNormalization", 17).input(x).input(scale).input(bias).run()[0];
        for (DType dt : new DType[] {DType.FLOAT16, DType.FLOAT64}) {
            double tol = dt == DType.FLOAT16 ? 3e-3 : 1e-5;
            Tensor s = TestNode.of("Softmax", 13).input(convert(x, dt)).run()[0];
            assertEquals(dt, s.dtype());
            assertClose(soft, s, tol, "Softmax " + dt);
            Tensor n = TestNode.of("LayerNormalization", 17).input(convert(x, dt)).input(convert(scale, dt))
                    .input(convert(bias, dt)).run()[0];
            assertEquals(dt, n.dtype());
            assertClose(norm, n, dt == DType.FLOAT16 ? 1e-2 : 1e-5, "LayerNormalization " + dt);
        }
    }
}
