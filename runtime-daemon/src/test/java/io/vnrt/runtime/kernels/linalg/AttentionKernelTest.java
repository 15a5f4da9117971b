package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attention and RotaryEmbedding against plain double-precision references written from the
 * spec, over the cases the kernels split differently: 3-D and 4-D layouts, grouped heads, query
 * blocks longer than one task's rows, caches, every mask form, padding, softcap and the four
 * qk_matmul_output modes, on one thread and on two.
 */
class AttentionKernelTest {
    private static CoreGroup two;

    @BeforeAll
    static void start() {
        two = new CoreGroup("attention-test", 2);
    }

    @AfterAll
    static void stop() {
        two.close();
    }

    /** One Attention problem; mask null for none, nonpad null for none, mode -1 for no qk output. */
    record Case(int batch, int qHeads, int kvHeads, int qLen, int kvLen, int past, int d, int dv, boolean threeD,
                boolean causal, long[] mask, boolean boolMask, long[] nonpad, float softcap, Float scale, int mode) {
        int total() {
            return past + kvLen;
        }
    }

    private static Tensor random(Random r, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) r.nextGaussian());
        }
        return t;
    }

    private static long[] layout(Case c, int heads, int len, int size) {
        return c.threeD ? new long[] {c.batch, len, (long) heads * size} : new long[] {c.batch, heads, len, size};
    }

    /** Element (b, h, i, x) of a Q/K/V tensor in its layout. */
    private static double at(Case c, Tensor t, int heads, int len, int size, int b, int h, int i, int x) {
        long idx = c.threeD ? (((long) b * len + i) * heads + h) * size + x : (((long) b * heads + h) * len + i) * size + x;
        return t.getFloat(idx);
    }

    /** Runs the kernel and the reference; returns {actual outputs, expected outputs} per output. */
    private static void check(Case c, long seed) {
        Random r = new Random(seed);
        Tensor q = random(r, layout(c, c.qHeads, c.qLen, c.d));
        Tensor k = random(r, layout(c, c.kvHeads, c.kvLen, c.d));
        Tensor v = random(r, layout(c, c.kvHeads, c.kvLen, c.dv));
        Tensor pk = c.past > 0 ? random(r, c.batch, c.kvHeads, c.past, c.d) : null;
        Tensor pv = c.past > 0 ? random(r, c.batch, c.kvHeads, c.past, c.dv) : null;
        Tensor mask = null;
        if (c.mask != null) {
            mask = Tensor.allocate(c.boolMask ? DType.BOOL : DType.FLOAT32, c.mask);
            for (long i = 0; i < mask.elementCount(); i++) {
                if (c.boolMask) {
                    mask.setLong(i, r.nextInt(4) == 0 ? 0 : 1);
                } else {
                    mask.setFloat(i, r.nextInt(5) == 0 ? Float.NEGATIVE_INFINITY : (float) r.nextGaussian());
                }
            }
        }
        Tensor nonpad = c.nonpad == null ? null : Tensor.ofLongs(new long[] {c.batch}, c.nonpad);
        int outputs = c.mode >= 0 ? 4 : c.past > 0 ? 3 : 1;
        for (int threads : new int[] {1, 2}) {
            TestNode n = TestNode.of("Attention", 24).input(q).input(k).input(v);
            if (mask != null) {
                n.input(mask);
            } else {
                n.noInput();
            }
            if (pk != null) {
                n.input(pk).input(pv);
            } else {
                n.noInput().noInput();
            }
            if (nonpad != null) {
                n.input(nonpad);
            }
            if (c.threeD) {
                n.attr("q_num_heads", c.qHeads).attr("kv_num_heads", c.kvHeads);
            }
            if (c.causal) {
                n.attr("is_causal", 1);
            }
            if (c.softcap > 0) {
                n.attr("softcap", c.softcap);
            }
            if (c.scale != null) {
                n.attr("scale", c.scale);
            }
            if (c.mode >= 0) {
                n.attr("qk_matmul_output_mode", c.mode);
            }
            n.outputs(outputs).parallelism(threads);
            Kernel kernel = OpRegistry.standard().find("", "Attention").create(n);
            Tensor[] got = n.run(kernel, threads == 2 ? two.context(null) : ExecContext.inline(null));
            double[][] want = reference(c, q, k, v, pk, pv, mask, nonpad);
            String what = c + " threads " + threads;
            assertClose(want[0], got[0], what + " Y");
            if (c.past > 0) {
                assertClose(want[1], got[1], what + " present_key");
                assertClose(want[2], got[2], what + " present_value");
            }
            if (c.mode >= 0) {
                assertClose(want[3], got[3], what + " qk_matmul_output");
            }
        }
    }

    private static void assertClose(double[] want, Tensor got, String what) {
        assertEquals(want.length, got.elementCount(), what + ": size");
        for (int i = 0; i < want.length; i++) {
            double g = got.getFloat(i);
            boolean ok = want[i] == g || Math.abs(want[i] - g) <= 2e-4 * Math.max(1, Math.abs(want[i]));
            assertTrue(ok, what + ": element " + i + " expected " + want[i] + " got " + g);
        }
    }

    /** The spec's computation in double: {Y, present_key, present_value, qk_matmul_output}. */
    private static double[][] reference(Case c, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv, Tensor mask,
            Tensor nonpad) {
        int t = c.total();
        double scale = c.scale != null ? c.scale : 1 / Math.sqrt(c.d);
        double[][][][] keys = new double[c.batch][c.kvHeads][t][];
        double[][][][] values = new double[c.batch][c.kvHeads][t][];
        double[] presentK = new double[c.batch * c.kvHeads * t * c.d];
        double[] presentV = new double[c.batch * c.kvHeads * t * c.dv];
        for (int b = 0; b < c.batch; b++) {
            for (int g = 0; g < c.kvHeads; g++) {
                for (int j = 0; j < t; j++) {
                    keys[b][g][j] = new double[c.d];
                    values[b][g][j] = new double[c.dv];
                    for (int x = 0; x < c.d; x++) {
                        keys[b][g][j][x] = j < c.past ? pk.getFloat(((long) (b * c.kvHeads + g) * c.past + j) * c.d + x)
                                : at(c, k, c.kvHeads, c.kvLen, c.d, b, g, j - c.past, x);
                        presentK[((b * c.kvHeads + g) * t + j) * c.d + x] = keys[b][g][j][x];
                    }
                    for (int x = 0; x < c.dv; x++) {
                        values[b][g][j][x] = j < c.past ? pv.getFloat(((long) (b * c.kvHeads + g) * c.past + j) * c.dv + x)
                                : at(c, v, c.kvHeads, c.kvLen, c.dv, b, g, j - c.past, x);
                        presentV[((b * c.kvHeads + g) * t + j) * c.dv + x] = values[b][g][j][x];
                    }
                }
            }
        }
        double[] y = new double[c.batch * c.qHeads * c.qLen * c.dv];
        double[] qk = new double[c.batch * c.qHeads * c.qLen * t];
        long[] m = c.mask == null ? null : c.mask;
        for (int b = 0; b < c.batch; b++) {
            for (int h = 0; h < c.qHeads; h++) {
                int g = h / (c.qHeads / c.kvHeads);
                for (int i = 0; i < c.qLen; i++) {
                    double[] s = new double[t];
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int x = 0; x < c.d; x++) {
                            dot += at(c, q, c.qHeads, c.qLen, c.d, b, h, i, x) * keys[b][g][j][x];
                        }
                        s[j] = scale * dot;
                    }
                    int row = ((b * c.qHeads + h) * c.qLen + i) * t;
                    if (c.mode == 0) {
                        System.arraycopy(s, 0, qk, row, t);
                    }
                    if (c.softcap > 0) {
                        for (int j = 0; j < t; j++) {
                            s[j] = c.softcap * Math.tanh(s[j] / c.softcap);
                        }
                    }
                    if (c.mode == 1) {
                        System.arraycopy(s, 0, qk, row, t);
                    }
                    long offset = c.past > 0 ? c.past : nonpad != null ? nonpad.getLong(b) - c.qLen : 0;
                    for (int j = 0; j < t; j++) {
                        if (m != null) {
                            long[] full = new long[4];
                            Arrays.fill(full, 1);
                            System.arraycopy(m, 0, full, 4 - m.length, m.length);
                            if (j >= full[3]) {
                                s[j] = Double.NEGATIVE_INFINITY;
                            } else {
                                long e = (((full[0] == 1 ? 0 : b) * full[1] + (full[1] == 1 ? 0 : h)) * full[2]
                                        + (full[2] == 1 ? 0 : i)) * full[3] + j;
                                if (c.boolMask) {
                                    if (mask.getLong(e) == 0) {
                                        s[j] = Double.NEGATIVE_INFINITY;
                                    }
                                } else {
                                    s[j] += mask.getFloat(e);
                                }
                            }
                        }
                        if (c.causal && j > i + offset) {
                            s[j] = Double.NEGATIVE_INFINITY;
                        }
                        if (nonpad != null && j >= nonpad.getLong(b)) {
                            s[j] = Double.NEGATIVE_INFINITY;
                        }
                    }
                    if (c.mode == 2) {
                        System.arraycopy(s, 0, qk, row, t);
                    }
                    double max = Arrays.stream(s).max().orElse(Double.NEGATIVE_INFINITY);
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = max == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < t; j++) {
                        s[j] = sum == 0 ? 0 : s[j] / sum;
                    }
                    if (c.mode == 3) {
                        System.arraycopy(s, 0, qk, row, t);
                    }
                    for (int x = 0; x < c.dv; x++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) {
                            acc += s[j] * values[b][g][j][x];
                        }
                        long idx = c.threeD ? (((long) b * c.qLen + i) * c.qHeads + h) * c.dv + x
                                : (((long) b * c.qHeads + h) * c.qLen + i) * c.dv + x;
                        y[(int) idx] = acc;
                    }
                }
            }
        }
        return new double[][] {y, presentK, presentV, qk};
    }

    @Test
    void plainGroupedAndMultiQueryHeadsIn4dAnd3d() {
        check(new Case(2, 3, 3, 4, 6, 0, 8, 8, false, false, null, false, null, 0, null, -1), 1);
        check(new Case(2, 8, 2, 5, 7, 0, 16, 12, false, false, null, false, null, 0, null, -1), 2);
        check(new Case(1, 6, 1, 3, 9, 0, 8, 8, true, false, null, false, null, 0, 0.3f, -1), 3);
        check(new Case(2, 4, 2, 6, 6, 0, 24, 20, true, false, null, false, null, 0, null, -1), 4);
    }

    @Test
    void longSequencesSpanSeveralRowBlocksAndPanels() {
        // 70 query rows: three blocks of AttentionOp.ROWS; 75 keys: three GEMM panels, the last partial
        check(new Case(1, 2, 1, 70, 75, 0, 64, 64, false, true, null, false, null, 0, null, -1), 5);
        check(new Case(2, 2, 2, 70, 70, 0, 32, 48, true, false, new long[] {70, 70}, false, null, 0, null, 3), 6);
    }

    @Test
    void masksOfEveryRankDtypeAndLength() {
        check(new Case(2, 3, 3, 4, 6, 0, 8, 8, false, false, new long[] {4, 6}, false, null, 0, null, -1), 7);
        check(new Case(2, 3, 3, 4, 6, 0, 8, 8, false, false, new long[] {2, 1, 4, 6}, true, null, 0, null, -1), 8);
        check(new Case(2, 3, 3, 4, 6, 0, 8, 8, false, true, new long[] {2, 3, 4, 6}, false, null, 0, null, 2), 9);
        // a last dim shorter than the keys: the rest is masked
        check(new Case(2, 3, 3, 4, 6, 0, 8, 8, false, false, new long[] {3, 4, 4}, false, null, 0, null, 2), 10);
        check(new Case(1, 2, 2, 3, 5, 0, 8, 8, false, false, new long[] {5}, true, null, 0, null, 3), 11);
    }

    @Test
    void cachesCausalityPaddingAndSoftcap() {
        check(new Case(2, 4, 2, 3, 3, 5, 8, 6, false, true, null, false, null, 0, null, 0), 12);
        check(new Case(2, 3, 3, 4, 2, 12, 8, 10, true, false, new long[] {4, 14}, false, null, 2f, null, 1), 13);
        check(new Case(3, 2, 2, 2, 6, 0, 8, 8, false, true, null, false, new long[] {4, 5, 6}, 0, null, -1), 14);
        check(new Case(2, 4, 2, 1, 8, 0, 8, 8, false, true, null, false, new long[] {8, 5}, 0, null, 3), 15);
        check(new Case(1, 2, 2, 4, 6, 0, 8, 8, false, false, new long[] {4, 6}, false, null, 0.5f, null, 2), 16);
    }

    @Test
    void rowsWithNothingToAttendToAreZeroNotNaN() {
        // nonpad 2 with 4 queries, causal: the first two rows see no key at all
        check(new Case(1, 2, 2, 4, 4, 0, 8, 8, false, true, null, false, new long[] {2}, 0, null, 3), 17);
        Tensor q = Tensor.ofFloats(new long[] {1, 1, 2, 2}, 1, 2, 3, 4);
        Tensor mask = Tensor.allocate(DType.BOOL, 2, 2);
        mask.setLong(2, 1);
        Tensor[] out = TestNode.of("Attention", 23).input(q).input(q).input(q).input(mask).run();
        float[] y = out[0].toFloatArray();
        assertArrayEquals(new float[] {0, 0}, Arrays.copyOf(y, 2), "a fully masked row");
        assertTrue(Float.isFinite(y[2]) && Float.isFinite(y[3]), Arrays.toString(y));
    }

    @Test
    void badShapesAndValuesAreClearErrors() {
        Tensor q = Tensor.allocate(DType.FLOAT32, 1, 4, 3, 8);
        Tensor k = Tensor.allocate(DType.FLOAT32, 1, 3, 5, 8);
        OpException e = assertThrows(OpException.class, () -> TestNode.of("Attention", 23).input(q).input(k).input(k).run());
        assertTrue(e.getMessage().contains("q_num_heads (4) must be a multiple of kv_num_heads (3)"), e.getMessage());
        Tensor q3 = Tensor.allocate(DType.FLOAT32, 1, 3, 24);
        e = assertThrows(OpException.class, () -> TestNode.of("Attention", 23).input(q3).input(q3).input(q3).run());
        assertTrue(e.getMessage().contains("3-D inputs need the attributes q_num_heads and kv_num_heads"), e.getMessage());
        Tensor kk = Tensor.allocate(DType.FLOAT32, 1, 4, 5, 8);
        Tensor badMask = Tensor.allocate(DType.FLOAT32, 2, 3, 6);
        e = assertThrows(OpException.class, () -> TestNode.of("Attention", 23).input(q).input(kk).input(kk)
                .input(badMask).run());
        assertTrue(e.getMessage().contains("attn_mask float32[2, 3, 6] must be broadcastable to [batch=1, q_heads=4, "
                + "q_seq=3, total_seq<=5]"), e.getMessage());
        Tensor nonpad = Tensor.ofLongs(new long[] {1}, 9);
        e = assertThrows(OpException.class, () -> TestNode.of("Attention", 23).input(q).input(kk).input(kk).noInput()
                .noInput().noInput().input(nonpad).run());
        assertTrue(e.getMessage().contains("nonpad_kv_seqlen is an input from opset 24 on"), e.getMessage());
        e = assertThrows(OpException.class, () -> TestNode.of("Attention", 24).input(q).input(kk).input(kk).noInput()
                .noInput().noInput().input(nonpad).run());
        assertTrue(e.getMessage().contains("nonpad_kv_seqlen[0] is 9, outside [0, 5]"), e.getMessage());
    }

    @Test
    void packedKeysAreExactlySgemmsPackedTranspose() {
        Random r = new Random(31);
        for (int d : new int[] {8, 17, 64, 128}) {
            for (int n : new int[] {1, 31, 32, 75, 128}) {
                for (int extra : new int[] {0, 24}) {
                    long rowBytes = (d + extra) * 4L;
                    Tensor k = random(r, n, d + extra);
                    long bytes = Sgemm.packedBytes(d, n);
                    java.lang.foreign.MemorySegment want = java.lang.foreign.Arena.ofAuto().allocate(bytes, 64);
                    java.lang.foreign.MemorySegment got = java.lang.foreign.Arena.ofAuto().allocate(bytes, 64);
                    Sgemm.packB(k.data(), 0, 4, rowBytes, d, n, want, 0, 0, Sgemm.panels(n));
                    AttentionOp.packKeys(k.data(), 0, rowBytes, d, n, got, 0);
                    assertEquals(-1, want.mismatch(got), "d " + d + " n " + n + " row " + rowBytes);
                }
            }
        }
    }

    /** RotaryEmbedding's definition, with the cache row of (b, s) given by pos. */
    private static double[] rotaryReference(Tensor x, Tensor cos, Tensor sin, long[] pos, int heads, boolean threeD,
            int rot, boolean interleaved) {
        long[] s = x.shape();
        int batch = (int) s[0];
        int seq = (int) (threeD ? s[1] : s[2]);
        int size = (int) (threeD ? s[2] / heads : s[3]);
        double[] y = new double[(int) x.elementCount()];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < seq; i++) {
                for (int h = 0; h < heads; h++) {
                    long base = threeD ? ((long) (b * seq + i) * heads + h) * size : ((long) (b * heads + h) * seq + i) * size;
                    long c = pos[b * seq + i] * (rot / 2);
                    for (int e = 0; e < size; e++) {
                        y[(int) (base + e)] = x.getFloat(base + e);
                    }
                    for (int p = 0; p < rot / 2; p++) {
                        long i1 = base + (interleaved ? 2L * p : p);
                        long i2 = base + (interleaved ? 2L * p + 1 : rot / 2 + p);
                        double x1 = x.getFloat(i1);
                        double x2 = x.getFloat(i2);
                        double cv = cos.getFloat(c + p);
                        double sv = sin.getFloat(c + p);
                        y[(int) i1] = cv * x1 - sv * x2;
                        y[(int) i2] = sv * x1 + cv * x2;
                    }
                }
            }
        }
        return y;
    }

    @Test
    void rotaryEmbeddingMatchesItsDefinition() {
        Random r = new Random(21);
        for (boolean threeD : new boolean[] {false, true}) {
            for (boolean interleaved : new boolean[] {false, true}) {
                for (int rot : new int[] {0, 40}) {
                    int heads = 3;
                    int size = 72;
                    int batch = 2;
                    int seq = 5;
                    int used = rot == 0 ? size : rot;
                    Tensor x = threeD ? random(r, batch, seq, (long) heads * size) : random(r, batch, heads, seq, size);
                    Tensor cos = random(r, 40, used / 2);
                    Tensor sin = random(r, 40, used / 2);
                    long[] pos = new long[batch * seq];
                    for (int i = 0; i < pos.length; i++) {
                        pos[i] = r.nextInt(40);
                    }
                    TestNode n = TestNode.of("RotaryEmbedding", 23).input(x).input(cos).input(sin)
                            .input(Tensor.ofLongs(new long[] {batch, seq}, pos)).attr("interleaved", interleaved ? 1 : 0);
                    if (threeD) {
                        n.attr("num_heads", heads);
                    }
                    if (rot != 0) {
                        n.attr("rotary_embedding_dim", rot);
                    }
                    assertClose(rotaryReference(x, cos, sin, pos, heads, threeD, used, interleaved), n.run()[0],
                            "threeD " + threeD + " interleaved " + interleaved + " rot " + rot);
                }
            }
        }
        Tensor x = random(r, 1, 2, 3, 8);
        Tensor cache = random(r, 4, 4);
        OpException e = assertThrows(OpException.class, () -> TestNode.of("RotaryEmbedding", 23).input(x).input(cache)
                .input(cache).input(Tensor.ofLongs(new long[] {1, 3}, 0, 1, 4)).run());
        assertTrue(e.getMessage().contains("position_ids[0][2] is 4, outside the caches' [0, 4)"), e.getMessage());
    }
}
