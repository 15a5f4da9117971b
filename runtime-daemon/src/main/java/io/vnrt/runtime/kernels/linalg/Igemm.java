package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer GEMM for the quantized operators: {@code C[i][j] = Σ_k (A[i][k] − za[i]) · (B[k][j] − zb[j])},
 * A and B 8-bit (each signed or unsigned), C int32 with two's-complement wrap-around, exactly as a
 * scalar loop in {@code int} computes it (MatMulInteger's and ConvInteger's definition).
 *
 * <p>The API, in the order a caller uses it:
 * <ol>
 * <li>{@link #packedBytes(int, int)} bytes of memory, filled once by {@link #packB} from B (K×N,
 *     any row and column stride, int8 or uint8) and B's zero point per column (or one for all).
 *     Weights are packed once at load ({@code NodeContext.packedConstant}); activations (a run-time
 *     B, im2col patches) are packed into the workspace per run. The layout is this class's own and
 *     depends on the vector width: only this class reads it.</li>
 * <li>{@link #run} with a {@link Problem}: A read in place (row stride in bytes, elements
 *     contiguous along k), A's zero point per row (or one for all), C written through its row
 *     stride. Rows and panels are split over the context's threads when the work is worth it.</li>
 * </ol>
 *
 * <p>Inside: B's zero point is subtracted at packing, so a panel holds {@code B − zb} as int16
 * (range [−255, 255]) for {@link #NR} columns, k-major, zero past N; A's is subtracted as each
 * element is broadcast. The register tile is {@link #MR} rows × two {@link VectorShape#INT}
 * vectors of int32 accumulators (8 rows where there are 32 vector registers, 6 where 16);
 * each k step widens the panel's int16 values to int32 and multiply-adds.
 * This is the portable path (every width, any CPU the Vector API compiles for); machine-code
 * tiles with dot-product instructions may take full panels where the CPU has them.
 */
public final class Igemm {
    static final VectorSpecies<Integer> S = VectorShape.INT;
    static final int L = S.length();
    /** int16 species with one lane per int32 lane: the packed panel's half-rows. */
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class,
            jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, VectorShape.BITS / 2)));
    /** Columns of a packed panel and of the register tile: two int vectors. */
    public static final int NR = 2 * L;
    /** Rows of the register tile: 8 where there are 32 vector registers, 6 where 16. */
    public static final int MR = VectorShape.VECTOR_REGISTERS >= 32 ? 8 : 6;
    private static final boolean EIGHT = MR == 8;
    /** Bytes of one packed panel row (NR int16 values). */
    private static final int PANEL_ROW = NR * 2;
    /** Below this many multiply-adds per task a thread hand-off costs more than it saves. */
    static final long MIN_TASK_MACS = 64_000;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Per-thread scratch: an edge tile (so the micro-kernel never needs masked stores) and a tile's row zero points. */
    private record Scratch(MemorySegment tile, int[] zeroPoints) {}

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(
            () -> new Scratch(Arena.ofAuto().allocate((long) MR * NR * 4L, 64), new int[MR]));

    /** Makes this thread's scratch (see {@link LinalgOps#prepareThread}). */
    static void prepareThread() {
        SCRATCH.get();
    }

    static {
        if (H.length() != L) {
            throw new IllegalStateException("int16 species " + H + " does not match " + S);
        }
    }

    private Igemm() {}

    /** Number of packed panels for N columns. */
    public static int panels(int n) {
        return (n + NR - 1) / NR;
    }

    /** Bytes of B (K×N) once packed. */
    public static long packedBytes(int k, int n) {
        return (long) panels(n) * NR * k * 2L;
    }

    /** Bytes of one packed panel (the offset step from panel p to p + 1). */
    static long panelBytes(int k) {
        return (long) NR * k * 2L;
    }

    /**
     * Packs panels [p0, p1) of B (K×N, element (k, n) at byte {@code off + k*ks + n*ns}, int8 when
     * {@code signed}, else uint8) minus its zero point into {@code dst} at {@code dstOff} (the start
     * of panel 0). {@code zb} holds the zero points as int32, one per column from {@code zbOff} when
     * {@code zbPerColumn}, else one for all; null means zero.
     */
    public static void packB(MemorySegment b, long off, long ks, long ns, boolean signed, int k, int n,
                             int[] zb, boolean zbPerColumn, MemorySegment dst, long dstOff, int p0, int p1) {
        int mask = signed ? -1 : 0xFF;
        for (int p = p0; p < p1; p++) {
            int n0 = p * NR;
            int w = Math.min(NR, n - n0);
            long d = dstOff + p * panelBytes(k);
            for (int kk = 0; kk < k; kk++, d += PANEL_ROW) {
                long src = off + kk * ks + n0 * ns;
                for (int j = 0; j < NR; j++) {
                    short v = 0;
                    if (j < w) {
                        int z = zb == null ? 0 : zb[zbPerColumn ? n0 + j : 0];
                        v = (short) ((b.get(ValueLayout.JAVA_BYTE, src + j * ns) & mask) - z);
                    }
                    dst.set(I16, d + j * 2L, v);
                }
            }
        }
    }

    /**
     * A batch of products sharing M, N, K and A's signedness. A: {@code a} at byte {@code aOff[t]},
     * row stride {@code ars} bytes, contiguous along k; zero point {@code za} per row when
     * {@code zaPerRow}, else one (null: zero). B: packed by {@link #packB}, at {@code bOff[t]}.
     * C: int32 at byte {@code cOff[t]}, row stride {@code ldc} bytes.
     */
    public record Problem(int batch, int m, int n, int k,
                          MemorySegment a, long[] aOff, long ars, boolean aSigned, int[] za, boolean zaPerRow,
                          MemorySegment bp, long[] bOff,
                          MemorySegment c, long[] cOff, long ldc) {}

    /** Runs the batch, split over the context's threads when the work is worth it. */
    public static void run(Problem p, ExecContext ctx) {
        int rowTiles = (p.m + MR - 1) / MR;
        int panels = panels(p.n);
        if (rowTiles == 0 || panels == 0 || p.batch == 0) {
            return;
        }
        if (p.k == 0) {
            for (int t = 0; t < p.batch; t++) {
                for (int i = 0; i < p.m; i++) {
                    p.c.asSlice(p.cOff[t] + i * p.ldc, p.n * 4L).fill((byte) 0);
                }
            }
            return;
        }
        long macs = (long) p.batch * p.m * p.n * p.k;
        int par = ctx.parallelism();
        int target = par <= 1 ? 1 : (int) Math.min(par * 3L, Math.max(1, macs / MIN_TASK_MACS));
        int rc = 1;
        int pc = 1;
        if (target > p.batch) {
            int per = (target + p.batch - 1) / p.batch;
            if ((p.m >= p.n && rowTiles >= per) || panels < per) {
                rc = Math.min(per, rowTiles);
                pc = Math.min((per + rc - 1) / rc, panels);
            } else {
                pc = Math.min(per, panels);
                rc = Math.min((per + pc - 1) / pc, rowTiles);
            }
        }
        int fr = rc;
        int fp = pc;
        int tasks = p.batch * rc * pc;
        if (tasks == 1) {
            block(p, 0, 0, p.m, 0, panels);
            return;
        }
        ctx.parallelFor(tasks, t -> {
            int b = t / (fr * fp);
            int r = (t / fp) % fr;
            int q = t % fp;
            int r0 = (int) ((long) r * rowTiles / fr) * MR;
            int r1 = Math.min(p.m, (int) ((long) (r + 1) * rowTiles / fr) * MR);
            block(p, b, r0, r1, (int) ((long) q * panels / fp), (int) ((long) (q + 1) * panels / fp));
        });
    }

    /** Rows [m0, m1) and panels [p0, p1) of batch entry b. */
    static void block(Problem p, int b, int m0, int m1, int p0, int p1) {
        Scratch scratch = SCRATCH.get();
        MemorySegment tile = scratch.tile;
        int[] zrow = scratch.zeroPoints;
        int mask = p.aSigned ? -1 : 0xFF;
        long pb = panelBytes(p.k);
        for (int q = p0; q < p1; q++) {
            int col = q * NR;
            int nv = Math.min(NR, p.n - col);
            long bo = p.bOff[b] + q * pb;
            for (int i = m0; i < m1; i += MR) {
                int mr = Math.min(MR, m1 - i);
                for (int r = 0; r < MR; r++) {
                    int row = i + Math.min(r, mr - 1);
                    zrow[r] = p.za == null ? 0 : p.za[p.zaPerRow ? row : 0];
                }
                long a0 = p.aOff[b] + i * p.ars;
                long co = p.cOff[b] + i * p.ldc + col * 4L;
                if (mr == MR && nv == NR) {
                    kernelTile(p.a, a0, p.ars, mr, mask, zrow, p.bp, bo, p.k, p.c, co, p.ldc);
                } else {
                    kernelTile(p.a, a0, p.ars, mr, mask, zrow, p.bp, bo, p.k, tile, 0, NR * 4L);
                    for (int r = 0; r < mr; r++) {
                        MemorySegment.copy(tile, r * NR * 4L, p.c, co + r * p.ldc, nv * 4L);
                    }
                }
            }
        }
    }

    /** The panel's k-th half-row j (0 or 1) widened to int32. */
    private static IntVector load(MemorySegment bp, long off) {
        return (IntVector) ShortVector.fromMemorySegment(H, bp, off, LE).convertShape(VectorOperators.S2I, S, 0);
    }

    /**
     * One MR×NR tile over all of k into C (unmasked stores: the caller points c at a scratch tile
     * for edges). Rows past mr repeat the last valid row.
     */
    static void kernelTile(MemorySegment a, long a0, long ars, int mr, int mask, int[] z,
                           MemorySegment bp, long bo, int k, MemorySegment c, long co, long ldc) {
        long r0 = a0;
        long r1 = a0 + Math.min(1, mr - 1) * ars;
        long r2 = a0 + Math.min(2, mr - 1) * ars;
        long r3 = a0 + Math.min(3, mr - 1) * ars;
        long r4 = a0 + Math.min(4, mr - 1) * ars;
        long r5 = a0 + Math.min(5, mr - 1) * ars;
        long r6 = EIGHT ? a0 + Math.min(6, mr - 1) * ars : a0;
        long r7 = EIGHT ? a0 + Math.min(7, mr - 1) * ars : a0;
        int z0 = z[0];
        int z1 = z[1];
        int z2 = z[2];
        int z3 = z[3];
        int z4 = z[4];
        int z5 = z[5];
        int z6 = EIGHT ? z[6] : 0;
        int z7 = EIGHT ? z[7] : 0;
        IntVector c00 = IntVector.zero(S);
        IntVector c01 = c00;
        IntVector c10 = c00;
        IntVector c11 = c00;
        IntVector c20 = c00;
        IntVector c21 = c00;
        IntVector c30 = c00;
        IntVector c31 = c00;
        IntVector c40 = c00;
        IntVector c41 = c00;
        IntVector c50 = c00;
        IntVector c51 = c00;
        IntVector c60 = c00;
        IntVector c61 = c00;
        IntVector c70 = c00;
        IntVector c71 = c00;
        for (int kk = 0; kk < k; kk++) {
            long pb = bo + (long) kk * PANEL_ROW;
            IntVector b0 = load(bp, pb);
            IntVector b1 = load(bp, pb + L * 2L);
            IntVector x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r0 + kk) & mask) - z0);
            c00 = b0.mul(x).add(c00);
            c01 = b1.mul(x).add(c01);
            x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r1 + kk) & mask) - z1);
            c10 = b0.mul(x).add(c10);
            c11 = b1.mul(x).add(c11);
            x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r2 + kk) & mask) - z2);
            c20 = b0.mul(x).add(c20);
            c21 = b1.mul(x).add(c21);
            x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r3 + kk) & mask) - z3);
            c30 = b0.mul(x).add(c30);
            c31 = b1.mul(x).add(c31);
            x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r4 + kk) & mask) - z4);
            c40 = b0.mul(x).add(c40);
            c41 = b1.mul(x).add(c41);
            x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r5 + kk) & mask) - z5);
            c50 = b0.mul(x).add(c50);
            c51 = b1.mul(x).add(c51);
            if (EIGHT) {
                x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r6 + kk) & mask) - z6);
                c60 = b0.mul(x).add(c60);
                c61 = b1.mul(x).add(c61);
                x = IntVector.broadcast(S, (a.get(ValueLayout.JAVA_BYTE, r7 + kk) & mask) - z7);
                c70 = b0.mul(x).add(c70);
                c71 = b1.mul(x).add(c71);
            }
        }
        long vb = L * 4L;
        c00.intoMemorySegment(c, co, LE);
        c01.intoMemorySegment(c, co + vb, LE);
        c10.intoMemorySegment(c, co + ldc, LE);
        c11.intoMemorySegment(c, co + ldc + vb, LE);
        c20.intoMemorySegment(c, co + 2 * ldc, LE);
        c21.intoMemorySegment(c, co + 2 * ldc + vb, LE);
        c30.intoMemorySegment(c, co + 3 * ldc, LE);
        c31.intoMemorySegment(c, co + 3 * ldc + vb, LE);
        c40.intoMemorySegment(c, co + 4 * ldc, LE);
        c41.intoMemorySegment(c, co + 4 * ldc + vb, LE);
        c50.intoMemorySegment(c, co + 5 * ldc, LE);
        c51.intoMemorySegment(c, co + 5 * ldc + vb, LE);
        if (EIGHT) {
            c60.intoMemorySegment(c, co + 6 * ldc, LE);
            c61.intoMemorySegment(c, co + 6 * ldc + vb, LE);
            c70.intoMemorySegment(c, co + 7 * ldc, LE);
            c71.intoMemorySegment(c, co + 7 * ldc + vb, LE);
        }
    }

    /**
     * The plain scalar definition, for tests and tiny problems: C = (A − za)·(B − zb) with A
     * (M×K, row stride ars bytes) and B (K×N, row stride ldb bytes) unpacked, in int arithmetic.
     */
    static void reference(MemorySegment a, long aOff, long ars, boolean aSigned, int[] za, boolean zaPerRow,
                          MemorySegment b, long bOff, long ldb, boolean bSigned, int[] zb, boolean zbPerColumn,
                          int m, int n, int k, MemorySegment c, long cOff, long ldc) {
        int am = aSigned ? -1 : 0xFF;
        int bm = bSigned ? -1 : 0xFF;
        for (int i = 0; i < m; i++) {
            int zi = za == null ? 0 : za[zaPerRow ? i : 0];
            for (int j = 0; j < n; j++) {
                int zj = zb == null ? 0 : zb[zbPerColumn ? j : 0];
                int s = 0;
                for (int q = 0; q < k; q++) {
                    int x = (a.get(ValueLayout.JAVA_BYTE, aOff + i * ars + q) & am) - zi;
                    int y = (b.get(ValueLayout.JAVA_BYTE, bOff + q * ldb + j) & bm) - zj;
                    s += x * y;
                }
                c.set(I32, cOff + i * ldc + j * 4L, s);
            }
        }
    }
}
