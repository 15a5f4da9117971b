package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The AVX-512 machine-code GEMM kernels against the Vector API kernels: the same bits for the rows
 * they compute, on every shape and epilogue within one K block (tiles of 12, 8 and 4 rows, K
 * tails), the same sums to rounding elsewhere, bounds refused before any native call, and the
 * checked-in code matching its source.
 */
class NativeSgemmTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @AfterEach
    void restore() {
        Sgemm.nativeKernels = NativeSgemm.AVAILABLE;
    }

    private static boolean avx512Here() throws IOException {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").toLowerCase().contains("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"))
                && Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
    }

    @Test
    void loadedOnAnAvx512Machine() throws IOException {
        assumeTrue(avx512Here(), "no AVX-512 here");
        assertTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
        assertEquals("AVX-512 machine-code kernels", NativeSgemm.STATUS);
    }

    /** C = epilogue(A·B) through Sgemm.block, on the native kernels or not. */
    private static float[] gemm(boolean nativeKernels, int m, int k, int n, float[] a, float[] b, float[] c0,
                                float[] bias, Activation act, boolean accumulate) {
        Sgemm.nativeKernels = nativeKernels;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment as = arena.allocate((long) m * k * 4, 64);
            MemorySegment bs = arena.allocate((long) k * n * 4, 64);
            MemorySegment bp = arena.allocate(Sgemm.packedBytes(k, n), 64);
            MemorySegment cs = arena.allocate((long) m * n * 4, 64);
            MemorySegment biasSeg = bias == null ? null : arena.allocate(Sgemm.panels(n) * (long) Sgemm.NR * 4, 64);
            MemorySegment.copy(a, 0, as, F, 0, a.length);
            MemorySegment.copy(b, 0, bs, F, 0, b.length);
            MemorySegment.copy(c0, 0, cs, F, 0, c0.length);
            if (bias != null) {
                MemorySegment.copy(bias, 0, biasSeg, F, 0, bias.length);
            }
            Sgemm.packB(bs, 0, n * 4L, 4, k, n, bp, 0, 0, Sgemm.panels(n));
            Sgemm.Epilogue ep = new Sgemm.Epilogue(1f, accumulate, biasSeg, null, 0, act, 0f);
            Sgemm.Problem p = new Sgemm.Problem(1, m, n, k, as, new long[] {0}, k * 4L, 4, bp, new long[] {0}, cs,
                    new long[] {0}, n * 4L);
            Sgemm.block(p, ep, 0, 0, m, 0, Sgemm.panels(n));
            return cs.toArray(F);
        }
    }

    private static float[] random(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void sameBitsAsTheVectorApiKernels() {
        assumeTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
        Random r = new Random(17);
        int[] ms = {1, 3, 4, 5, 8, 11, 12, 13, 16, 20, 24, 25, 64, 100};
        int[] ks = {1, 2, 3, 4, 5, 7, 8, 17, 64, 784, 2 * Sgemm.KC + 5};
        int[] ns = {10, 32, 45, 64, 97};
        int cases = 0;
        for (int m : ms) {
            for (int k : ks) {
                int n = ns[(m + k) % ns.length];
                float[] a = random(r, m * k);
                float[] b = random(r, k * n);
                float[] bias = random(r, n);
                float[] zero = new float[m * n];
                for (Activation act : new Activation[] {null, Activation.RELU, Activation.SIGMOID}) {
                    for (float[] bs : new float[][] {null, bias}) {
                        if (act != null && bs == null) {
                            continue;
                        }
                        float[] want = gemm(false, m, k, n, a, b, zero, bs, act, false);
                        float[] got = gemm(true, m, k, n, a, b, zero, bs, act, false);
                        String what = m + "x" + k + "x" + n + " bias=" + (bs != null) + " act=" + act;
                        // The native tiles take rows [0, m - m % 4); within one K block they sum in
                        // the Vector API kernels' order, so those rows must agree to the bit. The
                        // rows left over go to a kernel that sums k in two interleaved halves, and
                        // past one K block the Vector API path adds C to partial tiles after their
                        // sums: there the results agree to rounding.
                        int exactRows = k <= Sgemm.KC ? m - m % 4 : 0;
                        for (int i = 0; i < want.length; i++) {
                            if (i / n < exactRows) {
                                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                                        what + " [" + i + "] " + want[i] + " vs " + got[i]);
                            } else {
                                assertEquals(want[i], got[i], 1e-5 * k * (1 + Math.abs(want[i])), what + " [" + i + "]");
                            }
                        }
                        cases++;
                    }
                }
            }
        }
        assertTrue(cases > 100);
    }

    @Test
    void accumulatesIntoC() {
        assumeTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
        Random r = new Random(23);
        // Row counts both paths tile alike (multiples of 24: 12-row native tiles, 8-row Java tiles,
        // both starting from C) give the same bits; any other gets the same sums to rounding.
        for (int m : new int[] {24, 48, 13, 30}) {
            int k = 300;
            int n = 64;
            float[] a = random(r, m * k);
            float[] b = random(r, k * n);
            float[] c0 = random(r, m * n);
            float[] want = gemm(false, m, k, n, a, b, c0, null, null, true);
            float[] got = gemm(true, m, k, n, a, b, c0, null, null, true);
            if (m % 24 == 0) {
                assertArrayEquals(want, got, "accumulate " + m + " rows");
            } else {
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 1e-4 * (1 + Math.abs(want[i])), "accumulate " + m + " rows, element " + i);
                }
            }
        }
    }

    @Test
    void reluKeepsNanAndClearsNegativeZero() {
        assumeTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
        int m = 12;
        int k = 4;
        int n = 32;
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        a[0] = Float.NaN; // row 0: NaN everywhere
        a[k] = -1f; // row 1: -1 · b
        b[0] = 1f;
        b[1] = 0f; // row 1 column 1: -1 · 0 = -0 before Relu
        b[2] = -2f;
        float[] bias = new float[n];
        bias[1] = -0f;
        float[] got = gemm(true, m, k, n, a, b, new float[m * n], bias, Activation.RELU, false);
        assertTrue(Float.isNaN(got[0]), "Relu(NaN) stays NaN");
        assertEquals(0, Float.floatToRawIntBits(got[n + 1]), "Relu(-0) is +0, as Math.max(-0f, 0f)");
        assertEquals(2f, got[n + 2]);
        assertEquals(0f, got[n]);
    }

    @Test
    void refusesOperandsOutsideTheirSegment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(1024, 64);
            assertEquals(s.address() + 64, NativeSgemm.address(s, 64, 960));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeSgemm.address(s, 64, 961));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeSgemm.address(s, -4, 8));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeSgemm.address(s, Long.MAX_VALUE - 4, 8));
        }
        MemorySegment closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = arena.allocate(64);
        }
        assertThrows(IllegalStateException.class, () -> NativeSgemm.address(closed, 0, 64));
    }

    @Test
    void refusesAnyOtherTileHeight() {
        assumeTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
        assertThrows(IllegalArgumentException.class, () -> NativeSgemm.tile(7, 0, 0, 0, 0, 0, 0, 0, 0));
    }

    /** The resource is what dev/native-kernels/build makes of the checked-in source (needs GNU as). */
    @Test
    void resourceMatchesTheAssemblySource() throws Exception {
        Path source = Path.of("..", "dev", "native-kernels", "sgemm_avx512.s");
        assumeTrue(Files.exists(source), "no " + source);
        Path dir = Files.createTempDirectory("vnrt-kernels");
        Path object = dir.resolve("k.o");
        Path text = dir.resolve("k.bin");
        try {
            assumeTrue(run("as", "-o", object.toString(), source.toString()), "GNU as is not installed");
            assertTrue(run("objcopy", "-O", "binary", "-j", ".text", object.toString(), text.toString()), "objcopy");
            String resource;
            try (var in = NativeSgemm.class.getResourceAsStream("sgemm_avx512.hex")) {
                resource = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            }
            StringBuilder hex = new StringBuilder();
            for (String line : resource.split("\n")) {
                if (!line.isBlank() && !line.startsWith("#") && !line.startsWith("entry ")) {
                    hex.append(line.strip());
                }
            }
            assertEquals(HexFormat.of().formatHex(Files.readAllBytes(text)), hex.toString(),
                    "sgemm_avx512.hex is stale: run dev/native-kernels/build");
        } finally {
            Files.deleteIfExists(object);
            Files.deleteIfExists(text);
            Files.delete(dir);
        }
    }

    private static boolean run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return false;
        }
        p.getInputStream().readAllBytes();
        return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
