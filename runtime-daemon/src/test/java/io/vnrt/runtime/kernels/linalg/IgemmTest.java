package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The int8 GEMM bit-exact against its scalar definition: u8×s8, s8×s8, u8×u8 and s8×u8, zero
 * points per tensor, per row and per column, shapes below, at and past the register tile and the
 * panel width, 1 and 2 threads; and MatMulInteger through the registry (constant and run-time B,
 * batch broadcasting). Run it at every vector width (-Dvnrt.test.jvmFlags=-XX:UseAVX=2,
 * -XX:MaxVectorSize=16).
 */
class IgemmTest {
    private static CoreGroup two;

    @BeforeAll
    static void start() {
        two = new CoreGroup("igemm-test", 2);
    }

    @AfterAll
    static void stop() {
        two.close();
    }

    private static MemorySegment bytes(Random r, int n) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(n, 1));
        for (int i = 0; i < n; i++) {
            s.set(Tensor.I8, i, (byte) r.nextInt(256));
        }
        return s;
    }

    private static int[] zeros(Random r, int n, boolean signed) {
        int[] z = new int[n];
        for (int i = 0; i < n; i++) {
            z[i] = signed ? r.nextInt(256) - 128 : r.nextInt(256);
        }
        return z;
    }

    private static void check(Random r, int m, int n, int k, boolean aSigned, boolean bSigned, int zaKind, int zbKind,
                              ExecContext ctx) {
        MemorySegment a = bytes(r, m * k);
        MemorySegment b = bytes(r, k * n);
        int[] za = zaKind == 0 ? null : zeros(r, zaKind == 1 ? 1 : m, aSigned);
        int[] zb = zbKind == 0 ? null : zeros(r, zbKind == 1 ? 1 : n, bSigned);
        MemorySegment want = Arena.ofAuto().allocate(Math.max(4L * m * n, 4));
        Igemm.reference(a, 0, k, aSigned, za, zaKind == 2, b, 0, n, bSigned, zb, zbKind == 2, m, n, k, want, 0, n * 4L);
        MemorySegment packed = Arena.ofAuto().allocate(Math.max(Igemm.packedBytes(k, n), 2));
        Igemm.packB(b, 0, n, 1, bSigned, k, n, zb, zbKind == 2, packed, 0, 0, Igemm.panels(n));
        MemorySegment got = Arena.ofAuto().allocate(Math.max(4L * m * n, 4));
        got.fill((byte) 0x5A);
        Igemm.run(new Igemm.Problem(1, m, n, k, a, new long[] {0}, k, aSigned, za, zaKind == 2, packed, new long[] {0},
                got, new long[] {0}, n * 4L), ctx);
        for (int i = 0; i < m * n; i++) {
            int w = want.getAtIndex(Tensor.I32, i);
            int g = got.getAtIndex(Tensor.I32, i);
            if (w != g) {
                assertEquals(w, g, m + "x" + k + "x" + n + " aSigned=" + aSigned + " bSigned=" + bSigned + " za=" + zaKind
                        + " zb=" + zbKind + " threads=" + ctx.parallelism() + " at (" + i / n + ", " + i % n + ")");
            }
        }
    }

    @Test
    void exactAtEdgeSizes() {
        Random r = new Random(5);
        int[] ms = {1, 2, Igemm.MR - 1, Igemm.MR, Igemm.MR + 1, 3 * Igemm.MR + 2};
        int[] ns = {1, Igemm.NR / 2, Igemm.NR - 1, Igemm.NR, Igemm.NR + 1, 2 * Igemm.NR + 3};
        int[] ks = {0, 1, 3, 17, 64};
        ExecContext one = ExecContext.inline(null);
        for (int m : ms) {
            for (int n : ns) {
                for (int k : ks) {
                    for (int combo = 0; combo < 4; combo++) {
                        boolean as = (combo & 1) != 0;
                        boolean bs = (combo & 2) != 0;
                        check(r, m, n, k, as, bs, combo % 3, (combo + m) % 3, one);
                    }
                }
            }
        }
    }

    @Test
    void exactOnLargerShapesAcrossThreads() {
        Random r = new Random(9);
        int[][] shapes = {{128, 384, 384}, {77, 161, 300}, {300, 33, 1030}, {1, 1024, 768}};
        for (int[] s : shapes) {
            for (boolean threads : new boolean[] {false, true}) {
                check(r, s[0], s[1], s[2], false, true, 1, 2, threads ? two.context(null) : ExecContext.inline(null));
                check(r, s[0], s[1], s[2], true, true, 2, 1, threads ? two.context(null) : ExecContext.inline(null));
            }
        }
    }

    /** The extreme values: every product at its largest magnitude, K long enough to wrap int32 as Java's int does. */
    @Test
    void extremesWrapAsIntArithmetic() {
        int m = Igemm.MR + 1;
        int n = Igemm.NR + 1;
        int k = 40_000;
        MemorySegment a = Arena.ofAuto().allocate((long) m * k);
        MemorySegment b = Arena.ofAuto().allocate((long) k * n);
        a.fill((byte) 0xFF);
        b.fill((byte) 0xFF);
        for (boolean aSigned : new boolean[] {false, true}) {
            int[] za = {aSigned ? 127 : 0};
            int[] zb = {0};
            MemorySegment want = Arena.ofAuto().allocate(4L * m * n);
            Igemm.reference(a, 0, k, aSigned, za, false, b, 0, n, false, zb, false, m, n, k, want, 0, n * 4L);
            MemorySegment packed = Arena.ofAuto().allocate(Igemm.packedBytes(k, n));
            Igemm.packB(b, 0, n, 1, false, k, n, zb, false, packed, 0, 0, Igemm.panels(n));
            MemorySegment got = Arena.ofAuto().allocate(4L * m * n);
            Igemm.run(new Igemm.Problem(1, m, n, k, a, new long[] {0}, k, aSigned, za, false, packed, new long[] {0},
                    got, new long[] {0}, n * 4L), ExecContext.inline(null));
            assertEquals(want.getAtIndex(Tensor.I32, 0), got.getAtIndex(Tensor.I32, 0));
            assertEquals(want.getAtIndex(Tensor.I32, m * n - 1), got.getAtIndex(Tensor.I32, m * n - 1));
            long exact = (long) k * ((aSigned ? -1 : 255) - za[0]) * 255;
            assertEquals((int) exact, got.getAtIndex(Tensor.I32, 0), "wraps like int arithmetic, width " + VectorShape.BITS);
        }
    }

    private static Tensor byteTensor(Random r, DType t, long... shape) {
        Tensor x = Tensor.allocate(t, shape);
        for (long i = 0; i < x.elementCount(); i++) {
            x.data().set(Tensor.I8, i, (byte) r.nextInt(256));
        }
        return x;
    }

    private static long ref(Tensor a, long ao, Tensor b, long bo, int i, int j, int k, int n, long za, long zb) {
        long s = 0;
        for (int q = 0; q < k; q++) {
            s += (a.getLong(ao + (long) i * k + q) - za) * (b.getLong(bo + (long) q * n + j) - zb);
        }
        return s;
    }

    @Test
    void matMulIntegerBroadcastsBatchesWithConstantAndRunTimeWeights() {
        Random r = new Random(13);
        Tensor a = byteTensor(r, DType.UINT8, 2, 1, 5, 19);
        Tensor b = byteTensor(r, DType.INT8, 3, 19, 37);
        Tensor za = Tensor.allocate(DType.UINT8);
        za.setLong(0, 131);
        Tensor zb = Tensor.allocate(DType.INT8, 37);
        for (int j = 0; j < 37; j++) {
            zb.setLong(j, j - 18);
        }
        for (boolean constB : new boolean[] {false, true}) {
            for (boolean threads : new boolean[] {false, true}) {
                TestNode node = TestNode.of("MatMulInteger", 10).input(a).parallelism(threads ? 2 : 1);
                node = constB ? node.constInput(b).input(za).constInput(zb) : node.input(b).input(za).input(zb);
                Kernel kern = OpRegistry.standard().find("", "MatMulInteger").create(node);
                Tensor c = node.run(kern, threads ? two.context(null) : ExecContext.inline(null))[0];
                assertEquals(DType.INT32, c.dtype());
                assertArrayEquals(new long[] {2, 3, 5, 37}, c.shape());
                for (int x = 0; x < 2; x++) {
                    for (int y = 0; y < 3; y++) {
                        for (int i = 0; i < 5; i++) {
                            for (int j = 0; j < 37; j++) {
                                long want = ref(a, x * 95L, b, y * 19L * 37, i, j, 19, 37, 131, j - 18);
                                assertEquals(want, c.getLong(((x * 3L + y) * 5 + i) * 37 + j),
                                        "const=" + constB + " threads=" + threads);
                            }
                        }
                    }
                }
            }
        }
    }
}
