package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.runtime.kernels.VectorShape;
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
 * The machine-code GEMM kernels of this width (AVX-512 at 512 bits, AVX2 at 256; CI runs this class
 * under each) against the Vector API kernels: the same bits for the rows they compute, on every
 * shape and epilogue within one K block (every tile height, K tails), the same sums to rounding
 * elsewhere, bounds refused before any native call, a resource that fails to load reported with
 * the Vector API still computing, and the checked-in code matching its source.
 */
class NativeSgemmTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @AfterEach
    void restore() {
        Sgemm.nativeKernels = NativeSgemm.AVAILABLE;
    }

    private static boolean linuxX86() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").toLowerCase().contains("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"))
                && Boolean.parseBoolean(System.getProperty("vnrt.nativeKernels", "true"));
    }

    @Test
    void theTilesOfThisWidthAreLoadedWhereTheCpuHasThem() throws IOException {
        String cpu = linuxX86() ? Files.readString(Path.of("/proc/cpuinfo")) : "";
        switch (VectorShape.BITS) {
            case 512 -> {
                assumeTrue(cpu.contains(" avx512f"), "no AVX-512 here");
                assertTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
                assertEquals(NativeSgemm.Isa.AVX512, NativeSgemm.ISA);
                assertEquals("AVX-512 machine-code kernels (12x32; tiles of 12, 8, 4 rows), 512-bit Vector API for edges",
                        NativeSgemm.STATUS);
            }
            case 256 -> {
                assumeTrue(cpu.contains(" avx2") && cpu.contains(" fma") && VectorShape.useAvx() >= 2, "no AVX2 here");
                assertTrue(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
                assertEquals(NativeSgemm.Isa.AVX2, NativeSgemm.ISA);
                assertEquals("AVX2 machine-code kernels (6x16; tiles of 6, 4 rows), 256-bit Vector API for edges",
                        NativeSgemm.STATUS);
            }
            default -> {
                assertFalse(NativeSgemm.AVAILABLE, NativeSgemm.STATUS);
                assertEquals(VectorShape.BITS + "-bit Vector API kernels (" + Sgemm.MR + "x" + Sgemm.NR
                        + " tiles; no machine-code kernels for " + VectorShape.BITS + "-bit vectors)", NativeSgemm.STATUS);
            }
        }
        assertEquals(NativeSgemm.STATUS, LinalgOps.gemmKernels());
        assertEquals(NativeSgemm.AVAILABLE ? NativeSgemm.ISA.label : "Vector API", LinalgOps.gemmIsa());
        assertEquals(switch (LinalgOps.gemmIsa()) {
            case "AVX-512" -> "12x32";
            case "AVX2" -> "6x16";
            default -> Sgemm.MR + "x" + Sgemm.NR;
        }, LinalgOps.gemmTile());
    }

    @Test
    void theRegisterTileFitsTheRegisterFile() {
        // rows × vectors accumulators, the B vectors and a broadcast
        int vectors = VectorShape.GEMM_VECTORS;
        assertTrue(Sgemm.MR * vectors + vectors + 1 <= VectorShape.VECTOR_REGISTERS, Sgemm.MR + "x" + vectors);
        assertEquals(vectors * VectorShape.FLOAT_LANES, Sgemm.NR);
        assertEquals(Sgemm.NR * 4, vectors * VectorShape.FLOAT.vectorByteSize());
        // Four-vector panels only at 128 bits with 32 registers (NEON, or x86 with AVX-512VL at MaxVectorSize=16).
        assertEquals(VectorShape.BITS == 128 && VectorShape.VECTOR_REGISTERS >= 32, Sgemm.WIDE);
        assertEquals(Sgemm.WIDE ? 4 : 2, vectors);
        if (NativeSgemm.AVAILABLE) {
            assertEquals(Sgemm.NR, NativeSgemm.ISA.columns(), "machine-code tiles read the panels Sgemm packs");
            assertEquals(VectorShape.BITS, NativeSgemm.ISA.bits);
        }
    }

    /**
     * Rows [0, result) of an m-row GEMM that both paths compute in tiles, which sum in the same
     * order: the native tiles take rows [0, nativeRows), and the Vector API path takes all rows in
     * tiles but the last m % MR when those are fewer than 3 (a kernel that sums k in four
     * interleaved parts). Both paths add each K block's sum to C after the block, so this holds
     * past one K block too.
     */
    private static int exactRows(int m, int k) {
        int nativeRows = 0;
        while (m - nativeRows >= NativeSgemm.MIN_ROWS) {
            nativeRows += NativeSgemm.rowsFor(m - nativeRows);
        }
        int javaTileRows = m % Sgemm.MR < 3 ? m - m % Sgemm.MR : m;
        return Math.min(nativeRows, javaTileRows);
    }

    private static void assertSameBitsWhereExact(float[] want, float[] got, int m, int k, int n, String what) {
        assertSameBitsWhereExact(want, got, m, k, n, what, 0);
    }

    /**
     * As above, exact rows allowed {@code ulps} units in the last place: a Sigmoid's vector EXP
     * is not bit-reproducible between its C2-compiled (intrinsic) and not yet compiled forms, and
     * the two GEMMs compared may run before and after C2 compiles the activation.
     */
    private static void assertSameBitsWhereExact(float[] want, float[] got, int m, int k, int n, String what, int ulps) {
        int exactRows = exactRows(m, k);
        for (int i = 0; i < want.length; i++) {
            if (i / n < exactRows) {
                int apart = Math.abs(Float.floatToRawIntBits(want[i]) - Float.floatToRawIntBits(got[i]));
                assertTrue(apart <= ulps, what + " [" + i + "] " + want[i] + " vs " + got[i] + ": " + apart
                        + " units in the last place apart, at most " + ulps + " allowed");
            } else {
                assertEquals(want[i], got[i], 1e-5 * k * (1 + Math.abs(want[i])), what + " [" + i + "]");
            }
        }
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
        int[] ms = {1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 20, 24, 25, 64, 100};
        int[] ks = {1, 2, 3, 4, 5, 7, 8, 17, 64, 784, 2 * Sgemm.KC + 5};
        // partial last panels: 10, 45 (one vector or less: Vector API), 49, 60 (machine-code tiles into a scratch tile)
        int[] ns = {10, 32, 45, 49, 64, 97, 60};
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
                        assertSameBitsWhereExact(want, got, m, k, n, what, act == Activation.SIGMOID ? 2 : 0);
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
        // Both paths sum each tile from zero and then add C, so the rows both compute in tiles agree to the bit.
        for (int m : new int[] {24, 48, 13, 30, 7}) {
          for (int n : new int[] {64, 49}) {
            int k = 300;
            float[] a = random(r, m * k);
            float[] b = random(r, k * n);
            float[] c0 = random(r, m * n);
            float[] want = gemm(false, m, k, n, a, b, c0, null, null, true);
            float[] got = gemm(true, m, k, n, a, b, c0, null, null, true);
            assertSameBitsWhereExact(want, got, m, k, n, "accumulate " + m + " rows");
            if (m % 24 == 0) {
                assertArrayEquals(want, got, "accumulate " + m + " rows");
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

    /** Each resource is what dev/native-kernels/build makes of the checked-in source (needs GNU as). */
    @Test
    void resourcesMatchTheAssemblySources() throws Exception {
        for (NativeSgemm.Isa isa : NativeSgemm.Isa.values()) {
            String name = isa.resource.replace(".hex", "");
            Path source = Path.of("..", "dev", "native-kernels", name + ".s");
            assumeTrue(Files.exists(source), "no " + source);
            Path dir = Files.createTempDirectory("vnrt-kernels");
            Path object = dir.resolve("k.o");
            Path text = dir.resolve("k.bin");
            try {
                assumeTrue(run("as", "-o", object.toString(), source.toString()), "GNU as is not installed");
                assertTrue(run("objcopy", "-O", "binary", "-j", ".text", object.toString(), text.toString()), "objcopy");
                String resource;
                try (var in = NativeSgemm.class.getResourceAsStream(isa.resource)) {
                    resource = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                }
                StringBuilder hex = new StringBuilder();
                for (String line : resource.split("\n")) {
                    if (!line.isBlank() && !line.startsWith("#") && !line.startsWith("entry ")) {
                        hex.append(line.strip());
                    }
                }
                assertEquals(HexFormat.of().formatHex(Files.readAllBytes(text)), hex.toString(),
                        isa.resource + " is stale: run dev/native-kernels/build");
                for (int rows : isa.heights) {
                    assertTrue(resource.contains("entry " + isa.entry(rows) + " "), isa.resource + " lacks " + isa.entry(rows));
                }
            } finally {
                Files.deleteIfExists(object);
                Files.deleteIfExists(text);
                Files.delete(dir);
            }
        }
    }

    @Test
    void aResourceThatFailsToLoadIsReportedAndTheVectorApiStillComputes() {
        for (NativeSgemm.Isa isa : NativeSgemm.Isa.values()) {
            NativeSgemm.Loaded missing = NativeSgemm.load(isa, "no-such-kernels.hex");
            assertFalse(missing.available());
            assertTrue(missing.status().startsWith(VectorShape.BITS + "-bit Vector API kernels (")
                    && missing.status().contains("loading the " + isa.label + " kernels from no-such-kernels.hex failed")
                    && missing.status().contains("missing"), missing.status());
            // Not hex at all, and well-formed code that lacks the entries the tiles need.
            NativeSgemm.Loaded corrupt = NativeSgemm.load(isa, "corrupt-kernels.hex");
            assertFalse(corrupt.available());
            assertTrue(corrupt.status().contains("from corrupt-kernels.hex failed"), corrupt.status());
            NativeSgemm.Loaded noEntries = NativeSgemm.load(isa, "kernels-without-entries.hex");
            assertFalse(noEntries.available());
            assertTrue(noEntries.status().contains("has no valid entry " + isa.entry(isa.heights[0])), noEntries.status());
        }
        Random r = new Random(29);
        int m = 37;
        int k = 70;
        int n = 45;
        float[] a = random(r, m * k);
        float[] b = random(r, k * n);
        float[] got = gemm(false, m, k, n, a, b, new float[m * n], null, null, false);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 0;
                for (int q = 0; q < k; q++) {
                    want += (double) a[i * k + q] * b[q * n + j];
                }
                assertEquals(want, got[i * n + j], 1e-4 * (1 + Math.abs(want)), "element " + i + "," + j);
            }
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
