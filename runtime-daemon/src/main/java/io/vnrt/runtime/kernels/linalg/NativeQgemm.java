package io.vnrt.runtime.kernels.linalg;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.vnrt.runtime.kernels.NativeCode;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The int8 GEMM's machine-code tiles, called through the FFM linker: {@code C = A·B} in exact int32
 * sums for uint8 A and int8 B, R rows × 32 columns. Zero points are not applied here: callers
 * subtract {@code za·colsum(B) + zb·rowsum(A) − K·za·zb} in their epilogue, which gives the same
 * integers {@link Igemm} computes (all are exact).
 *
 * <p>Two instruction sets have tiles, chosen once at start-up ({@link #ISA}):
 * <ul>
 * <li>AVX-512 VNNI ({@code vpdpbusd}: four unsigned-by-signed byte products added into each int32
 *     lane, without saturation), 12, 8, 4, 2 or 1 rows, where the CPU reports {@code avx512_vnni}
 *     and {@code avx512bw} and the JVM's vectors are 512 bits ({@link VectorShape#BITS});</li>
 * <li>AVX2 ({@code vpmaddwd} on int16 pairs, then {@code vpaddd}: exact, as A ≤ 255 and |B| ≤ 128
 *     cannot overflow a pair sum), 6, 5, 4, 3, 2 or 1 rows, where the CPU reports {@code avx2} and
 *     {@code fma} and the JVM's vectors are 256 bits (an AVX-512 CPU run with {@code -XX:UseAVX=2}
 *     included).</li>
 * </ul>
 *
 * <p>B is packed by {@link #packB} into panels of {@link #NR} columns, zero past K and N; a uint8 B is
 * stored minus 128 (a signed value) and its zero point is then taken as 128 lower. For VNNI a panel
 * holds groups of four consecutive k per column as bytes (128 bytes per group), for AVX2 pairs of
 * consecutive k per column as int16 (128 bytes per pair, twice the bytes). A's rows are the same for
 * both: {@link #quads} × 4 uint8, zero past K; the AVX2 tiles widen them to int16 in a per-thread
 * scratch once per call.
 *
 * <p>On other CPUs, widths and systems, with {@code -Dvnrt.nativeKernels=false}, or when loading
 * fails, {@link #AVAILABLE} is false, {@link #STATUS} says why, and the quantized operators run
 * {@link Igemm}. The code is {@code dev/native-kernels/qgemm_vnni.s} and {@code qgemm_avx2.s} (from
 * their generators); {@code NativeQgemmTest} checks the resources match them.
 */
final class NativeQgemm {
    /** An instruction set with int8 tiles: its name, resource, entry prefix, k per column group and heights. */
    enum Isa {
        VNNI("AVX-512 VNNI", "qgemm_vnni.hex", "vnrt_qgemm_r", 4, "vpdpbusd", 12, 8, 4, 2, 1),
        AVX2("AVX2", "qgemm_avx2.hex", "vnrt_qgemm_avx2_r", 2, "vpmaddwd", 6, 5, 4, 3, 2, 1);

        final String label;
        final String resource;
        final String prefix;
        /** Consecutive k of one column in one 128-byte group of a packed panel. */
        final int kPerGroup;
        final String instruction;
        final int[] heights;

        Isa(String label, String resource, String prefix, int kPerGroup, String instruction, int... heights) {
            this.label = label;
            this.resource = resource;
            this.prefix = prefix;
            this.kPerGroup = kPerGroup;
            this.instruction = instruction;
            this.heights = heights;
        }

        String entry(int rows) {
            return prefix + rows + "x" + NR;
        }

        /** Bytes of one packed panel for kq groups of four k. */
        long panelBytes(int kq) {
            return (long) kq * (4 / kPerGroup) * GROUP;
        }
    }

    /** What start-up found: the tiles' downcalls (one per height of {@code isa}), or none and why. */
    record Loaded(Isa isa, MethodHandle[] tiles, String status) {}

    /** Columns of a panel: two zmm registers of int32 accumulators, or two ymm in each of two passes. */
    static final int NR = 32;
    /** Bytes of one group of a panel: NR columns × 4 bytes (four int8 k, or two int16 k). */
    static final int GROUP = NR * 4;

    static final boolean AVAILABLE;
    /** What int8 GEMM runs, for people. */
    static final String STATUS;
    /** The instruction set of the tiles in use, or null. */
    static final Isa ISA;
    /** Tile heights of {@link #ISA}, largest first (empty when none). */
    static final int[] HEIGHTS;
    private static final MethodHandle[] TILES;

    /** Per-thread int16 copy of a tile's rows of A for the AVX2 tiles, grown as K needs. */
    private static final ThreadLocal<MemorySegment[]> SCRATCH = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    /** Makes this thread's scratch holder (see {@link LinalgOps#prepareThread}). */
    static void prepareThread() {
        SCRATCH.get();
    }

    static {
        String why;
        Isa isa = null;
        try {
            why = unsupportedReason();
            isa = why == null ? (VectorShape.BITS == 512 ? Isa.VNNI : Isa.AVX2) : null;
        } catch (RuntimeException e) {
            why = "cannot tell what the CPU supports: " + e;
        }
        Loaded loaded = isa == null ? new Loaded(null, null, "Vector API int8 GEMM (" + why + ")") : load(isa, isa.resource);
        TILES = loaded.tiles();
        AVAILABLE = TILES != null;
        ISA = AVAILABLE ? isa : null;
        HEIGHTS = AVAILABLE ? isa.heights : new int[0];
        STATUS = loaded.status();
    }

    private NativeQgemm() {}

    private static String unsupportedReason() {
        if (!Boolean.parseBoolean(System.getProperty("vnrt.nativeKernels", "true"))) {
            return "-Dvnrt.nativeKernels=false";
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "no machine-code kernels for " + arch + " on " + System.getProperty("os.name");
        }
        return switch (VectorShape.BITS) {
            case 512 -> VectorShape.cpuHas("avx512_vnni") && VectorShape.cpuHas("avx512bw") ? null
                    : "the CPU has no AVX-512 VNNI";
            case 256 -> !VectorShape.cpuHas("avx2") || !VectorShape.cpuHas("fma") ? "the CPU has no AVX2 and FMA"
                    : VectorShape.useAvx() < 2 ? "the JVM runs -XX:UseAVX=" + VectorShape.useAvx() : null;
            default -> "no int8 machine-code tiles for " + VectorShape.BITS + "-bit vectors";
        };
    }

    /**
     * Loads {@code isa}'s tiles from {@code resource}. Never throws: a resource that is missing,
     * corrupt or lacks an entry gives a {@link Loaded} without tiles whose status says what failed.
     * Package-private so tests can load a broken resource.
     */
    static Loaded load(Isa isa, String resource) {
        try {
            NativeCode code = NativeCode.load(NativeQgemm.class, resource);
            FunctionDescriptor fd = isa == Isa.AVX2
                    ? FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)
                    : FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
            MethodHandle[] tiles = new MethodHandle[isa.heights.length];
            for (int i = 0; i < tiles.length; i++) {
                tiles[i] = code.downcall(isa.entry(isa.heights[i]), fd);
            }
            String heights = Arrays.stream(isa.heights).mapToObj(Integer::toString).collect(Collectors.joining(", "));
            return new Loaded(isa, tiles, isa.label + " machine-code int8 tiles (" + isa.instruction + ", " + isa.heights[0]
                    + "x" + NR + "; tiles of " + heights + " rows)");
        } catch (RuntimeException | Error e) {
            return new Loaded(isa, null, "Vector API int8 GEMM (loading the " + isa.label + " int8 tiles from " + resource
                    + " failed: " + e.getMessage() + ")");
        }
    }

    /** Groups of four k. */
    static int quads(int k) {
        return (k + 3) / 4;
    }

    static int panels(int n) {
        return (n + NR - 1) / NR;
    }

    static long packedBytes(int k, int n) {
        return panels(n) * isa().panelBytes(quads(k));
    }

    /** The tiles' instruction set; only called where {@link #AVAILABLE}. */
    private static Isa isa() {
        if (ISA == null) {
            throw new IllegalStateException("no int8 machine-code tiles run: " + STATUS);
        }
        return ISA;
    }

    /**
     * Packs B (K×N bytes, row-major at {@code off}, int8 when {@code signed}, else uint8 stored
     * minus 128) into {@code dst} in the layout of {@link #ISA}'s tiles; returns the column sums of
     * the stored (signed) values.
     */
    static int[] packB(MemorySegment b, long off, boolean signed, int k, int n, MemorySegment dst) {
        int[] colSums = new int[n];
        int per = isa().kPerGroup;
        int groups = quads(k) * 4 / per;
        int width = 4 / per;
        for (int p = 0; p < panels(n); p++) {
            for (int g = 0; g < groups; g++) {
                long d = ((long) p * groups + g) * GROUP;
                for (int j = 0; j < NR; j++) {
                    int col = p * NR + j;
                    for (int u = 0; u < per; u++) {
                        int kk = g * per + u;
                        int v = 0;
                        if (col < n && kk < k) {
                            int raw = b.get(ValueLayout.JAVA_BYTE, off + (long) kk * n + col);
                            v = signed ? raw : (raw & 0xFF) - 128;
                            colSums[col] += v;
                        }
                        long at = d + (long) j * 4 + (long) u * width;
                        if (width == 1) {
                            dst.set(ValueLayout.JAVA_BYTE, at, (byte) v);
                        } else {
                            dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) v);
                        }
                    }
                }
            }
        }
        return colSums;
    }

    /**
     * Rows [m0, m1) of A (uint8, {@code lda} bytes apart, {@code quads(k)*4} bytes used per row)
     * times panel {@code q} of the packed B into C (int32, {@code ldc} bytes apart, the panel's 32
     * columns at byte {@code q*128}). Every operand's extent is checked before the native call.
     */
    static void panel(MemorySegment a, long aOff, long lda, int m0, int m1, MemorySegment bp, int kq, int q,
                      MemorySegment c, long cOff, long ldc) {
        long pb = isa().panelBytes(kq);
        long bAddr = NativeCode.address(bp, q * pb, pb);
        long sAddr = 0;
        if (ISA == Isa.AVX2) {
            long need = (long) HEIGHTS[0] * kq * 8;
            MemorySegment[] holder = SCRATCH.get();
            if (holder[0] == null || holder[0].byteSize() < need) {
                holder[0] = Arena.ofAuto().allocate(Math.max(need, 4096), 64);
            }
            sAddr = NativeCode.address(holder[0], 0, need);
        }
        int i = m0;
        while (i < m1) {
            int left = m1 - i;
            int h = 0;
            while (HEIGHTS[h] > left) {
                h++;
            }
            int rows = HEIGHTS[h];
            long aAddr = NativeCode.address(a, aOff + i * lda, (rows - 1) * lda + kq * 4L);
            long cAddr = NativeCode.address(c, cOff + i * ldc + q * (long) GROUP, (rows - 1) * ldc + GROUP);
            try {
                if (ISA == Isa.AVX2) {
                    TILES[h].invokeExact(aAddr, lda, bAddr, cAddr, ldc, (long) kq, sAddr);
                } else {
                    TILES[h].invokeExact(aAddr, lda, bAddr, cAddr, ldc, (long) kq);
                }
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            i += rows;
        }
    }
}
