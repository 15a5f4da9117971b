package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.onnx.TensorProtos;
import io.vnrt.runtime.server.DaemonServer;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vnrt run --embedded} and {@code vnrt conformance} as a user runs them. */
class RunCommandTest {
  static final Path SHARED = Path.of(System.getProperty("vnrt.shared", "../shared")).toAbsolutePath().normalize();

  record Run(int exitCode, String out, String err) {
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** The shared mlp model; a test needing it is skipped (not failed) where the shared data is absent. */
  static Path mlp() {
    Path p = SHARED.resolve("models/mlp.onnx");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(p),
        "the shared benchmark models are not at " + p + " (set -Dvnrt.shared)");
    return p;
  }

  @Test
  void embeddedRunReportsPercentilesAndWritesOutputs(@TempDir Path dir) throws Exception {
    Run r = run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=2", "--iterations", "5",
        "--warmup", "1", "--output-dir", dir.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().contains("loaded in"), r.out());
    assertTrue(r.out().matches("(?s).*5 executions \\(after 1 warm-up\\).*p50 .* ms, p90 .* ms, p99 .* ms.*"), r.out());
    assertTrue(r.out().contains("vectors: " + VectorShape.BITS + "-bit"), r.out());
    assertTrue(r.out().contains("GEMM: " + LinalgOps.gemmKernels()), r.out());
    assertInOrder(r.out(), "loaded in", "vectors: ", "first execution (cold): ", "(compiles the plan for these inputs",
        "warm-up: 1 executions in", "5 executions (after 1 warm-up)");
    try (var files = Files.list(dir)) {
      Path pb = files.filter(f -> f.toString().endsWith(".pb")).findFirst().orElseThrow();
      Tensor out = TensorProtos.decode(TensorProtos.read(pb), dir);
      assertArrayEquals(new long[] {2, 10}, out.shape());
      for (int row = 0; row < 2; row++) {
        double sum = 0;
        for (int i = 0; i < 10; i++) {
          sum += out.getFloat(row * 10 + i);
        }
        assertEquals(1.0, sum, 1e-4, "softmax rows sum to 1");
      }
    }
  }

  /** Each of {@code parts} appears in {@code text}, in this order. */
  static void assertInOrder(String text, String... parts) {
    int at = 0;
    for (String p : parts) {
      int i = text.indexOf(p, at);
      assertTrue(i >= 0, "'" + p + "' missing, or not after the one before, in:\n" + text);
      at = i + p.length();
    }
  }

  @Test
  void theDefaultWarmupIsTimedAndSaysWhetherLatencyIsSteady() {
    Run r = run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=1", "--iterations", "5", "--warmup",
        "300ms");
    assertEquals(0, r.exitCode(), r.err());
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("warm-up: (\\d+) executions in (\\d+\\.\\d) s, "
        + "(steady \\(p50|still getting faster)").matcher(r.out());
    assertTrue(m.find(), r.out());
    int runs = Integer.parseInt(m.group(1));
    assertTrue(runs >= 20, "a 300 ms warm-up of mlp N=1 runs it many times: " + r.out());
    assertTrue(Double.parseDouble(m.group(2)) >= 0.3, "it lasted at least --warmup: " + r.out());
    assertTrue(r.out().contains("5 executions (after " + runs + " warm-up)"), r.out());
    assertInOrder(r.out(), "first execution (cold", "warm-up: ", "5 executions (after");
  }

  @Test
  void aWarmupThatIsNeitherADurationNorACountIsAUsageError() {
    Run r = run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=1", "--warmup", "soon");
    assertEquals(2, r.exitCode(), r.out());
    assertTrue(r.err().contains("--warmup takes a duration such as 2s, 500ms or 1m, or a number of executions such as"
        + " 500; got 'soon'"), r.err());
  }

  @Test
  void steadyMeansTheLastTenthIsNoFasterThanTheTenthBefore() {
    java.util.List<Long> falling = new java.util.ArrayList<>();
    java.util.List<Long> flat = new java.util.ArrayList<>();
    for (int i = 0; i < 100; i++) {
      falling.add(1_000_000L - 9_000L * i);
      flat.add(500_000L + (i % 3) * 1_000L);
    }
    assertTrue(!RunWarmup.steady(falling), "latency still falling 9% per tenth");
    assertTrue(RunWarmup.steady(flat));
    assertTrue(!RunWarmup.steady(flat.subList(0, 19)), "too few runs to say");
    assertEquals(new RunWarmup(500, java.time.Duration.ZERO), RunWarmup.parse("500"));
    assertEquals(new RunWarmup(0, java.time.Duration.ofSeconds(2)), RunWarmup.parse("2s"));
    assertEquals(new RunWarmup(0, java.time.Duration.ofMillis(250)), RunWarmup.parse("250ms"));
  }

  @Test
  void sameSeedSameOutputs(@TempDir Path dir) throws Exception {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    assertEquals(0, run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=1", "--iterations", "1",
        "--warmup", "0", "--output-dir", a.toString()).exitCode());
    assertEquals(0, run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=1", "--iterations", "1",
        "--warmup", "0", "--output-dir", b.toString()).exitCode());
    try (var files = Files.list(a)) {
      for (Path f : files.toList()) {
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(f.getFileName())));
      }
    }
  }

  @Test
  void remoteRunAgreesWithTheEmbeddedOneInlineAndThroughSharedMemory(@TempDir Path dir) throws Exception {
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults())) {
      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      try {
        String target = server.targets().getFirst();
        Run embedded = run("run", "--embedded", "--model", mlp().toString(), "--dim", "N=1", "--iterations", "2",
            "--warmup", "0", "--output-dir", dir.resolve("embedded").toString());
        assertEquals(0, embedded.exitCode(), embedded.err());
        Run inline = run("run", "--target", target, "--model", mlp().toString(), "--dim", "N=1", "--iterations",
            "40", "--warmup", "2", "--concurrency", "4", "--output-dir", dir.resolve("inline").toString());
        assertEquals(0, inline.exitCode(), inline.err());
        assertTrue(inline.out().matches("(?s).*40 executions \\(after 2 warm-up\\), concurrency 4: p50 .* ms, "
            + "p90 .* ms, p99 .* ms; throughput .* inferences/s.*"), inline.out());
        assertInOrder(inline.out(), "loaded in", "warmed up at load in", "(1 execution)",
            "daemon vectors: " + VectorShape.BITS + "-bit", "daemon GEMM: ", "daemon kernel warm-up: off",
            "first execution (cold): ", " ms (in the daemon: queue ", "warm-up: 2 executions in",
            "40 executions (after 2 warm-up)");
        Run shm = run("run", "--target", target, "--model", mlp().toString(), "--dim", "N=1", "--iterations", "10",
            "--warmup", "1", "--shm", "--output-dir", dir.resolve("shm").toString());
        assertEquals(0, shm.exitCode(), shm.err());
        for (String kind : new String[] {"inline", "shm"}) {
          try (var files = Files.list(dir.resolve("embedded"))) {
            for (Path f : files.toList()) {
              Tensor want = TensorProtos.decode(TensorProtos.read(f), dir);
              Tensor got = TensorProtos.decode(TensorProtos.read(dir.resolve(kind).resolve(f.getFileName())), dir);
              assertArrayEquals(want.shape(), got.shape());
              assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 1e-6f, kind + " " + f.getFileName());
            }
          }
        }
      } finally {
        server.close();
      }
      assertEquals(0, runtime.devices().devices().getFirst().pool().usedBytes(), "vnrt run unloaded its model");
    }
  }

  @Test
  void remoteRunWithoutADaemonSaysSo() {
    Run r = run("run", "--target", "127.0.0.1:1", "--model", mlp().toString(), "--dim", "N=1");
    assertEquals(1, r.exitCode());
    assertTrue(r.err().contains("vnrt run: cannot reach a vnrt daemon at 127.0.0.1:1"), r.err());
  }

  @Test
  void unboundSymbolicDimensionIsExplained() {
    Run r = run("run", "--embedded", "--model", mlp().toString(), "--iterations", "1");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("--dim N=VALUE"), r.err());
  }

  @Test
  void missingModelIsAUsageError() {
    Run r = run("run", "--embedded", "--model", "/nonexistent/model.onnx");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("--model /nonexistent/model.onnx: no such file"), r.err());
  }

  @Test
  void conformanceDelegatesAndPassesTheExitCodeThrough(@TempDir Path dir) {
    Run help = run("conformance", "--help");
    assertEquals(0, help.exitCode(), help.err());
    Run bad = run("conformance", "--no-such-flag");
    assertEquals(2, bad.exitCode());
    Run missing = run("conformance", dir.resolve("missing").toString());
    assertTrue(missing.exitCode() != 0, missing.out() + missing.err());
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(SHARED.resolve("conformance/onnx-node")),
        "the shared conformance tests are not under " + SHARED);
    Run one = run("conformance", SHARED.resolve("conformance/onnx-node").toString(), "--filter", "^test_abs$",
        "--cores", "1");
    assertEquals(0, one.exitCode(), one.out() + one.err());
    assertTrue(one.out().contains("PASS test_abs"), one.out());
    assertTrue(one.out().contains("1 passed"), one.out());
  }
}
