package io.vnrt.runtime.kernels.linalg;

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
import org.junit.jupiter.api.Test;

/**
 * The VNNI machine-code int8 tiles give exactly the integers {@link Igemm}'s scalar definition
 * gives, once the epilogue's zero-point terms are applied: every tile height and its remainders,
 * K not a multiple of four, N not a multiple of the panel, int8 and uint8 B, zero points at the
 * ends of their ranges. Skipped where the CPU or the JVM's width has no VNNI tiles.
 */
class NativeQgemmTest {

    @Test
    void tilesMatchTheScalarDefinition() {
        assumeTrue(NativeQgemm.AVAILABLE, NativeQgemm.STATUS);
        Random r = new Random(17);
        int[] ms = {1, 2, 3, 5, 12, 13, 27};
        int[] ks = {1, 3, 4, 5, 17, 64, 67};
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

    private static void check(Random r, int m, int k, int n, boolean signed) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k);
            MemorySegment b = arena.allocate((long) k * n);
            for (int i = 0; i < m * k; i++) {
                a.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
            }
            for (int i = 0; i < k * n; i++) {
                b.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
            }
            int za = r.nextBoolean() ? 255 : r.nextInt(256);
            int[] zb = new int[n];
            for (int j = 0; j < n; j++) {
                zb[j] = signed ? (j == 0 ? -128 : r.nextInt(256) - 128) : (j == 0 ? 255 : r.nextInt(256));
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

    /** The resource is what dev/native-kernels/build makes of the checked-in source (needs GNU as). */
    @Test
    void resourceMatchesTheAssemblySource() throws Exception {
        Path source = Path.of("..", "dev", "native-kernels", "qgemm_vnni.s");
        assumeTrue(Files.exists(source), "no " + source);
        Path dir = Files.createTempDirectory("vnrt-kernels");
        Path object = dir.resolve("k.o");
        Path text = dir.resolve("k.bin");
        try {
            assumeTrue(run("as", "-o", object.toString(), source.toString()), "GNU as is not installed");
            assertTrue(run("objcopy", "-O", "binary", "-j", ".text", object.toString(), text.toString()), "objcopy");
            String resource;
            try (var in = NativeQgemm.class.getResourceAsStream("qgemm_vnni.hex")) {
                resource = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            }
            StringBuilder hex = new StringBuilder();
            for (String line : resource.split("\n")) {
                if (!line.isBlank() && !line.startsWith("#") && !line.startsWith("entry ")) {
                    hex.append(line.strip());
                }
            }
            assertEquals(HexFormat.of().formatHex(Files.readAllBytes(text)), hex.toString(),
                    "qgemm_vnni.hex is stale: run dev/native-kernels/build");
            for (int rows : NativeQgemm.HEIGHTS) {
                assertTrue(resource.contains("entry vnrt_qgemm_r" + rows + "x32 "), "lacks the " + rows + "-row tile");
            }
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
