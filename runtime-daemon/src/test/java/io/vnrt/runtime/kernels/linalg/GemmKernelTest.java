package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** MatMul and Gemm fast paths against a plain triple loop: odd sizes, transposes, batches, 1 vs 2 threads. */
class GemmKernelTest {
    private static CoreGroup two;

    @BeforeAll
    static void start() {
        two = new CoreGroup("gemm-test", 2);
    }

    @AfterAll
    static void stop() {
        two.close();
    }

    static Tensor random(Random r, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, r.nextFloat() * 2 - 1);
        }
        return t;
    }

    /** Reference: C[i][j] = sum_k A[i][k] B[k][j] in double, A (M×K) and B (K×N) row-major. */
    static float[] reference(float[] a, float[] b, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int q = 0; q < k; q++) {
                    s += (double) a[i * k + q] * b[q * n + j];
                }
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float tol = 1e-4f * Math.max(1f, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol || (Float.isNaN(expected[i]) && Float.isNaN(actual[i])),
                    what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
        }
    }

    static Tensor[] runBoth(TestNode node, boolean twoThreads) {
        Kernel k = io.vnrt.runtime.kernels.OpRegistry.standard()
                .find("", node.opType()).create(node);
        ExecContext ctx = twoThreads ? two.context(null) : ExecContext.inline(null);
        return node.run(k, ctx);
    }

    @Test
    void matmulOddSizesMatchReference() {
        Random r = new Random(42);
        int[] sizes = {1, 7, 33, 65};
        for (int m : sizes) {
            for (int k : sizes) {
                for (int n : sizes) {
                    Tensor a = random(r, m, k);
                    Tensor b = random(r, k, n);
                    float[] want = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
                    for (boolean constB : new boolean[] {false, true}) {
                        for (boolean threads : new boolean[] {false, true}) {
                            TestNode node = TestNode.of("MatMul", 13).input(a).parallelism(threads ? 2 : 1);
                            node = constB ? node.constInput(b) : node.input(b);
                            Tensor c = runBoth(node, threads)[0];
                            assertArrayEquals(new long[] {m, n}, c.shape());
                            assertClose(want, c.toFloatArray(), m + "x" + k + "x" + n + " const=" + constB
                                    + " 2threads=" + threads);
                        }
                    }
                }
            }
        }
    }

    @Test
    void largeKAndManyRowsAcrossBlocks() {
        Random r = new Random(7);
        int m = 300;
        int k = 600;
        int n = 161;
        Tensor a = random(r, m, k);
        Tensor b = random(r, k, n);
        float[] want = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
        for (boolean threads : new boolean[] {false, true}) {
            Tensor c = runBoth(TestNode.of("MatMul", 13).input(a).constInput(b).parallelism(threads ? 2 : 1), threads)[0];
            assertClose(want, c.toFloatArray(), "300x600x161 2threads=" + threads);
        }
    }

    /** K past one block ({@link Sgemm#KC}): later blocks add to the partial sums already in C. */
    @Test
    void kAcrossSeveralBlocks() {
        Random r = new Random(11);
        int m = 21;
        int k = 2 * Sgemm.KC + 37;
        int n = 45;
        Tensor a = random(r, m, k);
        Tensor b = random(r, k, n);
        float[] want = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
        for (boolean threads : new boolean[] {false, true}) {
            Tensor c = runBoth(TestNode.of("MatMul", 13).input(a).constInput(b).parallelism(threads ? 2 : 1), threads)[0];
            assertClose(want, c.toFloatArray(), m + "x" + k + "x" + n + " 2threads=" + threads);
        }
    }

    @Test
    void batchedBroadcastAndVectorOperands() {
        Random r = new Random(3);
        Tensor a = random(r, 2, 1, 5, 7);
        Tensor b = random(r, 3, 7, 9);
        Tensor c = TestNode.of("MatMul", 13).input(a).input(b).run()[0];
        assertArrayEquals(new long[] {2, 3, 5, 9}, c.shape());
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        float[] cv = c.toFloatArray();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                float[] aa = java.util.Arrays.copyOfRange(av, i * 35, i * 35 + 35);
                float[] bb = java.util.Arrays.copyOfRange(bv, j * 63, j * 63 + 63);
                float[] got = java.util.Arrays.copyOfRange(cv, (i * 3 + j) * 45, (i * 3 + j) * 45 + 45);
                assertClose(reference(aa, bb, 5, 7, 9), got, "batch " + i + "," + j);
            }
        }
        Tensor v = random(r, 7);
        Tensor left = TestNode.of("MatMul", 13).input(v).input(b).run()[0];
        assertArrayEquals(new long[] {3, 9}, left.shape());
        Tensor right = TestNode.of("MatMul", 13).input(a).input(v).run()[0];
        assertArrayEquals(new long[] {2, 1, 5}, right.shape());
        assertClose(reference(java.util.Arrays.copyOf(av, 35), v.toFloatArray(), 5, 7, 1),
                java.util.Arrays.copyOf(right.toFloatArray(), 5), "matrix·vector");
        Tensor dot = TestNode.of("MatMul", 13).input(v).input(v).run()[0];
        assertEquals(0, dot.rank());
    }

    /**
     * A MatMul reading A and B and writing Y through the perms of folded Transposes
     * ({@code vnrt_permA/B/Y}, attention's head split and merge) equals the explicit Transposes
     * around a plain MatMul, in float32 (the GEMM) and int64 (the generic loop); a perm that is not
     * one is refused.
     */
    @Test
    void permutedOperandsAndOutput() {
        Random r = new Random(13);
        long[] split = {0, 2, 1, 3};
        Tensor q = random(r, 2, 37, 3, 16);
        Tensor w = random(r, 2, 16, 3, 40);
        Tensor[] ints = {Tensor.allocate(DType.INT64, 2, 5, 3, 4), Tensor.allocate(DType.INT64, 2, 4, 3, 6)};
        for (Tensor t : ints) {
            for (long i = 0; i < t.elementCount(); i++) {
                t.setLong(i, r.nextInt(7) - 3);
            }
        }
        for (Tensor[] ab : new Tensor[][] {{q, w}, ints}) {
            Tensor at = TestNode.of("Transpose", 13).input(ab[0]).attr("perm", split).run()[0];
            Tensor bt = TestNode.of("Transpose", 13).input(ab[1]).attr("perm", split).run()[0];
            Tensor plain = TestNode.of("MatMul", 13).input(at).input(bt).run()[0];
            Tensor want = TestNode.of("Transpose", 13).input(plain).attr("perm", split).run()[0];
            for (boolean threads : new boolean[] {false, true}) {
                String what = ab[0].dtype() + " 2threads=" + threads;
                Tensor onlyA = runBoth(TestNode.of("MatMul", 13).input(ab[0]).input(bt).attr("vnrt_permA", split)
                        .parallelism(threads ? 2 : 1), threads)[0];
                assertArrayEquals(plain.shape(), onlyA.shape(), what);
                assertClose(toFloats(plain), toFloats(onlyA), "A permuted, " + what);
                Tensor all = runBoth(TestNode.of("MatMul", 13).input(ab[0]).input(ab[1]).attr("vnrt_permA", split)
                        .attr("vnrt_permB", split).attr("vnrt_permY", split).parallelism(threads ? 2 : 1), threads)[0];
                assertArrayEquals(want.shape(), all.shape(), what);
                assertClose(toFloats(want), toFloats(all), "A, B and Y permuted, " + what);
            }
        }
        var bad = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> TestNode.of("MatMul", 13).input(q).input(w).attr("vnrt_permA", new long[] {0, 0, 1, 3}).run());
        assertTrue(bad.getMessage().contains("vnrt_permA [0, 0, 1, 3] is not a permutation of 4 axes"), bad.getMessage());
    }

    /** A Mul by a scalar absorbed into the MatMul ({@code vnrt_scale}) scales each sum before the bias and activation. */
    @Test
    void absorbedScaleBeforeBiasAndActivation() {
        Random r = new Random(19);
        int m = 29;
        int k = 70;
        int n = 45;
        Tensor a = random(r, m, k);
        Tensor b = random(r, k, n);
        Tensor bias = random(r, n);
        float[] sum = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
        float[] want = new float[m * n];
        for (int i = 0; i < want.length; i++) {
            want[i] = Math.max(0f, sum[i] * 0.125f + bias.getFloat(i % n));
        }
        for (boolean threads : new boolean[] {false, true}) {
            Tensor c = runBoth(TestNode.of("MatMul", 13).input(a).constInput(b).constInput(bias).attr("vnrt_scale", 0.125f)
                    .attr("vnrt_activation", "Relu").parallelism(threads ? 2 : 1), threads)[0];
            assertClose(want, c.toFloatArray(), "scale, bias, Relu, 2threads=" + threads);
        }
    }

    private static float[] toFloats(Tensor t) {
        float[] f = new float[(int) t.elementCount()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) t.getDouble(i);
        }
        return f;
    }

    @Test
    void fusedBiasAndActivation() {
        Random r = new Random(5);
        int m = 13;
        int k = 20;
        int n = 37;
        Tensor a = random(r, m, k);
        Tensor b = random(r, k, n);
        Tensor bias = random(r, n);
        float[] plain = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
        // "None": the bias alone (MatMul+Add), which like Relu is applied in the registers of full tiles.
        for (String act : new String[] {"None", "Relu", "Sigmoid", "Tanh", "Gelu", "LeakyRelu"}) {
            TestNode node = TestNode.of("MatMul", 13).input(a).constInput(b).input(bias);
            if (!act.equals("None")) {
                node = node.attr("vnrt_activation", act).attr("vnrt_alpha", 0.2f);
            }
            Tensor c = node.run()[0];
            float[] want = new float[m * n];
            for (int i = 0; i < want.length; i++) {
                double x = plain[i] + bias.getFloat(i % n);
                want[i] = (float) switch (act) {
                    case "None" -> x;
                    case "Relu" -> Math.max(0, x);
                    case "Sigmoid" -> 1 / (1 + Math.exp(-x));
                    case "Tanh" -> Math.tanh(x);
                    case "Gelu" -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
                    default -> x < 0 ? 0.2 * x : x;
                };
            }
            assertClose(want, c.toFloatArray(), act);
        }
    }

    /** erf by its Taylor series (|x| small here), independent of the kernel's approximation. */
    static double erf(double x) {
        double sum = 0;
        double term = x;
        for (int n = 0; n < 60; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    @Test
    void gemmTransposesAlphaBetaAndBroadcastC() {
        Random r = new Random(11);
        int m = 9;
        int k = 35;
        int n = 40;
        Tensor a = random(r, m, k);
        Tensor b = random(r, k, n);
        float[] ab = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
        Tensor at = transpose(a);
        Tensor bt = transpose(b);
        long[][] cShapes = {{}, {n}, {1, n}, {m, 1}, {m, n}};
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                for (long[] cs : cShapes) {
                    for (boolean constB : new boolean[] {false, true}) {
                        for (boolean threads : new boolean[] {false, true}) {
                            Tensor c = random(r, cs);
                            float beta = cs.length == 1 ? 1f : 0.5f;
                            TestNode node = TestNode.of("Gemm", 13).input(ta == 1 ? at : a).parallelism(threads ? 2 : 1);
                            node = constB ? node.constInput(tb == 1 ? bt : b) : node.input(tb == 1 ? bt : b);
                            node.input(c).attr("transA", (long) ta).attr("transB", (long) tb).attr("alpha", 1.5f)
                                    .attr("beta", beta);
                            float[] got = runBoth(node, threads)[0].toFloatArray();
                            float[] want = new float[m * n];
                            long[] st = io.vnrt.runtime.kernels.Shapes.broadcastStrides(cs, new long[] {m, n});
                            for (int i = 0; i < m; i++) {
                                for (int j = 0; j < n; j++) {
                                    want[i * n + j] = 1.5f * ab[i * n + j] + beta * c.getFloat(i * st[0] + j * st[1]);
                                }
                            }
                            assertClose(want, got, "transA=" + ta + " transB=" + tb + " C" + java.util.Arrays.toString(cs));
                        }
                    }
                }
            }
        }
    }

    /**
     * Every edge of the register tile at this width ({@link Sgemm#MR} rows × {@link Sgemm#NR}
     * columns: 8×32, 3×16 or, at 128 bits, 6×16 of four vectors or 3×8): M, N and K on either side
     * of a tile's and a vector's multiples, through MatMul (A in place, bias and Relu fused) and
     * Gemm with transposed A (the strided kernels), on 1 and 2 threads.
     */
    @Test
    void tileEdgesAtThisWidth() {
        Random r = new Random(19);
        int mr = Sgemm.MR;
        int nr = Sgemm.NR;
        int lanes = nr / io.vnrt.runtime.kernels.VectorShape.GEMM_VECTORS;
        int[] ms = {1, 2, 3, mr - 1, mr, mr + 1, mr + 2, 2 * mr + 3};
        int[] ns = {lanes - 1, lanes, 2 * lanes, 3 * lanes - 1, nr - 1, nr, nr + 1, 2 * nr + lanes + 1};
        int[] ks = {1, 2, 5, 32};
        for (int m : ms) {
            for (int n : ns) {
                for (int k : ks) {
                    Tensor a = random(r, m, k);
                    Tensor b = random(r, k, n);
                    Tensor bias = random(r, n);
                    float[] ab = reference(a.toFloatArray(), b.toFloatArray(), m, k, n);
                    float[] relu = new float[m * n];
                    for (int i = 0; i < relu.length; i++) {
                        relu[i] = Math.max(0f, ab[i] + bias.getFloat(i % n));
                    }
                    Tensor at = transpose(a);
                    for (boolean threads : new boolean[] {false, true}) {
                        String what = m + "x" + k + "x" + n + " 2threads=" + threads;
                        int par = threads ? 2 : 1;
                        assertClose(ab, runBoth(TestNode.of("MatMul", 13).input(a).constInput(b).parallelism(par),
                                threads)[0].toFloatArray(), "MatMul " + what);
                        assertClose(relu, runBoth(TestNode.of("MatMul", 13).input(a).constInput(b).input(bias)
                                .attr("vnrt_activation", "Relu").parallelism(par), threads)[0].toFloatArray(),
                                "MatMul+bias+Relu " + what);
                        assertClose(ab, runBoth(TestNode.of("Gemm", 13).input(at).constInput(b).attr("transA", 1L)
                                .parallelism(par), threads)[0].toFloatArray(), "Gemm transA " + what);
                    }
                }
            }
        }
    }

    @Test
    void integerMatMulIsExact() {
        Tensor a = Tensor.ofLongs(new long[] {2, 2}, 3_000_000_000L, 1, 2, 3);
        Tensor b = Tensor.ofLongs(new long[] {2, 1}, 3, 4);
        Tensor c = TestNode.of("MatMul", 13).input(a).input(b).run()[0];
        assertArrayEquals(new long[] {9_000_000_004L, 18}, c.toLongArray());
    }

    static Tensor transpose(Tensor t) {
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        Tensor o = Tensor.allocate(DType.FLOAT32, cols, rows);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                o.setFloat((long) j * rows + i, t.getFloat((long) i * cols + j));
            }
        }
        return o;
    }
}
