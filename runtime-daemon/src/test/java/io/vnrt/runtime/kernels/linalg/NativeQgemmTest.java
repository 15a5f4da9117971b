package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import org.junit.jupiter.api.Test;

/**
 * The machine-code int8 tiles of this process (VNNI at 512 bits, AVX2 at 256) give exactly the
 * integers {@link Igemm}'s scalar definition gives, once the epilogue's zero-point terms are
 * applied: every tile height and its remainders, K zero and not a multiple of four (K groups odd and
 * even, the AVX2 widening's 16-byte steps and tails), N not a multiple of the panel, int8 and uint8
 * B, zero points at the ends of their ranges, the extreme products and int32 wrap-around. Run at
 * each width (-Dvnrt.test.jvmFlags=-XX:UseAVX=2 for AVX2); skipped where the width has no tiles.
 */
class NativeQgemmTest {

    @Test
    void tilesMatchTheScalarDefinition() {
        assumeTrue(NativeQgemm.AVAILABLE, NativeQgemm.STATUS);
        Random r = new Random(17);
        int[] ms = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 27};
        int[] ks = {0, 1, 3, 4, 5, 8, 12, 17, 31, 64, 67};
        int[] ns = {1, 31, 32, 33, 70};
        for (int m : ms) {
            for (int k : ks) {
                for (int n : ns) {
                    for (boolean signed : new boolean[] {true, false}) {
                        check(r, m, k, n, signed);
                    }
                }
            }
        }
    }

    /**
     * The largest products (A = 255 against B = -128 and 127) do not saturate anywhere, and K large
     * enough for the int32 sums to wrap gives the scalar loop's wrapped sums.
     */
    @Test
    void extremeValuesAreExactAndWrapAsInt() {
        assumeTrue(NativeQgemm.AVAILABLE, NativeQgemm.STATUS);
        Random r = new Random(23);
        for (int k : new int[] {4, 6, 1001, 70_001}) {
            for (boolean signed : new boolean[] {true, false}) {
                int m = k > 10_000 ? 7 : 13;
                int n = 40;
                byte hi = (byte) (signed ? 127 : 255);
                byte lo = (byte) (signed ? -128 : 0);
                check(m, k, n, signed, (i, q) -> (byte) 255, (q, j) -> j % 3 == 0 ? hi : j % 3 == 1 ? lo
                        : (r.nextBoolean() ? hi : lo), 0, new int[n]);
            }
        }
    }

    /** Element (row or k, k or column) of an operand. */
    private interface Fill {
        byte at(int i, int j);
    }

    private static void check(Random r, int m, int k, int n, boolean signed) {
        int za = r.nextBoolean() ? 255 : r.nextInt(256);
        int[] zb = new int[n];
        for (int j = 0; j < n; j++) {
            zb[j] = signed ? (j == 0 ? -128 : r.nextInt(256) - 128) : (j == 0 ? 255 : r.nextInt(256));
        }
        check(m, k, n, signed, (i, q) -> (byte) r.nextInt(256), (q, j) -> (byte) r.nextInt(256), za, zb);
    }

    private static void check(int m, int k, int n, boolean signed, Fill fa, Fill fb, int za, int[] zb) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k);
            MemorySegment b = arena.allocate((long) k * n);
            for (int i = 0; i < m; i++) {
                for (int q = 0; q < k; q++) {
                    a.set(ValueLayout.JAVA_BYTE, (long) i * k + q, fa.at(i, q));
                }
            }
            for (int q = 0; q < k; q++) {
                for (int j = 0; j < n; j++) {
                    b.set(ValueLayout.JAVA_BYTE, (long) q * n + j, fb.at(q, j));
                }
            }
            MemorySegment want = arena.allocate((long) m * n * 4);
            Igemm.reference(a, 0, k, false, new int[] {za}, false, b, 0, n, signed, zb, true, m, n, k, want, 0, n * 4L);

            int kq = NativeQgemm.quads(k);
            long lda = kq * 4L;
            MemorySegment aq = arena.allocate(m * lda);
            int[] rowSums = new int[m];
            for (int i = 0; i < m; i++) {
                for (int q = 0; q < k; q++) {
                    byte v = a.get(ValueLayout.JAVA_BYTE, (long) i * k + q);
                    aq.set(ValueLayout.JAVA_BYTE, i * lda + q, v);
                    rowSums[i] += v & 0xFF;
                }
            }
            MemorySegment packed = arena.allocate(NativeQgemm.packedBytes(k, n), 64);
            int[] colSums = NativeQgemm.packB(b, 0, signed, k, n, packed);
            int panels = NativeQgemm.panels(n);
            long ldc = panels * 128L;
            MemorySegment c = arena.allocate(m * ldc);
            for (int q = 0; q < panels; q++) {
                NativeQgemm.panel(aq, 0, lda, 0, m, packed, kq, q, c, 0, ldc);
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int z = signed ? zb[j] : zb[j] - 128;
                    int got = c.get(ValueLayout.JAVA_INT_UNALIGNED, i * ldc + j * 4L) - za * colSums[j] - z * rowSums[i]
                            + k * za * z;
                    assertEquals(want.get(ValueLayout.JAVA_INT_UNALIGNED, ((long) i * n + j) * 4), got,
                            "m=" + m + " k=" + k + " n=" + n + " signed=" + signed + " at " + i + "," + j);
                }
            }
        }
    }

    @Test
    void operandsOutsideTheirSegmentsAreRefusedBeforeTheNativeCall() {
        assumeTrue(NativeQgemm.AVAILABLE, NativeQgemm.STATUS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(12 * 8);
            MemorySegment b = arena.allocate(NativeQgemm.packedBytes(8, 32));
            MemorySegment c = arena.allocate(11 * 128);
            // 12 rows of C do not fit in 11 rows' bytes
            assertThrows(IndexOutOfBoundsException.class, () -> NativeQgemm.panel(a, 0, 8, 0, 12, b, 2, 0, c, 0, 128));
            // a second panel that was never packed
            MemorySegment c2 = arena.allocate(12 * 256);
            assertThrows(IndexOutOfBoundsException.class, () -> NativeQgemm.panel(a, 0, 8, 0, 12, b, 2, 1, c2, 0, 256));
        }
    }

    /** Each resource is what dev/native-kernels/build makes of its checked-in source (needs GNU as). */
    @Test
    void resourcesMatchTheAssemblySources() throws Exception {
        for (NativeQgemm.Isa isa : NativeQgemm.Isa.values()) {
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
                try (var in = NativeQgemm.class.getResourceAsStream(isa.resource)) {
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
                    assertTrue(resource.contains("entry " + isa.entry(rows) + " "), isa + " lacks the " + rows + "-row tile");
                }
            } finally {
                Files.deleteIfExists(object);
                Files.deleteIfExists(text);
                Files.delete(dir);
            }
        }
    }

    /** VNNI at 512 bits where the CPU has it, AVX2 at 256 (an AVX-512 CPU run at UseAVX=2 too), none at 128. */
    @Test
    void theTilesOfThisWidthAreLoadedWhereTheCpuHasThem() {
        assumeTrue(Boolean.parseBoolean(System.getProperty("vnrt.nativeKernels", "true")), "native kernels are off");
        assumeTrue(System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")
                && System.getProperty("os.arch", "").equals("amd64"), "not Linux on x86-64");
        NativeQgemm.Isa want = switch (VectorShape.BITS) {
            case 512 -> VectorShape.cpuHas("avx512_vnni") && VectorShape.cpuHas("avx512bw") ? NativeQgemm.Isa.VNNI : null;
            case 256 -> VectorShape.cpuHas("avx2") && VectorShape.cpuHas("fma") ? NativeQgemm.Isa.AVX2 : null;
            default -> null;
        };
        assertEquals(want, NativeQgemm.ISA, NativeQgemm.STATUS);
        if (want == null) {
            assertFalse(NativeQgemm.AVAILABLE);
            assertTrue(NativeQgemm.STATUS.startsWith("Vector API int8 GEMM ("), NativeQgemm.STATUS);
        } else {
            assertTrue(NativeQgemm.AVAILABLE);
            assertEquals(want.label + " machine-code int8 tiles (" + want.instruction + ", " + want.heights[0] + "x32; tiles of "
                    + java.util.Arrays.stream(want.heights).mapToObj(Integer::toString)
                    .collect(java.util.stream.Collectors.joining(", ")) + " rows)", NativeQgemm.STATUS);
        }
        assertEquals(NativeQgemm.STATUS, LinalgOps.int8GemmKernels());
    }

    @Test
    void aResourceThatFailsToLoadIsReported() {
        for (NativeQgemm.Isa isa : NativeQgemm.Isa.values()) {
            NativeQgemm.Loaded missing = NativeQgemm.load(isa, "no-such-kernels.hex");
            assertNull(missing.tiles());
            assertTrue(missing.status().startsWith("Vector API int8 GEMM (loading the " + isa.label
                    + " int8 tiles from no-such-kernels.hex failed") && missing.status().contains("missing"), missing.status());
            NativeQgemm.Loaded corrupt = NativeQgemm.load(isa, "corrupt-kernels.hex");
            assertNull(corrupt.tiles());
            assertTrue(corrupt.status().contains("from corrupt-kernels.hex failed"), corrupt.status());
            NativeQgemm.Loaded noEntries = NativeQgemm.load(isa, "kernels-without-entries.hex");
            assertNull(noEntries.tiles());
            assertTrue(noEntries.status().contains("has no valid entry " + isa.entry(isa.heights[0])), noEntries.status());
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
