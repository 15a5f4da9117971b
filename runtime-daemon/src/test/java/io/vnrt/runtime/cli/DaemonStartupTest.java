package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.EngineInfo;
import io.vnrt.proto.v1.KernelWarmupInfo;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code vnrt daemon} as a real process, as bin/vnrt starts it: what its start-up lines say about
 * the engine, and its kernel warm-up as the log and GetRuntimeInfo report it.
 */
class DaemonStartupTest {
  private static final Pattern LISTENING = Pattern.compile("daemon listening on ([^ ,]+)");
  private static final Set<KernelWarmupInfo.State> ENDED = Set.of(KernelWarmupInfo.State.STATE_DONE,
      KernelWarmupInfo.State.STATE_BUDGET_SPENT);

  /** A daemon process and its output lines (stdout and stderr together) as they come. */
  private record Daemon(Process process, BlockingQueue<String> lines, List<String> seen) implements AutoCloseable {
    static Daemon start(List<String> jvmArgs, String... args) throws Exception {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
          "--sun-misc-unsafe-memory-access=allow"));
      // the test JVM's own vector and kernel flags (the narrow-width runs give -XX:UseAVX=2 or
      // -XX:MaxVectorSize=16; -Dvnrt.nativeKernels=false and -Dvnrt.vectorBits choose kernels): the daemon
      // must run the kernels this test's expectations are computed from
      ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
          .filter(a -> a.startsWith("-XX:UseAVX=") || a.startsWith("-XX:MaxVectorSize=")
              || a.startsWith("-Dvnrt.nativeKernels=") || a.startsWith("-Dvnrt.vectorBits="))
          .forEach(cmd::add);
      cmd.addAll(jvmArgs);
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "daemon"));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread.ofPlatform().daemon().start(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            lines.add(line);
          }
        } catch (java.io.IOException e) {
          lines.add("(output ended: " + e + ")");
        }
      });
      return new Daemon(p, lines, new ArrayList<>());
    }

    /** Reads lines until one matches; fails after {@code seconds} with everything seen. */
    Matcher await(Pattern pattern, int seconds) throws InterruptedException {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < until) {
        String line = lines.poll(100, TimeUnit.MILLISECONDS);
        if (line == null) {
          continue;
        }
        seen.add(line);
        Matcher m = pattern.matcher(line);
        if (m.find()) {
          return m;
        }
      }
      throw new AssertionError("no line matching " + pattern + " within " + seconds + " s; the daemon printed:\n"
          + String.join("\n", seen));
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void theStartupLinesSayWhatRunsAndTheKernelWarmupEndsLoggedAndReported() throws Exception {
    try (Daemon d = Daemon.start(List.of(), "--listen", "127.0.0.1:0", "--kernel-warmup", "8s", "--load-warmup-budget",
        "5s")) {
      String target = d.await(LISTENING, 60).group(1);
      d.await(Pattern.compile("^vectors: " + VectorShape.BITS + "-bit, " + VectorShape.FLOAT_LANES + " floats each"),
          10);
      d.await(Pattern.compile("^CPU features: "), 10);
      d.await(Pattern.compile("^GEMM: " + Pattern.quote(LinalgOps.gemmKernels()) + "$"), 10);
      d.await(Pattern.compile("^int8 GEMM: " + Pattern.quote(LinalgOps.int8GemmKernels()) + "$"), 10);
      d.await(Pattern.compile("^kernel warm-up: compiling the kernels in the background, at most 8 s"), 10);
      d.await(Pattern.compile("^load warm-up: 1 run on generated inputs by default, then until the run time settles,"
          + " at most 5 s more$"), 10);
      try (VnrtClient client = VnrtClient.connect(target)) {
        EngineInfo engine = client.runtimeInfo().getEngine();
        assertEquals(VectorShape.BITS, engine.getVectorBits());
        assertTrue(engine.getKernelWarmup().getState() == KernelWarmupInfo.State.STATE_RUNNING
            || ENDED.contains(engine.getKernelWarmup().getState()), engine.toString());
        // bounded by its budget: done, or stopped at the budget, and logged either way
        d.await(Pattern.compile("kernel warm-up (done|stopped at its time budget): \\d+ kernel-family models"), 60);
        KernelWarmupInfo after = client.runtimeInfo().getEngine().getKernelWarmup();
        assertTrue(ENDED.contains(after.getState()), after.toString());
        assertTrue(after.getElapsedMs() <= 8_000 + 2_000, "the budget bounds it: " + after);
        assertTrue(!after.getSummary().contains("could not run"), after.getSummary());
      }
    }
  }

  @Test
  void aVectorWidthThatIsNoneIsSaidAtStartupAndTheDaemonRunsWithItsOwn() throws Exception {
    try (Daemon d = Daemon.start(List.of("-Dvnrt.vectorBits=300"), "--listen", "127.0.0.1:0", "--kernel-warmup",
        "0s")) {
      d.await(LISTENING, 60);
      d.await(Pattern.compile("^vectors: " + VectorShape.JVM_PREFERRED_BITS + "-bit"), 10);
      d.await(Pattern.compile("^WARNING: -Dvnrt.vectorBits=300 is not a vector width \\(expected 128, 256 or 512\\)"),
          10);
      d.await(Pattern.compile("^kernel warm-up: off \\(--kernel-warmup 0s\\)"), 10);
    }
  }
}
