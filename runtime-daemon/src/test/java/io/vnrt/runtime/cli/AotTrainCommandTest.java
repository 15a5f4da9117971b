package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code vnrt aot-train}, the AOT cache's training workload: it runs the kernel warm-up and then
 * every warm-up model through a real gRPC server, and exits; and the daemon's start-up line about
 * the cache for each case bin/vnrt can give the JVM.
 */
class AotTrainCommandTest {
  private record Run(int exitCode, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void trainingRunsTheKernelWarmupThenLoadsAndExecutesEveryWarmupModelOverGrpc() {
    Run r = run("aot-train", "--budget", "1s", "--executions", "2");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("", r.err(), r.toString());
    assertTrue(r.out().startsWith("kernel warm-up "), r.out());
    for (String model : List.of("elementwise", "data-movement", "dense", "attention", "cnn", "wide")) {
      assertTrue(r.out().contains("\n" + model + ": loaded over gRPC, "), model + " missing: " + r.out());
    }
    assertTrue(r.out().contains("dense: loaded over gRPC, 2 executions"), r.out());
  }

  @Test
  void badBudgetsAndExecutionCountsAreUsageErrors() {
    Run zero = run("aot-train", "--budget", "0s");
    assertEquals(2, zero.exitCode(), zero.toString());
    assertTrue(zero.err().contains("--budget must be more than 0s and at most 10m, got 0s"), zero.err());
    Run garbage = run("aot-train", "--budget", "soon");
    assertEquals(2, garbage.exitCode(), garbage.toString());
    assertTrue(garbage.err().contains("--budget"), garbage.err());
    Run negative = run("aot-train", "--executions", "-1");
    assertEquals(2, negative.exitCode(), negative.toString());
    assertTrue(negative.err().contains("--executions must be at least 0, got -1"), negative.err());
  }

  @Test
  void theStartupLineSaysWhetherTheCacheIsInUse() {
    AotCacheLine.Line none = AotCacheLine.of(List.of("--add-modules=jdk.incubator.vector"), "mixed mode, sharing");
    assertFalse(none.warning());
    assertEquals("AOT cache: none", none.text());

    AotCacheLine.Line used = AotCacheLine.of(List.of("-XX:AOTMode=auto", "-XX:AOTCache=/opt/vnrt/vnrt.aot"),
        "mixed mode, sharing");
    assertFalse(used.warning());
    assertTrue(used.text().startsWith("AOT cache: /opt/vnrt/vnrt.aot (classes and kernel profiles"), used.text());
    AotCacheLine.Line classesOnly = AotCacheLine.of(List.of("-XX:AOTMode=auto", "-XX:AOTCache=/opt/vnrt/vnrt.aot",
        "-XX:+UnlockDiagnosticVMOptions", "-XX:-AOTReplayTraining"), "mixed mode, sharing");
    assertFalse(classesOnly.warning());
    assertTrue(classesOnly.text().contains("method profiles not replayed"), classesOnly.text());

    AotCacheLine.Line skipped = AotCacheLine.of(List.of("-XX:AOTCache=/tmp/old.aot"), "mixed mode");
    assertTrue(skipped.warning());
    assertTrue(skipped.text().startsWith("AOT cache /tmp/old.aot could not be used"), skipped.text());
    assertTrue(skipped.text().contains("bin/vnrt aot-cache"), skipped.text());
  }

  @Test
  void thisJvmStartedWithoutACacheSaysNone() {
    // surefire starts the test JVM without -XX:AOTCache
    AotCacheLine.Line line = AotCacheLine.current();
    assertFalse(line.warning(), line.text());
    assertTrue(line.text().startsWith("AOT cache: none"), line.text());
  }
}
