package io.vnrt.runtime.kernels.elementwise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Vectorised float32 paths against the scalar references, broadcast patterns, 1 vs 2 threads, dtypes. */
class ElementwiseKernelsTest {
    private static final long[] SIZES = {1, 15, 16, 17, 100, 1000, 40_001};
    private static CoreGroup group;

    @BeforeAll
    static void start() {
        group = new CoreGroup("elem-test", 2);
    }

    @AfterAll
    static void stop() {
        group.close();
    }

    private static Tensor random(Random r, long[] shape, float scale) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) ((r.nextDouble() * 2 - 1) * scale));
        }
        return t;
    }

    private static void assertClose(double expected, double actual, double rtol, String what) {
        if (expected == actual) {
            return;
        }
        if (Double.isNaN(expected)) {
            assertTrue(Double.isNaN(actual), what + ": expected NaN, got " + actual);
            return;
        }
        double tol = 1e-6 + rtol * Math.abs(expected);
        assertTrue(Math.abs(expected - actual) <= tol, what + ": expected " + expected + ", got " + actual);
    }

    private static float[] params(UnaryOp op) {
        return switch (op) {
            case LEAKY_RELU -> new float[] {0.1f, 0};
            case ELU, CELU -> new float[] {0.7f, 0};
            case SELU -> new float[] {1.6732632f, 1.050701f};
            case HARD_SIGMOID -> new float[] {0.2f, 0.5f};
            case THRESHOLDED_RELU -> new float[] {0.5f, 0};
            case SHRINK -> new float[] {0.5f, 0.25f};
            case CLIP -> new float[] {-1f, 2f};
            case SWISH -> new float[] {1.5f, 0};
            default -> new float[] {0, 0};
        };
    }

    @Test
    void everyUnaryVectorLoopMatchesItsScalarReference() {
        Random r = new Random(7);
        for (UnaryOp op : UnaryOp.values()) {
            if (op.integersOnly()) {
                continue;
            }
            float[] pq = params(op);
            for (long n : SIZES) {
                Tensor in = random(r, new long[] {n}, 6f);
                for (long i = 0; i < n; i++) {
                    float x = in.getFloat(i);
                    switch (op) {
                        case SQRT, LOG -> in.setFloat(i, Math.abs(x) + 1e-3f);
                        case ASIN, ACOS, ATANH -> in.setFloat(i, x / 6.5f); // inside (-1, 1)
                        case ACOSH -> in.setFloat(i, Math.abs(x) + 1f);
                        case SINH, COSH -> in.setFloat(i, x * 2f); // into the exponential range
                        default -> { }
                    }
                }
                if (n > 3) {
                    in.setFloat(1, 2.5f); // rounding ties and integral values
                    in.setFloat(2, -3.5f);
                    in.setFloat(3, -0.0f);
                }
                Tensor out = Tensor.allocate(DType.FLOAT32, n);
                FloatLoops.unary(op, pq[0], pq[1], in.data(), 0, out.data(), 0, n);
                for (long i = 0; i < n; i++) {
                    double expect = (float) op.apply(in.getFloat(i), pq[0], pq[1]);
                    assertClose(expect, out.getFloat(i), 1e-5, op + "(" + in.getFloat(i) + ") n=" + n);
                }
            }
        }
    }

    @Test
    void activationsKeepRelativeAccuracyInTheirTails() {
        float[] xs = {-9f, -6f, -4f, -1e-4f, 1e-5f, 1e-3f, 0.49f, 0.51f, 3f, 12f, 40f, -40f};
        Tensor in = Tensor.ofFloats(new long[] {16}, java.util.Arrays.copyOf(xs, 16));
        Tensor out = Tensor.allocate(DType.FLOAT32, 16);
        for (UnaryOp op : new UnaryOp[] {UnaryOp.ERF, UnaryOp.GELU, UnaryOp.SIGMOID, UnaryOp.SOFTPLUS, UnaryOp.MISH}) {
            FloatLoops.unary(op, 0, 0, in.data(), 0, out.data(), 0, 16);
            for (int i = 0; i < xs.length; i++) {
                double expect = op.apply(xs[i], 0, 0);
                double rel = Math.abs(out.getFloat(i) - expect) / Math.max(Math.abs(expect), 1e-37);
                assertTrue(rel < 2e-5 || Math.abs(expect) < 1e-30, op + "(" + xs[i] + "): " + out.getFloat(i) + " vs " + expect);
            }
        }
        // erf reference itself against known values
        assertClose(0.8427007929497149, UnaryOp.erf(1.0), 2e-7, "erf(1)");
        assertClose(-0.9953222650189527, UnaryOp.erf(-2.0), 2e-7, "erf(-2)");
        assertClose(1.1283791670955126e-4, UnaryOp.erf(1e-4), 1e-9, "erf(1e-4)");
    }

    /** Plain numpy-broadcast reference: index the output, map to each input by its own strides. */
    private static Tensor reference(BinaryOp op, Tensor a, Tensor b) {
        long[] shape = Shapes.broadcast(a.shape(), b.shape());
        Tensor out = Tensor.allocate(op.isComparison() ? DType.BOOL : DType.FLOAT32, shape);
        long[] sa = Shapes.broadcastStrides(a.shape(), shape);
        long[] sb = Shapes.broadcastStrides(b.shape(), shape);
        long[] st = Shapes.strides(shape);
        for (long i = 0; i < out.elementCount(); i++) {
            long ia = 0;
            long ib = 0;
            for (int d = 0; d < shape.length; d++) {
                long c = i / st[d] % shape[d];
                ia += c * sa[d];
                ib += c * sb[d];
            }
            out.setDouble(i, (float) op.apply(a.getFloat(ia), b.getFloat(ib)));
        }
        return out;
    }

    private static final long[][][] PATTERNS = {
        {{3, 5, 7}, {3, 5, 7}},       // same shape
        {{3, 5, 7}, {}},              // scalar b
        {{}, {4, 33}},                // scalar a
        {{6, 37}, {37}},              // row broadcast (bias add)
        {{2, 3, 17}, {3, 1}},         // column broadcast
        {{4, 1, 19}, {1, 5, 1}},      // outer product-like
        {{2, 1, 3, 1}, {1, 4, 1, 5}}, // both sides broadcast
        {{1}, {1}},
        {{8, 2049}, {2049}},          // bias add with a vector tail
        {{3, 1, 25_001}, {1, 2, 1}},  // large: split over threads
    };

    @Test
    void binaryBroadcastPatternsMatchReferenceOnOneAndTwoThreads() {
        Random r = new Random(11);
        OpRegistry registry = OpRegistry.standard();
        String[] names = {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "PRelu", "Less", "GreaterOrEqual", "Equal"};
        BinaryOp[] ops = {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.POW, BinaryOp.MIN,
            BinaryOp.MAX, BinaryOp.PRELU, BinaryOp.LT, BinaryOp.GE, BinaryOp.EQ};
        for (long[][] p : PATTERNS) {
            Tensor a = random(r, p[0], 3f);
            Tensor b = random(r, p[1], 3f);
            for (long i = 0; i < a.elementCount(); i += 5) {
                a.setFloat(i, Math.abs(a.getFloat(i))); // some positive bases for Pow
            }
            if (b.elementCount() > 2) {
                b.setFloat(0, a.getFloat(0));
            }
            for (int k = 0; k < ops.length; k++) {
                if (ops[k] == BinaryOp.PRELU && Shapes.broadcast(p[0], p[1]).length != p[0].length) {
                    continue;
                }
                Tensor expect = reference(ops[k], a, b);
                TestNode node = TestNode.of(names[k], 14).input(a).input(b);
                var kernel = registry.find("", names[k]).create(node);
                for (ExecContext ctx : new ExecContext[] {ExecContext.inline(null), group.context(null)}) {
                    Tensor got = node.run(kernel, ctx)[0];
                    assertArrayEquals(expect.shape(), got.shape());
                    for (long i = 0; i < got.elementCount(); i++) {
                        assertClose(expect.getDouble(i), got.getDouble(i), 2e-5,
                                names[k] + " " + java.util.Arrays.deepToString(p) + " @" + i + " threads=" + ctx.parallelism());
                    }
                }
            }
        }
    }

    @Test
    void largeUnaryAgreesOnOneAndTwoThreads() {
        Tensor in = random(new Random(3), new long[] {1_000_003}, 4f);
        TestNode node = TestNode.of("Gelu", 20).input(in);
        var kernel = OpRegistry.standard().find("", "Gelu").create(node);
        Tensor one = node.run(kernel, ExecContext.inline(null))[0];
        Tensor two = node.run(kernel, group.context(null))[0];
        // not bitwise: interpreted Vector API code and C2's intrinsics may differ in the last ulp
        for (long i = 0; i < one.elementCount(); i++) {
            assertClose(one.getFloat(i), two.getFloat(i), 1e-6, "Gelu @" + i);
        }
    }

    @Test
    void integerArithmeticIsExactAndWraps() {
        Tensor a = Tensor.ofLongs(new long[] {4}, Long.MAX_VALUE, -7, 7, -7);
        Tensor b = Tensor.ofLongs(new long[] {4}, 1, 2, -2, -2);
        assertArrayEquals(new long[] {Long.MIN_VALUE, -5, 5, -9}, TestNode.of("Add", 14).input(a).input(b).run()[0].toLongArray());
        assertArrayEquals(new long[] {Long.MAX_VALUE, -3, -3, 3}, TestNode.of("Div", 14).input(a).input(b).run()[0].toLongArray());
        assertArrayEquals(new long[] {0, 1, -1, -1}, TestNode.of("Mod", 13).input(a).input(b).run()[0].toLongArray());
        assertArrayEquals(new long[] {0, -1, 1, -1},
                TestNode.of("Mod", 13).input(a).input(b).attr("fmod", 1L).run()[0].toLongArray());

        Tensor i8a = Tensor.allocate(DType.INT8, 2);
        Tensor i8b = Tensor.allocate(DType.INT8, 2);
        i8a.setLong(0, 100);
        i8a.setLong(1, -128);
        i8b.setLong(0, 100);
        i8b.setLong(1, -1);
        Tensor sum = TestNode.of("Add", 14).input(i8a).input(i8b).run()[0];
        assertArrayEquals(new long[] {-56, 127}, sum.toLongArray());

        Tensor u = Tensor.allocate(DType.UINT64, 1);
        u.setLong(0, -2L); // 2^64 - 2
        Tensor two = Tensor.allocate(DType.UINT64, 1);
        two.setLong(0, 2);
        assertEquals(Long.MAX_VALUE, TestNode.of("Div", 14).input(u).input(two).run()[0].getLong(0));
        assertEquals(1, TestNode.of("Greater", 13).input(u).input(two).run()[0].getLong(0));
    }

    @Test
    void powWithMixedTypesKeepsTheBaseType() {
        Tensor base = Tensor.allocate(DType.INT32, 3);
        for (int i = 0; i < 3; i++) {
            base.setLong(i, i + 1);
        }
        Tensor exp = Tensor.ofFloats(new long[] {3}, 1f, 2f, 3f);
        Tensor out = TestNode.of("Pow", 15).input(base).input(exp).run()[0];
        assertEquals(DType.INT32, out.dtype());
        assertArrayEquals(new long[] {1, 4, 27}, out.toLongArray());
        Tensor big = TestNode.of("Pow", 15).input(Tensor.ofLongs(new long[] {1}, 3)).input(Tensor.ofLongs(new long[] {1}, 39)).run()[0];
        assertEquals(4052555153018976267L, big.getLong(0));
    }

    @Test
    void powWithConstantScalarExponentMatchesGeneralPow() {
        Tensor x = random(new Random(9), new long[] {3, 37}, 4f);
        for (float e : new float[] {2f, 0.5f, 1f, 3f}) {
            Tensor exp = Tensor.ofFloats(new long[] {1}, e);
            Tensor fast = TestNode.of("Pow", 15).input(x).constInput(exp).run()[0];
            Tensor general = TestNode.of("Pow", 15).input(x).input(exp).run()[0];
            assertArrayEquals(new long[] {3, 37}, fast.shape());
            for (long i = 0; i < x.elementCount(); i++) {
                assertClose(general.getFloat(i), fast.getFloat(i), 1e-6, "x^" + e + " @" + i);
            }
        }
    }

    @Test
    void variadicOpsBroadcastAndPropagateNaN() {
        Tensor a = Tensor.ofFloats(new long[] {2, 1}, 1f, Float.NaN);
        Tensor b = Tensor.ofFloats(new long[] {3}, 0f, 5f, 2f);
        Tensor c = Tensor.ofFloats(new long[] {}, 3f);
        Tensor max = TestNode.of("Max", 13).input(a).input(b).input(c).run()[0];
        assertArrayEquals(new long[] {2, 3}, max.shape());
        assertArrayEquals(new float[] {3, 5, 3, Float.NaN, Float.NaN, Float.NaN}, max.toFloatArray());
        Tensor mean = TestNode.of("Mean", 13).input(b).input(c).run()[0];
        assertArrayEquals(new float[] {1.5f, 4f, 2.5f}, mean.toFloatArray());
        Tensor one = TestNode.of("Sum", 13).input(b).run()[0];
        assertArrayEquals(b.toFloatArray(), one.toFloatArray());
    }

    @Test
    void castTruncatesRoundsAndConvertsBools() {
        Tensor f = Tensor.ofFloats(new long[] {5}, -2.7f, 2.7f, 300.5f, Float.NaN, 0f);
        Tensor i8 = TestNode.of("Cast", 19).input(f).attr("to", 3L).run()[0];
        assertArrayEquals(new long[] {-2, 2, 44, 0, 0}, i8.toLongArray());
        Tensor bool = TestNode.of("Cast", 19).input(f).attr("to", 9L).run()[0];
        assertArrayEquals(new long[] {1, 1, 1, 1, 0}, bool.toLongArray());
        Tensor half = TestNode.of("Cast", 19).input(Tensor.ofFloats(new long[] {1}, 1.0009765625f + 0.00048828125f))
                .attr("to", 10L).run()[0];
        assertEquals(1.001953125, half.getDouble(0)); // tie rounds to even mantissa
        Tensor like = TestNode.of("CastLike", 19).input(i8).input(Tensor.allocate(DType.FLOAT64, 0)).run()[0];
        assertEquals(DType.FLOAT64, like.dtype());
        assertThrows(OpException.class, () -> TestNode.of("Cast", 19).input(f).attr("to", 8L).run());
        Tensor big = Tensor.ofFloats(new long[] {1}, 1000f);
        assertEquals(448.0, TestNode.of("Cast", 19).input(big).attr("to", 17L).run()[0].getDouble(0)); // E4M3FN max
        assertTrue(Double.isNaN(TestNode.of("Cast", 19).input(big).attr("to", 17L).attr("saturate", 0L).run()[0].getDouble(0)));
    }

    @Test
    void whereBroadcastsThreeWays() {
        Tensor cond = Tensor.allocate(DType.BOOL, 2, 1);
        cond.setLong(0, 1);
        Tensor x = Tensor.ofLongs(new long[] {3}, 1, 2, 3);
        Tensor y = Tensor.ofLongs(new long[] {}, -1);
        Tensor out = TestNode.of("Where", 16).input(cond).input(x).input(y).run()[0];
        assertArrayEquals(new long[] {1, 2, 3, -1, -1, -1}, out.toLongArray());
    }

    @Test
    void whereFloatVectorPathMatchesReferenceAcrossBroadcasts() {
        Random r = new Random(5);
        long[][][] patterns = {{{5, 37}, {5, 37}, {5, 37}}, {{37}, {5, 37}, {}}, {{5, 1}, {}, {5, 37}}, {{}, {40}, {40}}};
        for (long[][] p : patterns) {
            Tensor c = Tensor.allocate(DType.BOOL, p[0]);
            for (long i = 0; i < c.elementCount(); i++) {
                c.setLong(i, r.nextInt(2));
            }
            Tensor x = random(r, p[1], 1f);
            Tensor y = random(r, p[2], 1f);
            long[] shape = Shapes.broadcast(p[0], p[1], p[2]);
            long[] scs = Shapes.broadcastStrides(p[0], shape);
            long[] sxs = Shapes.broadcastStrides(p[1], shape);
            long[] sys = Shapes.broadcastStrides(p[2], shape);
            long[] st = Shapes.strides(shape);
            Tensor got = TestNode.of("Where", 16).input(c).input(x).input(y).run()[0];
            for (long i = 0; i < got.elementCount(); i++) {
                long ic = 0;
                long ix = 0;
                long iy = 0;
                for (int d = 0; d < shape.length; d++) {
                    long k = i / st[d] % shape[d];
                    ic += k * scs[d];
                    ix += k * sxs[d];
                    iy += k * sys[d];
                }
                float expect = c.getLong(ic) != 0 ? x.getFloat(ix) : y.getFloat(iy);
                assertEquals(expect, got.getFloat(i), java.util.Arrays.deepToString(p) + " @" + i);
            }
        }
    }

    @Test
    void clipReadsAttributesBeforeOpset11AndInputsAfter() {
        Tensor x = Tensor.ofFloats(new long[] {4}, -3f, -0.5f, 0.5f, 3f);
        assertArrayEquals(new float[] {-1, -0.5f, 0.5f, 1},
                TestNode.of("Clip", 6).input(x).attr("min", -1f).attr("max", 1f).run()[0].toFloatArray());
        assertArrayEquals(new float[] {-3, -0.5f, 0.5f, 1},
                TestNode.of("Clip", 13).input(x).noInput().input(Tensor.ofFloats(new long[] {}, 1f)).run()[0].toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1, 1}, TestNode.of("Clip", 13).input(x)
                .input(Tensor.ofFloats(new long[] {}, 2f)).input(Tensor.ofFloats(new long[] {}, 1f)).run()[0].toFloatArray());
        Tensor i8 = Tensor.allocate(DType.INT8, 2);
        i8.setLong(0, -100);
        i8.setLong(1, 100);
        Tensor lo = Tensor.allocate(DType.INT8);
        lo.setLong(0, -5);
        assertArrayEquals(new long[] {-5, 100}, TestNode.of("Clip", 13).input(i8).input(lo).run()[0].toLongArray());
    }

    @Test
    void dropoutIsIdentityInInferenceAndSeededInTraining() {
        Tensor x = Tensor.ofFloats(new long[] {3}, 1f, 2f, 3f);
        Tensor[] out = TestNode.of("Dropout", 13).input(x).outputs(2).run();
        assertArrayEquals(x.toFloatArray(), out[0].toFloatArray());
        assertEquals(DType.BOOL, out[1].dtype());
        assertArrayEquals(new long[] {1, 1, 1}, out[1].toLongArray());

        Tensor training = Tensor.allocate(DType.BOOL);
        training.setLong(0, 1);
        Tensor big = Tensor.ofFloats(new long[] {1000}, new float[1000]);
        for (int i = 0; i < 1000; i++) {
            big.setFloat(i, 1f);
        }
        Tensor[] t = TestNode.of("Dropout", 13).input(big).input(Tensor.ofFloats(new long[] {}, 0.25f)).input(training)
                .outputs(2).run();
        long kept = 0;
        for (int i = 0; i < 1000; i++) {
            boolean keep = t[1].getLong(i) != 0;
            kept += keep ? 1 : 0;
            assertEquals(keep ? 1f / 0.75f : 0f, t[0].getFloat(i), 1e-6);
        }
        assertTrue(kept > 700 && kept < 800, "kept " + kept + " of 1000 at ratio 0.25");
    }

    @Test
    void dropoutMaskStreamIsMt19937() {
        // first outputs of MT19937 seeded with 5489 (the generator's reference default seed)
        DropoutMask mt = new DropoutMask(5489);
        assertEquals(3499211612L, mt.nextInt32());
        assertEquals(581869302L, mt.nextInt32());
        assertEquals(3890346734L, mt.nextInt32());
    }

    @Test
    void predicatesAndLogic() {
        Tensor x = Tensor.ofFloats(new long[] {4}, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f);
        assertArrayEquals(new long[] {1, 0, 0, 0}, TestNode.of("IsNaN", 13).input(x).run()[0].toLongArray());
        assertArrayEquals(new long[] {0, 1, 1, 0}, TestNode.of("IsInf", 10).input(x).run()[0].toLongArray());
        assertArrayEquals(new long[] {0, 0, 1, 0},
                TestNode.of("IsInf", 10).input(x).attr("detect_positive", 0L).run()[0].toLongArray());
        Tensor p = Tensor.allocate(DType.BOOL, 2, 2);
        p.setLong(1, 1);
        p.setLong(3, 1);
        Tensor q = Tensor.allocate(DType.BOOL, 2);
        q.setLong(0, 1);
        q.setLong(1, 1);
        assertArrayEquals(new long[] {1, 0, 1, 0}, TestNode.of("Xor", 7).input(p).input(q).run()[0].toLongArray());
        assertArrayEquals(new long[] {1, 0, 1, 0}, TestNode.of("Not", 1).input(p).run()[0].toLongArray());
        assertThrows(OpException.class, () -> TestNode.of("And", 7).input(x).input(x).run());
    }
}
