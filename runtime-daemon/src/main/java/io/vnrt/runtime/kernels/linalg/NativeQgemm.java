package io.vnrt.runtime.kernels.linalg;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.vnrt.runtime.kernels.NativeCode;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * The int8 GEMM's machine-code tiles for AVX-512 VNNI ({@code vpdpbusd}: four unsigned-by-signed
 * byte products added into each int32 lane, without saturation), called through the FFM linker:
 * {@code C = A·B} in exact int32 sums for uint8 A and int8 B, 12, 8, 4, 2 or 1 rows × 32 columns.
 * Zero points are not applied here: callers subtract {@code za·colsum(B) + zb·rowsum(A) − K·za·zb}
 * in their epilogue, which gives the same integers {@link Igemm} computes (both are exact).
 *
 * <p>B is packed by {@link #packB} into panels of {@link #NR} columns holding groups of four
 * consecutive k per column (128 bytes per group), zero past K and N; a uint8 B is stored minus 128
 * (a signed byte) and its zero point is then taken as 128 lower. A's rows are {@link #quads} × 4
 * bytes, zero past K.
 *
 * <p>Used where the CPU reports {@code avx512_vnni} and {@code avx512bw}, the JVM's vectors are
 * 512 bits ({@link VectorShape#BITS}), on Linux x86-64, unless {@code -Dvnrt.nativeKernels=false};
 * otherwise, or when loading fails, {@link #AVAILABLE} is false, {@link #STATUS} says why, and the
 * quantized operators run {@link Igemm}. The code is {@code dev/native-kernels/qgemm_vnni.s}
 * (from {@code gen_qgemm_vnni.py}); {@code NativeQgemmTest} checks the resource matches it.
 */
final class NativeQgemm {
    /** Columns of a panel (two zmm registers of int32 accumulators). */
    static final int NR = 32;
    /** Bytes of one k group of a panel: NR columns × 4 k. */
    static final int GROUP = NR * 4;
    static final int[] HEIGHTS = {12, 8, 4, 2, 1};

    static final boolean AVAILABLE;
    /** What int8 GEMM runs, for people. */
    static final String STATUS;
    private static final MethodHandle[] TILES;

    static {
        String why = unsupportedReason();
        MethodHandle[] tiles = null;
        String status;
        if (why == null) {
            try {
                NativeCode code = NativeCode.load(NativeQgemm.class, "qgemm_vnni.hex");
                FunctionDescriptor fd = FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                        JAVA_LONG);
                tiles = new MethodHandle[HEIGHTS.length];
                for (int i = 0; i < HEIGHTS.length; i++) {
                    tiles[i] = code.downcall("vnrt_qgemm_r" + HEIGHTS[i] + "x" + NR, fd);
                }
                status = "AVX-512 VNNI machine-code int8 tiles (12x32)";
            } catch (RuntimeException | Error e) {
                tiles = null;
                status = "Vector API int8 GEMM (loading the VNNI tiles failed: " + e.getMessage() + ")";
            }
        } else {
            status = "Vector API int8 GEMM (" + why + ")";
        }
        TILES = tiles;
        AVAILABLE = tiles != null;
        STATUS = status;
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
        if (VectorShape.BITS != 512) {
            return "VNNI tiles need 512-bit vectors, the JVM runs " + VectorShape.BITS;
        }
        if (!VectorShape.cpuHas("avx512_vnni") || !VectorShape.cpuHas("avx512bw")) {
            return "the CPU has no AVX-512 VNNI";
        }
        return null;
    }

    /** Groups of four k. */
    static int quads(int k) {
        return (k + 3) / 4;
    }

    static int panels(int n) {
        return (n + NR - 1) / NR;
    }

    static long packedBytes(int k, int n) {
        return (long) panels(n) * quads(k) * GROUP;
    }

    /**
     * Packs B (K×N bytes, row-major at {@code off}, int8 when {@code signed}, else uint8 stored
     * minus 128) into {@code dst}; returns the column sums of the stored (signed) values.
     */
    static int[] packB(MemorySegment b, long off, boolean signed, int k, int n, MemorySegment dst) {
        int[] colSums = new int[n];
        int kq = quads(k);
        for (int p = 0; p < panels(n); p++) {
            for (int g = 0; g < kq; g++) {
                long d = ((long) p * kq + g) * GROUP;
                for (int j = 0; j < NR; j++) {
                    int col = p * NR + j;
                    for (int u = 0; u < 4; u++) {
                        int kk = g * 4 + u;
                        byte v = 0;
                        if (col < n && kk < k) {
                            int raw = b.get(ValueLayout.JAVA_BYTE, off + (long) kk * n + col);
                            v = (byte) (signed ? raw : (raw & 0xFF) - 128);
                            colSums[col] += v;
                        }
                        dst.set(ValueLayout.JAVA_BYTE, d + j * 4L + u, v);
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
        long bAddr = NativeCode.address(bp, (long) q * kq * GROUP, (long) kq * GROUP);
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
                TILES[h].invokeExact(aAddr, lda, bAddr, cAddr, ldc, (long) kq);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            i += rows;
        }
    }
}
