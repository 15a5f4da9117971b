package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 GEMM, C = epilogue(alpha * A·B), over memory segments: B packed into panels of
 * {@link #NR} columns, {@link VectorShape#GEMM_VECTORS} vectors of {@link VectorShape#FLOAT}
 * (k-major inside a panel, zero-padded past N), A read in place through row and k strides (so
 * transposed A costs no copy), an {@link #MR}×NR register tile ({@link VectorShape#GEMM_ROWS}: 8×32
 * at 512 bits, 6×16 of four vectors at 128 bits with 32 registers ({@link #kernelWide}), 3×16 at
 * 256 and 3×8 at 128 bits with 16 (x86 without AVX-512)), K blocked only beyond
 * {@value #KC}: a panel's slice then sits in L2 while the rows of A stream past it (L1-sized blocks
 * measured no faster). Where {@link NativeSgemm} is available, panels wider than one vector go to
 * its machine-code tiles and only the rows left over and narrower panels to the Vector API kernels here.
 * Packed panels depend on the width: whatever packs weights for this class uses {@link #NR},
 * {@link #panels} and {@link #packedBytes}. All offsets and strides are in bytes.
 */
final class Sgemm {
    static final VectorSpecies<Float> S = VectorShape.FLOAT;
    static final int L = VectorShape.FLOAT_LANES;
    /** Bytes of one vector: where a panel row's second vector starts. */
    static final int VB = 4 * L;
    static final int NR = VectorShape.GEMM_COLUMNS;
    static final int MR = VectorShape.GEMM_ROWS;
    /** Whether the register tile has rows 6 and 7 (32 vector registers) or stops at 6 (16). */
    private static final boolean EIGHT = MR == 8;
    /** Whether the register tile has rows 4 and 5 (not in the 3-row tile of 16 registers). */
    private static final boolean SIX = MR >= 6;
    /** Whether the register tile has row 3 (not in the 3-row tile of 16 registers). */
    private static final boolean FOUR = MR >= 4;
    /**
     * Rows of {@link #kernelHalf}, one accumulator each: 8 where {@link #MR} is 8, else 6, which
     * needs no more than 9 registers, so its rows need not shrink with the two-vector tile's.
     */
    private static final int HALF_ROWS = EIGHT ? 8 : 6;
    /**
     * Rows a task's share of M is a multiple of: the Vector API tile's where it does all the
     * work, the tall machine-code tile's grain otherwise ({@link NativeSgemm#ROW_GRAIN}).
     */
    private static int rowGrain() {
        return nativeKernels ? NativeSgemm.ROW_GRAIN : MR;
    }
    /**
     * Whether a panel is four vectors wide (128 bits with 32 registers): full tiles then run
     * {@link #kernelWide}, and the two-vector kernels serve as half-panel kernels (a panel's
     * columns [0, 2L) at offset 0, [2L, 4L) at offset 2·VB: their B row stride is NR either way).
     */
    static final boolean WIDE = NR == 4 * L;
    static final int KC = 1024;
    static final int MC = 144;
    /** Below this many multiply-adds per task a thread hand-off costs more than it saves. */
    static final long MIN_TASK_MACS = 96_000;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F = Tensor.F32;

    /**
     * Whether full-width tiles go to the machine-code kernels ({@link NativeSgemm}) when
     * they can; tests switch it off to compare the two paths.
     */
    static boolean nativeKernels = NativeSgemm.AVAILABLE;

    /** Per-thread scratch for edge tiles, so the micro-kernels never need masked stores. */
    private static final ThreadLocal<MemorySegment> TILE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Math.max(MR, HALF_ROWS) * NR * 4L, 64));

    /** Per-thread scratch for the machine-code tiles of partial panels ({@link #nativeRows}): the tallest tile's rows. */
    private static final ThreadLocal<MemorySegment> EDGE_TILE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(NativeSgemm.maxRows() * NR * 4L, 64));

    private Sgemm() {}

    /** Makes this thread's scratch tiles (see {@link LinalgOps#prepareThread}). */
    static void prepareThread() {
        TILE.get();
        EDGE_TILE.get();
    }

    static int panels(int n) {
        return (n + NR - 1) / NR;
    }

    /** Bytes of B (K×N) once packed. */
    static long packedBytes(int k, int n) {
        return (long) panels(n) * NR * k * 4L;
    }

    /**
     * Packs panels [p0, p1) of the K×N matrix B whose element (k, n) is at byte
     * {@code off + k*ks + n*ns} into {@code dst} at {@code dstOff} (the start of panel 0).
     */
    static void packB(MemorySegment b, long off, long ks, long ns, int k, int n,
                      MemorySegment dst, long dstOff, int p0, int p1) {
        for (int p = p0; p < p1; p++) {
            int n0 = p * NR;
            int w = Math.min(NR, n - n0);
            long d = dstOff + (long) p * k * NR * 4L;
            long src = off + n0 * ns;
            if (ns == 4 && w == NR) {
                for (int kk = 0; kk < k; kk++, src += ks, d += NR * 4) {
                    for (int v = 0; v < NR * 4; v += VB) {
                        FloatVector.fromMemorySegment(S, b, src + v, LE).intoMemorySegment(dst, d + v, LE);
                    }
                }
            } else if (ns == 4) {
                // Two loops, not one with "j < w ? b[j] : 0": C2 hoists the range check of a read it
                // profiled as always taken out of the loop, the hoisted check fails on the last
                // panel (whose row ends where B does), and the method deoptimised and was
                // recompiled again and again (26 times in a ResNet-50's first 150 executions).
                for (int kk = 0; kk < k; kk++, src += ks, d += NR * 4) {
                    for (int j = 0; j < w; j++) {
                        dst.set(F, d + j * 4L, b.get(F, src + j * 4L));
                    }
                    for (int j = w; j < NR; j++) {
                        dst.set(F, d + j * 4L, 0f);
                    }
                }
            } else {
                // Transposed B: read each column contiguously along k, write strided.
                for (int j = 0; j < NR; j++) {
                    long s = src + j * ns;
                    long dd = d + j * 4L;
                    if (j < w) {
                        for (int kk = 0; kk < k; kk++, s += ks, dd += NR * 4) {
                            dst.set(F, dd, b.get(F, s));
                        }
                    } else {
                        for (int kk = 0; kk < k; kk++, dd += NR * 4) {
                            dst.set(F, dd, 0f);
                        }
                    }
                }
            }
        }
    }

    /**
     * What happens to a finished sum: added to what C held (accumulate), then, once the last K
     * block is in, scaled by alpha (so a caller wanting alpha·AB + beta·C pre-fills C with
     * (beta/alpha)·C), plus a bias per column (MatMul+Add) or per row (Conv),
     * then the fused activation.
     */
    record Epilogue(float alpha, boolean accumulate, MemorySegment colBias, MemorySegment rowBias,
                    long rowBiasOff, Activation act, float actAlpha) {
        static final Epilogue PLAIN = new Epilogue(1f, false, null, null, 0, null, 0f);

        boolean trivial() {
            return alpha == 1f && colBias == null && rowBias == null && act == null;
        }

        /** A column bias and at most a Relu, nothing else: applied in registers by the full-tile kernels. */
        boolean inRegisters() {
            return alpha == 1f && colBias != null && rowBias == null && (act == null || act == Activation.RELU);
        }
    }

    /** A batch of GEMMs sharing M, N, K, strides and epilogue; offsets per batch entry. */
    record Problem(int batch, int m, int n, int k,
                   MemorySegment a, long[] aOff, long ars, long aks,
                   MemorySegment bp, long[] bOff,
                   MemorySegment c, long[] cOff, long ldc) {}

    /** Runs the batch, split over the context's threads when the work is worth it. */
    static void run(Problem p, Epilogue ep, ExecContext ctx) {
        int grain = rowGrain();
        int rowTiles = (p.m + grain - 1) / grain;
        int panels = panels(p.n);
        if (rowTiles == 0 || panels == 0 || p.batch == 0) {
            return;
        }
        long macs = (long) p.batch * p.m * p.n * Math.max(p.k, 1);
        int par = ctx.parallelism();
        int target = par <= 1 ? 1 : (int) Math.min(par * 3L, Math.max(1, macs / MIN_TASK_MACS));
        int rc = 1;
        int pc = 1;
        if (target > p.batch) {
            int per = (target + p.batch - 1) / p.batch;
            // Every row-split task streams all of B, every panel-split task all of A: split the
            // dimension whose other operand is smaller.
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
            block(p, ep, 0, 0, p.m, 0, panels);
            return;
        }
        ctx.parallelFor(tasks, t -> {
            int b = t / (fr * fp);
            int r = (t / fp) % fr;
            int q = t % fp;
            int r0 = (int) ((long) r * rowTiles / fr) * grain;
            int r1 = Math.min(p.m, (int) ((long) (r + 1) * rowTiles / fr) * grain);
            block(p, ep, b, r0, r1, (int) ((long) q * panels / fp), (int) ((long) (q + 1) * panels / fp));
        });
    }

    /** Rows [m0, m1) and panels [p0, p1) of batch entry b. */
    static void block(Problem p, Epilogue ep, int b, int m0, int m1, int p0, int p1) {
        int k = p.k;
        int kBlocks = Math.max(1, (k + KC - 1) / KC);
        int kStep = kBlocks == 1 ? k : (k + kBlocks - 1) / kBlocks;
        long aBase = p.aOff[b];
        long bBase = p.bOff[b];
        long cBase = p.cOff[b];
        MemorySegment tile = null;
        boolean nativeTiles = nativeKernels && p.aks == 4 && p.ars > 0 && p.ldc > 0 && p.a.isNative()
                && p.bp.isNative() && p.c.isNative() && (ep.colBias() == null || ep.colBias().isNative());
        for (int mb = m0; mb < m1; mb += MC) {
            int mEnd = Math.min(mb + MC, m1);
            for (int kb = 0; kb < kBlocks; kb++) {
                int k0 = kb * kStep;
                int kc = Math.min(kStep, k - k0);
                boolean last = kb == kBlocks - 1;
                boolean loadC = kb > 0 || ep.accumulate();
                for (int q = p0; q < p1; q++) {
                    int col = q * NR;
                    int nv = Math.min(NR, p.n - col);
                    long bo = bBase + ((long) q * k + k0) * NR * 4L;
                    long ak = aBase + k0 * p.aks;
                    // panels of one vector or less stay with kernelHalf (half the FMAs of a whole tile)
                    int i0 = nativeTiles && nv > L ? nativeRows(p, ep, ak, bo, kc, cBase, col, nv, mb, mEnd, loadC, last)
                            : mb;
                    // kernelHalf takes HALF_ROWS rows at a time, the two-vector tiles MR
                    int step = nv <= L && p.aks == 4 ? HALF_ROWS : MR;
                    for (int i = i0; i < mEnd; i += step) {
                        int mr = Math.min(step, mEnd - i);
                        long co = cBase + i * p.ldc + col * 4L;
                        if (mr == MR && nv == NR && !loadC) {
                            if (p.aks == 4) {
                                if (WIDE) {
                                    kernelWide(p.a, ak + i * p.ars, p.ars, MR, p.bp, bo, kc, p.c, co, p.ldc);
                                } else {
                                    int flags = tileFlags(ep, false, last);
                                    kernelTile(p.a, ak + i * p.ars, p.ars, MR, p.bp, bo, kc, p.c, co, p.ldc, flags,
                                            ep.colBias(), col * 4L);
                                    if ((flags & NativeSgemm.FLAG_BIAS) != 0) {
                                        continue;
                                    }
                                }
                            } else {
                                kernelStrided(p.a, ak + i * p.ars, p.ars, p.aks, MR, p.bp, bo, kc, p.c, co, p.ldc);
                                if (WIDE) {
                                    kernelStrided(p.a, ak + i * p.ars, p.ars, p.aks, MR, p.bp, bo + 2 * VB, kc, p.c,
                                            co + 2 * VB, p.ldc);
                                }
                            }
                        } else if (nv == NR && mr < 3) {
                            for (int r = 0; r < mr; r++) {
                                if (WIDE) {
                                    kernel1Wide(p.a, ak + (i + r) * p.ars, p.aks, p.bp, bo, kc, p.c, co + r * p.ldc,
                                            loadC);
                                } else {
                                    kernel1(p.a, ak + (i + r) * p.ars, p.aks, p.bp, bo, kc, p.c, co + r * p.ldc, loadC);
                                }
                            }
                        } else {
                            if (tile == null) {
                                tile = TILE.get();
                            }
                            if (nv <= L && mr >= 3 && p.aks == 4) {
                                // A narrow last panel (a 10-class classifier): half the FMAs.
                                kernelHalf(p.a, ak + i * p.ars, p.ars, mr, p.bp, bo, kc, tile);
                            } else if (WIDE && nv <= 2 * L && mr >= 3 && p.aks == 4) {
                                kernelTile(p.a, ak + i * p.ars, p.ars, mr, p.bp, bo, kc, tile, 0, NR * 4L, 0, null, 0);
                            } else if (WIDE && mr >= 3 && p.aks == 4) {
                                kernelWide(p.a, ak + i * p.ars, p.ars, mr, p.bp, bo, kc, tile, 0, NR * 4L);
                            } else if (mr >= 3 && p.aks == 4) {
                                kernelTile(p.a, ak + i * p.ars, p.ars, mr, p.bp, bo, kc, tile, 0, NR * 4L, 0, null, 0);
                            } else if (mr >= 3) {
                                kernelStrided(p.a, ak + i * p.ars, p.ars, p.aks, mr, p.bp, bo, kc, tile, 0, NR * 4L);
                                if (WIDE && nv > 2 * L) {
                                    kernelStrided(p.a, ak + i * p.ars, p.ars, p.aks, mr, p.bp, bo + 2 * VB, kc, tile,
                                            2 * VB, NR * 4L);
                                }
                            } else {
                                for (int r = 0; r < mr; r++) {
                                    if (WIDE) {
                                        kernel1Wide(p.a, ak + (i + r) * p.ars, p.aks, p.bp, bo, kc, tile, r * NR * 4L,
                                                false);
                                    } else {
                                        kernel1(p.a, ak + (i + r) * p.ars, p.aks, p.bp, bo, kc, tile, r * NR * 4L, false);
                                    }
                                }
                            }
                            mergeTile(tile, p.c, co, p.ldc, mr, nv, loadC);
                        }
                        if (last && !ep.trivial()) {
                            epilogue(p.c, co, p.ldc, mr, nv, ep, i, col);
                        }
                    }
                }
            }
        }
    }

    /** What a full tile does besides A·B: add C, and in the last K block bias and Relu if that is all the epilogue is. */
    private static int tileFlags(Epilogue ep, boolean loadC, boolean last) {
        boolean fused = last && ep.inRegisters();
        return (loadC ? NativeSgemm.FLAG_ACCUMULATE : 0)
                | (fused ? NativeSgemm.FLAG_BIAS | (ep.act() != null ? NativeSgemm.FLAG_RELU : 0) : 0);
    }

    /**
     * Rows [i, end) of one panel (nv of its NR columns) in machine-code tiles
     * ({@link NativeSgemm#rowsFor}); returns the first row left (fewer than
     * {@link NativeSgemm#MIN_ROWS}) for the Vector API kernels. A full panel's tiles write C
     * (and fuse a bias and Relu); a partial one's go whole into a scratch tile (the panel is
     * zero-padded past N), whose nv columns {@link #mergeTile} adds or copies into C: the same
     * sums in the same order as the Vector API's edge tiles, so the same results, but at the
     * tiles' speed from a model's first execution on, where Vector API code runs boxed until C2
     * has compiled it for these shapes (a 7×7 convolution's 49 columns are a full panel and one of 17).
     */
    private static int nativeRows(Problem p, Epilogue ep, long ak, long bo, int kc, long cBase, int col, int nv,
                                  int i, int end, boolean loadC, boolean last) {
        if (end - i < NativeSgemm.MIN_ROWS) {
            return i;
        }
        boolean full = nv == NR;
        int flags = full ? tileFlags(ep, loadC, last) : 0;
        boolean fused = (flags & NativeSgemm.FLAG_BIAS) != 0;
        long b = NativeSgemm.address(p.bp, bo, (long) kc * NR * 4);
        long bias = fused ? NativeSgemm.address(ep.colBias(), col * 4L, NR * 4L) : 0;
        MemorySegment scratch = full ? null : EDGE_TILE.get();
        while (end - i >= NativeSgemm.MIN_ROWS) {
            int rows = NativeSgemm.rowsFor(end - i);
            long co = cBase + i * p.ldc + col * 4L;
            long a = NativeSgemm.address(p.a, ak + i * p.ars, (rows - 1) * p.ars + kc * 4L);
            if (full) {
                long c = NativeSgemm.address(p.c, co, (rows - 1) * p.ldc + NR * 4L);
                NativeSgemm.tile(rows, a, p.ars, b, c, p.ldc, kc, bias, flags);
            } else {
                long t = NativeSgemm.address(scratch, 0, rows * NR * 4L);
                NativeSgemm.tile(rows, a, p.ars, b, t, NR * 4L, kc, 0, 0);
                mergeTile(scratch, p.c, co, p.ldc, rows, nv, loadC);
            }
            if (last && !fused && !ep.trivial()) {
                epilogue(p.c, co, p.ldc, rows, nv, ep, i, col);
            }
            i += rows;
        }
        return i;
    }

    /**
     * An MR×NR tile with the contract of {@link NativeSgemm#tile} but for
     * {@link NativeSgemm#FLAG_ACCUMULATE}: accumulators start at zero, and a column bias
     * ({@link NativeSgemm#FLAG_BIAS}) then Relu ({@link NativeSgemm#FLAG_RELU}) are applied in
     * registers before the one store, instead of a second pass over the tile. Rows past mr repeat
     * the last valid row (the caller points c at a scratch tile then, with flags 0). Adding C is
     * left to {@link #mergeTile}: sixteen more loads here make the method too big for C1's tier 3
     * ("out of virtual registers"), and a method C1 cannot compile can stay in its tier-2 code,
     * where every vector is boxed, for good (seen at 128 bits, 333 MB allocated per execution).
     * Rows 6 and 7 exist only where {@link #MR} is 8, rows 4 and 5 where it is at least 6, row 3
     * where it is at least 4: the branches on the constants fold away, so a 3-row tile keeps 6
     * accumulators and, unrolled by two, four B vectors and three broadcasts in 16 registers with
     * room to spare ({@link VectorShape#GEMM_ROWS} says why that matters).
     * Stores are unmasked: the method must stay small enough for C1 to compile, or the JIT never
     * reaches C2 and every vector is boxed.
     */
    static void kernelTile(MemorySegment a, long a0, long ars, int mr,
                           MemorySegment bp, long bo, int kc,
                           MemorySegment c, long co, long ldc, int flags, MemorySegment bias, long biasOff) {
        long r0 = a0;
        long r1 = a0 + Math.min(1, mr - 1) * ars;
        long r2 = a0 + Math.min(2, mr - 1) * ars;
        long r3 = FOUR ? a0 + Math.min(3, mr - 1) * ars : a0;
        long r4 = SIX ? a0 + Math.min(4, mr - 1) * ars : a0;
        long r5 = SIX ? a0 + Math.min(5, mr - 1) * ars : a0;
        long r6 = EIGHT ? a0 + Math.min(6, mr - 1) * ars : a0;
        long r7 = EIGHT ? a0 + Math.min(7, mr - 1) * ars : a0;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c40 = c00;
        FloatVector c41 = c00;
        FloatVector c50 = c00;
        FloatVector c51 = c00;
        FloatVector c60 = c00;
        FloatVector c61 = c00;
        FloatVector c70 = c00;
        FloatVector c71 = c00;
        for (int kk = 0, kn = Math.min(kc, KC); kk < kn; kk++) {
            long pa = (long) kk << 2;
            long pb = bo + (long) kk * (NR * 4);
            FloatVector b0 = FloatVector.fromMemorySegment(S, bp, pb, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE);
            FloatVector x = FloatVector.broadcast(S, a.get(F, r0 + pa));
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, a.get(F, r1 + pa));
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, a.get(F, r2 + pa));
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            if (FOUR) {
                x = FloatVector.broadcast(S, a.get(F, r3 + pa));
                c30 = b0.fma(x, c30);
                c31 = b1.fma(x, c31);
            }
            if (SIX) {
                x = FloatVector.broadcast(S, a.get(F, r4 + pa));
                c40 = b0.fma(x, c40);
                c41 = b1.fma(x, c41);
                x = FloatVector.broadcast(S, a.get(F, r5 + pa));
                c50 = b0.fma(x, c50);
                c51 = b1.fma(x, c51);
            }
            if (EIGHT) {
                x = FloatVector.broadcast(S, a.get(F, r6 + pa));
                c60 = b0.fma(x, c60);
                c61 = b1.fma(x, c61);
                x = FloatVector.broadcast(S, a.get(F, r7 + pa));
                c70 = b0.fma(x, c70);
                c71 = b1.fma(x, c71);
            }
        }
        if ((flags & NativeSgemm.FLAG_BIAS) != 0) {
            FloatVector z0 = FloatVector.fromMemorySegment(S, bias, biasOff, LE);
            FloatVector z1 = FloatVector.fromMemorySegment(S, bias, biasOff + VB, LE);
            c00 = c00.add(z0);
            c01 = c01.add(z1);
            c10 = c10.add(z0);
            c11 = c11.add(z1);
            c20 = c20.add(z0);
            c21 = c21.add(z1);
            if (FOUR) {
                c30 = c30.add(z0);
                c31 = c31.add(z1);
            }
            if (SIX) {
                c40 = c40.add(z0);
                c41 = c41.add(z1);
                c50 = c50.add(z0);
                c51 = c51.add(z1);
            }
            if (EIGHT) {
                c60 = c60.add(z0);
                c61 = c61.add(z1);
                c70 = c70.add(z0);
                c71 = c71.add(z1);
            }
        }
        if ((flags & NativeSgemm.FLAG_RELU) != 0) {
            FloatVector z0 = FloatVector.zero(S);
            c00 = c00.max(z0);
            c01 = c01.max(z0);
            c10 = c10.max(z0);
            c11 = c11.max(z0);
            c20 = c20.max(z0);
            c21 = c21.max(z0);
            if (FOUR) {
                c30 = c30.max(z0);
                c31 = c31.max(z0);
            }
            if (SIX) {
                c40 = c40.max(z0);
                c41 = c41.max(z0);
                c50 = c50.max(z0);
                c51 = c51.max(z0);
            }
            if (EIGHT) {
                c60 = c60.max(z0);
                c61 = c61.max(z0);
                c70 = c70.max(z0);
                c71 = c71.max(z0);
            }
        }
        c00.intoMemorySegment(c, co, LE);
        c01.intoMemorySegment(c, co + VB, LE);
        c10.intoMemorySegment(c, co + 1 * ldc, LE);
        c11.intoMemorySegment(c, co + 1 * ldc + VB, LE);
        c20.intoMemorySegment(c, co + 2 * ldc, LE);
        c21.intoMemorySegment(c, co + 2 * ldc + VB, LE);
        if (FOUR) {
            c30.intoMemorySegment(c, co + 3 * ldc, LE);
            c31.intoMemorySegment(c, co + 3 * ldc + VB, LE);
        }
        if (SIX) {
            c40.intoMemorySegment(c, co + 4 * ldc, LE);
            c41.intoMemorySegment(c, co + 4 * ldc + VB, LE);
            c50.intoMemorySegment(c, co + 5 * ldc, LE);
            c51.intoMemorySegment(c, co + 5 * ldc + VB, LE);
        }
        if (EIGHT) {
            c60.intoMemorySegment(c, co + 6 * ldc, LE);
            c61.intoMemorySegment(c, co + 6 * ldc + VB, LE);
            c70.intoMemorySegment(c, co + 7 * ldc, LE);
            c71.intoMemorySegment(c, co + 7 * ldc + VB, LE);
        }
    }

    /**
     * {@link #kernelTile} for four-vector panels ({@link #WIDE}, 128 bits with 32 registers): 6 rows
     * × 4 vectors, 24 accumulators, four B vectors and a broadcast in 29 registers, so each k step
     * issues 24 FMAs for 4 loads and 6 broadcasts where the two-vector tile of 8 rows issued 16 for
     * 2 and 8. Every accumulator is a local (a vector in an array, or crossing a call that is not
     * inlined, is boxed). No flags: with the bias and Relu in registers as well the method is too
     * big for C1's tier 3 ("out of virtual registers in linear scan"), so the epilogue makes its
     * own pass over the tile, which is still in L1.
     */
    static void kernelWide(MemorySegment a, long a0, long ars, int mr,
                           MemorySegment bp, long bo, int kc,
                           MemorySegment c, long co, long ldc) {
        long r0 = a0;
        long r1 = a0 + Math.min(1, mr - 1) * ars;
        long r2 = a0 + Math.min(2, mr - 1) * ars;
        long r3 = a0 + Math.min(3, mr - 1) * ars;
        long r4 = a0 + Math.min(4, mr - 1) * ars;
        long r5 = a0 + Math.min(5, mr - 1) * ars;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c23 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        FloatVector c33 = c00;
        FloatVector c40 = c00;
        FloatVector c41 = c00;
        FloatVector c42 = c00;
        FloatVector c43 = c00;
        FloatVector c50 = c00;
        FloatVector c51 = c00;
        FloatVector c52 = c00;
        FloatVector c53 = c00;
        for (int kk = 0, kn = Math.min(kc, KC); kk < kn; kk++) {
            long pa = (long) kk << 2;
            long pb = bo + (long) kk * (NR * 4);
            FloatVector b0 = FloatVector.fromMemorySegment(S, bp, pb, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(S, bp, pb + 2 * VB, LE);
            FloatVector b3 = FloatVector.fromMemorySegment(S, bp, pb + 3 * VB, LE);
            FloatVector x = FloatVector.broadcast(S, a.get(F, r0 + pa));
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            c02 = b2.fma(x, c02);
            c03 = b3.fma(x, c03);
            x = FloatVector.broadcast(S, a.get(F, r1 + pa));
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            c12 = b2.fma(x, c12);
            c13 = b3.fma(x, c13);
            x = FloatVector.broadcast(S, a.get(F, r2 + pa));
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            c22 = b2.fma(x, c22);
            c23 = b3.fma(x, c23);
            x = FloatVector.broadcast(S, a.get(F, r3 + pa));
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            c32 = b2.fma(x, c32);
            c33 = b3.fma(x, c33);
            x = FloatVector.broadcast(S, a.get(F, r4 + pa));
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            c42 = b2.fma(x, c42);
            c43 = b3.fma(x, c43);
            x = FloatVector.broadcast(S, a.get(F, r5 + pa));
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            c52 = b2.fma(x, c52);
            c53 = b3.fma(x, c53);
        }
        c00.intoMemorySegment(c, co, LE);
        c01.intoMemorySegment(c, co + VB, LE);
        c02.intoMemorySegment(c, co + 2 * VB, LE);
        c03.intoMemorySegment(c, co + 3 * VB, LE);
        c10.intoMemorySegment(c, co + 1 * ldc, LE);
        c11.intoMemorySegment(c, co + 1 * ldc + VB, LE);
        c12.intoMemorySegment(c, co + 1 * ldc + 2 * VB, LE);
        c13.intoMemorySegment(c, co + 1 * ldc + 3 * VB, LE);
        c20.intoMemorySegment(c, co + 2 * ldc, LE);
        c21.intoMemorySegment(c, co + 2 * ldc + VB, LE);
        c22.intoMemorySegment(c, co + 2 * ldc + 2 * VB, LE);
        c23.intoMemorySegment(c, co + 2 * ldc + 3 * VB, LE);
        c30.intoMemorySegment(c, co + 3 * ldc, LE);
        c31.intoMemorySegment(c, co + 3 * ldc + VB, LE);
        c32.intoMemorySegment(c, co + 3 * ldc + 2 * VB, LE);
        c33.intoMemorySegment(c, co + 3 * ldc + 3 * VB, LE);
        c40.intoMemorySegment(c, co + 4 * ldc, LE);
        c41.intoMemorySegment(c, co + 4 * ldc + VB, LE);
        c42.intoMemorySegment(c, co + 4 * ldc + 2 * VB, LE);
        c43.intoMemorySegment(c, co + 4 * ldc + 3 * VB, LE);
        c50.intoMemorySegment(c, co + 5 * ldc, LE);
        c51.intoMemorySegment(c, co + 5 * ldc + VB, LE);
        c52.intoMemorySegment(c, co + 5 * ldc + 2 * VB, LE);
        c53.intoMemorySegment(c, co + 5 * ldc + 3 * VB, LE);
    }

    /**
     * {@link #kernelTile} over only the first L columns of the panel (one vector) and up to
     * {@link #HALF_ROWS} rows (mr of them; not {@link #MR}), into the scratch tile: a panel holding
     * at most L real columns (N = 10 classifiers) would otherwise spend half its multiply-adds on
     * the zero padding.
     */
    static void kernelHalf(MemorySegment a, long a0, long ars, int mr,
                           MemorySegment bp, long bo, int kc, MemorySegment tile) {
        long r0 = a0;
        long r1 = a0 + Math.min(1, mr - 1) * ars;
        long r2 = a0 + Math.min(2, mr - 1) * ars;
        long r3 = a0 + Math.min(3, mr - 1) * ars;
        long r4 = a0 + Math.min(4, mr - 1) * ars;
        long r5 = a0 + Math.min(5, mr - 1) * ars;
        long r6 = EIGHT ? a0 + Math.min(6, mr - 1) * ars : a0;
        long r7 = EIGHT ? a0 + Math.min(7, mr - 1) * ars : a0;
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        FloatVector c4 = c0;
        FloatVector c5 = c0;
        FloatVector c6 = c0;
        FloatVector c7 = c0;
        for (int kk = 0, kn = Math.min(kc, KC); kk < kn; kk++) {
            long pa = (long) kk << 2;
            FloatVector b0 = FloatVector.fromMemorySegment(S, bp, bo + (long) kk * (NR * 4), LE);
            c0 = b0.fma(FloatVector.broadcast(S, a.get(F, r0 + pa)), c0);
            c1 = b0.fma(FloatVector.broadcast(S, a.get(F, r1 + pa)), c1);
            c2 = b0.fma(FloatVector.broadcast(S, a.get(F, r2 + pa)), c2);
            c3 = b0.fma(FloatVector.broadcast(S, a.get(F, r3 + pa)), c3);
            c4 = b0.fma(FloatVector.broadcast(S, a.get(F, r4 + pa)), c4);
            c5 = b0.fma(FloatVector.broadcast(S, a.get(F, r5 + pa)), c5);
            if (EIGHT) {
                c6 = b0.fma(FloatVector.broadcast(S, a.get(F, r6 + pa)), c6);
                c7 = b0.fma(FloatVector.broadcast(S, a.get(F, r7 + pa)), c7);
            }
        }
        long t = NR * 4L;
        c0.intoMemorySegment(tile, 0, LE);
        c1.intoMemorySegment(tile, t, LE);
        c2.intoMemorySegment(tile, 2 * t, LE);
        c3.intoMemorySegment(tile, 3 * t, LE);
        c4.intoMemorySegment(tile, 4 * t, LE);
        c5.intoMemorySegment(tile, 5 * t, LE);
        if (EIGHT) {
            c6.intoMemorySegment(tile, 6 * t, LE);
            c7.intoMemorySegment(tile, 7 * t, LE);
        }
    }

    /** {@link #kernelTile} without flags, for A with a k stride other than one element (transposed A). */
    static void kernelStrided(MemorySegment a, long a0, long ars, long aks, int mr,
                           MemorySegment bp, long bo, int kc,
                           MemorySegment c, long co, long ldc) {
        long r0 = a0;
        long r1 = a0 + Math.min(1, mr - 1) * ars;
        long r2 = a0 + Math.min(2, mr - 1) * ars;
        long r3 = FOUR ? a0 + Math.min(3, mr - 1) * ars : a0;
        long r4 = SIX ? a0 + Math.min(4, mr - 1) * ars : a0;
        long r5 = SIX ? a0 + Math.min(5, mr - 1) * ars : a0;
        long r6 = EIGHT ? a0 + Math.min(6, mr - 1) * ars : a0;
        long r7 = EIGHT ? a0 + Math.min(7, mr - 1) * ars : a0;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c40 = c00;
        FloatVector c41 = c00;
        FloatVector c50 = c00;
        FloatVector c51 = c00;
        FloatVector c60 = c00;
        FloatVector c61 = c00;
        FloatVector c70 = c00;
        FloatVector c71 = c00;
        for (int kk = 0, kn = Math.min(kc, KC); kk < kn; kk++) {
            long pa = kk * aks;
            long pb = bo + (long) kk * (NR * 4);
            FloatVector b0 = FloatVector.fromMemorySegment(S, bp, pb, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE);
            FloatVector x = FloatVector.broadcast(S, a.get(F, r0 + pa));
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, a.get(F, r1 + pa));
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, a.get(F, r2 + pa));
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            if (FOUR) {
                x = FloatVector.broadcast(S, a.get(F, r3 + pa));
                c30 = b0.fma(x, c30);
                c31 = b1.fma(x, c31);
            }
            if (SIX) {
                x = FloatVector.broadcast(S, a.get(F, r4 + pa));
                c40 = b0.fma(x, c40);
                c41 = b1.fma(x, c41);
                x = FloatVector.broadcast(S, a.get(F, r5 + pa));
                c50 = b0.fma(x, c50);
                c51 = b1.fma(x, c51);
            }
            if (EIGHT) {
                x = FloatVector.broadcast(S, a.get(F, r6 + pa));
                c60 = b0.fma(x, c60);
                c61 = b1.fma(x, c61);
                x = FloatVector.broadcast(S, a.get(F, r7 + pa));
                c70 = b0.fma(x, c70);
                c71 = b1.fma(x, c71);
            }
        }
        c00.intoMemorySegment(c, co, LE);
        c01.intoMemorySegment(c, co + VB, LE);
        c10.intoMemorySegment(c, co + 1 * ldc, LE);
        c11.intoMemorySegment(c, co + 1 * ldc + VB, LE);
        c20.intoMemorySegment(c, co + 2 * ldc, LE);
        c21.intoMemorySegment(c, co + 2 * ldc + VB, LE);
        if (FOUR) {
            c30.intoMemorySegment(c, co + 3 * ldc, LE);
            c31.intoMemorySegment(c, co + 3 * ldc + VB, LE);
        }
        if (SIX) {
            c40.intoMemorySegment(c, co + 4 * ldc, LE);
            c41.intoMemorySegment(c, co + 4 * ldc + VB, LE);
            c50.intoMemorySegment(c, co + 5 * ldc, LE);
            c51.intoMemorySegment(c, co + 5 * ldc + VB, LE);
        }
        if (EIGHT) {
            c60.intoMemorySegment(c, co + 6 * ldc, LE);
            c61.intoMemorySegment(c, co + 6 * ldc + VB, LE);
            c70.intoMemorySegment(c, co + 7 * ldc, LE);
            c71.intoMemorySegment(c, co + 7 * ldc + VB, LE);
        }
    }

    /**
     * One row × NR columns (GEMV-like shapes), k unrolled by four into four independent pairs of
     * accumulators: the loop streams the panel, and with two or four k steps per iteration the
     * loop's own work and the FMA latency bound it at 256 and 128 bits.
     */
    static void kernel1(MemorySegment a, long a0, long aks, MemorySegment bp, long bo, int kc,
                        MemorySegment c, long co, boolean loadC) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0;
        FloatVector t0 = s0;
        FloatVector t1 = s0;
        FloatVector u0 = s0;
        FloatVector u1 = s0;
        FloatVector v0 = s0;
        FloatVector v1 = s0;
        long pa = a0;
        long pb = bo;
        int kk = 0;
        for (; kk + 3 < kc; kk += 4, pa += 4 * aks, pb += 4 * NR * 4) {
            FloatVector x = FloatVector.broadcast(S, a.get(F, pa));
            FloatVector y = FloatVector.broadcast(S, a.get(F, pa + aks));
            FloatVector z = FloatVector.broadcast(S, a.get(F, pa + 2 * aks));
            FloatVector w = FloatVector.broadcast(S, a.get(F, pa + 3 * aks));
            s0 = FloatVector.fromMemorySegment(S, bp, pb, LE).fma(x, s0);
            s1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE).fma(x, s1);
            t0 = FloatVector.fromMemorySegment(S, bp, pb + 2 * VB, LE).fma(y, t0);
            t1 = FloatVector.fromMemorySegment(S, bp, pb + 3 * VB, LE).fma(y, t1);
            u0 = FloatVector.fromMemorySegment(S, bp, pb + 4 * VB, LE).fma(z, u0);
            u1 = FloatVector.fromMemorySegment(S, bp, pb + 5 * VB, LE).fma(z, u1);
            v0 = FloatVector.fromMemorySegment(S, bp, pb + 6 * VB, LE).fma(w, v0);
            v1 = FloatVector.fromMemorySegment(S, bp, pb + 7 * VB, LE).fma(w, v1);
        }
        for (; kk < kc; kk++, pa += aks, pb += NR * 4) {
            FloatVector x = FloatVector.broadcast(S, a.get(F, pa));
            s0 = FloatVector.fromMemorySegment(S, bp, pb, LE).fma(x, s0);
            s1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE).fma(x, s1);
        }
        s0 = s0.add(t0).add(u0.add(v0));
        s1 = s1.add(t1).add(u1.add(v1));
        if (loadC) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, c, co, LE));
            s1 = s1.add(FloatVector.fromMemorySegment(S, c, co + VB, LE));
        }
        s0.intoMemorySegment(c, co, LE);
        s1.intoMemorySegment(c, co + VB, LE);
    }

    /**
     * {@link #kernel1} for four-vector panels: one row × NR columns, k unrolled by two into two
     * sets of four accumulators (a panel row is one 64-byte line, read once). Unrolled by four it
     * was 4–8% faster on 1×784×512 alone, but in a ModelBench run on a loaded machine its C2
     * compile came 40 s after C1's, the boxed C1 code running meanwhile; this smaller loop is kept.
     */
    static void kernel1Wide(MemorySegment a, long a0, long aks, MemorySegment bp, long bo, int kc,
                            MemorySegment c, long co, boolean loadC) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector t0 = s0;
        FloatVector t1 = s0;
        FloatVector t2 = s0;
        FloatVector t3 = s0;
        long pa = a0;
        long pb = bo;
        int kk = 0;
        for (; kk + 1 < kc; kk += 2, pa += 2 * aks, pb += 2 * NR * 4) {
            FloatVector x = FloatVector.broadcast(S, a.get(F, pa));
            FloatVector y = FloatVector.broadcast(S, a.get(F, pa + aks));
            s0 = FloatVector.fromMemorySegment(S, bp, pb, LE).fma(x, s0);
            s1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE).fma(x, s1);
            s2 = FloatVector.fromMemorySegment(S, bp, pb + 2 * VB, LE).fma(x, s2);
            s3 = FloatVector.fromMemorySegment(S, bp, pb + 3 * VB, LE).fma(x, s3);
            t0 = FloatVector.fromMemorySegment(S, bp, pb + 4 * VB, LE).fma(y, t0);
            t1 = FloatVector.fromMemorySegment(S, bp, pb + 5 * VB, LE).fma(y, t1);
            t2 = FloatVector.fromMemorySegment(S, bp, pb + 6 * VB, LE).fma(y, t2);
            t3 = FloatVector.fromMemorySegment(S, bp, pb + 7 * VB, LE).fma(y, t3);
        }
        if (kk < kc) {
            FloatVector x = FloatVector.broadcast(S, a.get(F, pa));
            s0 = FloatVector.fromMemorySegment(S, bp, pb, LE).fma(x, s0);
            s1 = FloatVector.fromMemorySegment(S, bp, pb + VB, LE).fma(x, s1);
            s2 = FloatVector.fromMemorySegment(S, bp, pb + 2 * VB, LE).fma(x, s2);
            s3 = FloatVector.fromMemorySegment(S, bp, pb + 3 * VB, LE).fma(x, s3);
        }
        s0 = s0.add(t0);
        s1 = s1.add(t1);
        s2 = s2.add(t2);
        s3 = s3.add(t3);
        if (loadC) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, c, co, LE));
            s1 = s1.add(FloatVector.fromMemorySegment(S, c, co + VB, LE));
            s2 = s2.add(FloatVector.fromMemorySegment(S, c, co + 2 * VB, LE));
            s3 = s3.add(FloatVector.fromMemorySegment(S, c, co + 3 * VB, LE));
        }
        s0.intoMemorySegment(c, co, LE);
        s1.intoMemorySegment(c, co + VB, LE);
        s2.intoMemorySegment(c, co + 2 * VB, LE);
        s3.intoMemorySegment(c, co + 3 * VB, LE);
    }

    /**
     * Adds (or copies) an mr×nv corner of a scratch tile into C. Partial widths go scalar: edge
     * tiles are called too rarely for C2 to compile masked vector code before a model is in use,
     * and uncompiled Vector API code is far slower than a scalar loop.
     */
    static void mergeTile(MemorySegment tile, MemorySegment c, long co, long ldc, int mr, int nv, boolean loadC) {
        // the cases branch here, never inside the loops: C2 would hoist a branch that its profile
        // saw go one way out of the loop as a predicate, which traps (and throws the compiled
        // method away) on the first call of the other case
        if (nv == NR && loadC) {
            for (int r = 0; r < mr; r++) {
                long t = r * NR * 4L;
                long o = co + r * ldc;
                for (int v = 0; v < NR * 4; v += VB) {
                    FloatVector.fromMemorySegment(S, tile, t + v, LE).add(FloatVector.fromMemorySegment(S, c, o + v, LE))
                            .intoMemorySegment(c, o + v, LE);
                }
            }
        } else if (nv == NR) {
            for (int r = 0; r < mr; r++) {
                MemorySegment.copy(tile, r * NR * 4L, c, co + r * ldc, NR * 4L);
            }
        } else if (loadC) {
            for (int r = 0; r < mr; r++) {
                long t = r * NR * 4L;
                long o = co + r * ldc;
                for (int j = 0; j < nv; j++) {
                    c.set(F, o + j * 4L, tile.get(F, t + j * 4L) + c.get(F, o + j * 4L));
                }
            }
        } else {
            for (int r = 0; r < mr; r++) {
                MemorySegment.copy(tile, r * NR * 4L, c, co + r * ldc, nv * 4L);
            }
        }
    }

    /** Alpha, bias and activation over a finished tile of C (rows [row, row+mr), columns [col, col+nv)). */
    static void epilogue(MemorySegment c, long co, long ldc, int mr, int nv, Epilogue ep, int row, int col) {
        float alpha = ep.alpha();
        MemorySegment cb = ep.colBias();
        for (int r = 0; r < mr; r++) {
            long off = co + r * ldc;
            float rb = ep.rowBias() == null ? 0f : ep.rowBias().get(F, ep.rowBiasOff() + (row + r) * 4L);
            int j = 0;
            for (; j + L <= nv; j += L) {
                FloatVector v = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE).mul(alpha).add(rb);
                if (cb != null) {
                    v = v.add(FloatVector.fromMemorySegment(S, cb, (col + j) * 4L, LE));
                }
                v.intoMemorySegment(c, off + j * 4L, LE);
            }
            for (; j < nv; j++) {
                float v = c.get(F, off + j * 4L) * alpha + rb;
                if (cb != null) {
                    v += cb.get(F, (col + j) * 4L);
                }
                c.set(F, off + j * 4L, v);
            }
            if (ep.act() != null) {
                ep.act().applyInPlace(c, off, nv, ep.actAlpha());
            }
        }
    }
}
