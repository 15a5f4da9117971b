package io.vnrt.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a process decides about vectors and GEMM kernels at start-up, and that bad input there (an
 * unknown or too wide {@code -Dvnrt.vectorBits}, a machine-code resource that does not load) gives
 * a clear line and kernels that still compute right. The decisions are made once per JVM, so each
 * case runs {@link Probe} in a JVM of its own.
 */
class KernelStartupTest {
    @TempDir
    Path dir;

    @Test
    void theWidthIsTheJvmsUnlessAskedForALegalNarrowerOne() {
        String asked = System.getProperty("vnrt.vectorBits");
        if (asked == null) {
            assertEquals(VectorShape.JVM_PREFERRED_BITS, VectorShape.BITS);
            assertNull(VectorShape.WARNING);
        }
        assertEquals(VectorShape.BITS, VectorShape.FLOAT.vectorBitSize());
        assertEquals(VectorShape.BITS, VectorShape.INT.vectorBitSize());
        assertEquals(VectorShape.BITS, VectorShape.BYTE.vectorBitSize());
        assertEquals(VectorShape.BITS / 32, VectorShape.FLOAT_LANES);
        assertTrue(VectorShape.describe().startsWith(VectorShape.BITS + "-bit vectors (" + VectorShape.FLOAT_LANES
                + " floats"), VectorShape.describe());
    }

    @Test
    void anUnknownWidthIsRefusedWithAWarningAndTheKernelsStillCompute() throws Exception {
        Map<String, String> out = probe(List.of("-Dvnrt.vectorBits=999"), null);
        assertEquals("-Dvnrt.vectorBits=999 is not a vector width (expected 128, 256 or 512); using "
                + out.get("preferred") + " bits, the JVM's preferred width", out.get("warning"));
        assertEquals(out.get("preferred"), out.get("bits"));
        assertEquals("ok", out.get("matmul"));
    }

    @Test
    void aWidthTheJvmCannotCompileIsRefusedWithAWarning() throws Exception {
        Map<String, String> out = probe(List.of("-XX:MaxVectorSize=16", "-Dvnrt.vectorBits=256"), null);
        assertEquals("128", out.get("bits"));
        assertTrue(out.get("warning").startsWith("-Dvnrt.vectorBits=256 is wider than this JVM compiles on this CPU (128"
                + " bits"), out.get("warning"));
        // 6 rows of four vectors where there are 32 vector registers, 3 rows of two where 16.
        assertTrue(out.get("gemm").startsWith("128-bit Vector API kernels (6x16 tiles") || out.get("gemm")
                .startsWith("128-bit Vector API kernels (3x8 tiles"), out.get("gemm"));
        assertEquals("ok", out.get("matmul"));
    }

    @Test
    void aLegalNarrowerWidthIsTaken() throws Exception {
        assumeTrue(VectorShape.JVM_PREFERRED_BITS >= 256 || System.getProperty("vnrt.vectorBits") != null,
                "this JVM has no 256-bit vectors");
        Map<String, String> out = probe(List.of("-Dvnrt.vectorBits=128"), null);
        assertEquals("128", out.get("bits"));
        assertEquals("null", out.get("warning"));
        assertEquals("ok", out.get("matmul"));
    }

    /** Machine-code resources that do not load: the status says so and the Vector API kernels run. */
    @Test
    void corruptMachineCodeIsReportedAndTheVectorApiRuns() throws Exception {
        String arch = System.getProperty("os.arch");
        String cpu = Files.exists(Path.of("/proc/cpuinfo")) ? Files.readString(Path.of("/proc/cpuinfo")) : "";
        assumeTrue((arch.equals("amd64") || arch.equals("x86_64")) && cpu.contains(" avx2") && cpu.contains(" fma"),
                "no machine-code GEMM kernels for this CPU");
        Path resources = Files.createDirectories(dir.resolve("io/vnrt/runtime/kernels/linalg"));
        for (String name : List.of("sgemm_avx512.hex", "sgemm_avx2.hex")) {
            Files.writeString(resources.resolve(name), "entry vnrt_sgemm_r12x32 0\nnot machine code\n");
        }
        // Default width: AVX-512 tiles on an AVX-512 CPU, AVX2 tiles on an AVX2 one; both shadowed.
        Map<String, String> out = probe(List.of(), dir);
        assertTrue(out.get("gemm").matches("(512|256)-bit Vector API kernels \\(\\d+x\\d+ tiles; loading the "
                + "(AVX-512|AVX2) kernels from sgemm_avx(512|2)\\.hex failed: .+\\)"), out.get("gemm"));
        assertEquals("ok", out.get("matmul"));
    }

    /** Runs {@link Probe} in a fresh JVM with the given flags (and classpath entry first), returning its key: value lines. */
    private static Map<String, String> probe(List<String> flags, Path firstOnClasspath) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        if (firstOnClasspath != null) {
            classpath = firstOnClasspath + java.io.File.pathSeparator + classpath;
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m"));
        command.addAll(flags);
        command.addAll(List.of("-cp", classpath, Probe.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe did not finish");
        assertEquals(0, p.exitValue(), text);
        Map<String, String> out = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(": ");
            if (colon > 0) {
                out.put(line.substring(0, colon), line.substring(colon + 2));
            }
        }
        assertTrue(out.containsKey("matmul"), text);
        return out;
    }

    /** Prints the start-up decisions, then runs a MatMul with bias and Relu through the engine and checks it. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            System.out.println("warning: " + VectorShape.WARNING);
            System.out.println("bits: " + VectorShape.BITS);
            System.out.println("preferred: " + VectorShape.JVM_PREFERRED_BITS);
            System.out.println("gemm: " + LinalgOps.gemmKernels());
            System.out.println("matmul: " + matmul());
        }

        private static String matmul() throws Exception {
            int m = 37;
            int k = 70;
            int n = 45;
            Random rnd = new Random(3);
            Tensor w = gaussian(rnd, k, n);
            Tensor bias = gaussian(rnd, n);
            byte[] model = new ModelBuilder(13).input("x", DType.FLOAT32, (long) m, (long) k)
                    .output("y", DType.FLOAT32, (long) m, (long) n).initializer("w", w).initializer("b", bias)
                    .node("MatMul", List.of("x", "w"), List.of("p")).node("Add", List.of("p", "b"), List.of("q"))
                    .node("Relu", List.of("q"), List.of("y")).bytes();
            Tensor x = gaussian(rnd, m, k);
            try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(16 << 20)); CoreGroup group = new CoreGroup("probe", 2);
                    LoadedModel loaded = new Engine().load("mm", model, null, pool, group, "probe", null, 0, "mm")) {
                Tensor y = loaded.execute(Map.of("x", x)).get("y");
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double want = bias.getFloat(j);
                        for (int q = 0; q < k; q++) {
                            want += (double) x.getFloat((long) i * k + q) * w.getFloat((long) q * n + j);
                        }
                        want = Math.max(want, 0);
                        float got = y.getFloat((long) i * n + j);
                        if (Math.abs(got - want) > 1e-4 * (1 + Math.abs(want))) {
                            return "wrong at " + i + "," + j + ": " + got + " instead of " + want;
                        }
                    }
                }
            }
            return "ok";
        }

        private static Tensor gaussian(Random rnd, long... shape) {
            Tensor t = Tensor.allocate(DType.FLOAT32, shape);
            for (long i = 0; i < t.elementCount(); i++) {
                t.setFloat(i, (float) rnd.nextGaussian());
            }
            return t;
        }
    }
}
