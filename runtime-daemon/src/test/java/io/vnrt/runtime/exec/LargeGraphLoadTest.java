package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.server.EmbeddedRuntime;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Loading scales with the graph: models of 100,000 nodes (LargeGraphs) load through the daemon's LoadModel path
 * (parse, validation, optimizer, planning, compile and the default one-run warm-up) and compute what their nodes
 * evaluated one by one compute. Loading took minutes while a pass was quadratic in nodes; the work a load does is
 * measured as the process's CPU time (not wall time, which a loaded machine stretches), and four times the nodes
 * must cost well under the sixteen times a quadratic pass would. The timeouts only stop a run that hangs; the
 * seconds a load takes are LoadBench's (bench/README.md).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LargeGraphLoadTest {
  static final float[] X = {-1.5f, -0.25f, 0f, 0.5f, 1f, 2f, -3f, 4f};

  EmbeddedRuntime embedded;
  Session session;

  @BeforeAll
  void start() throws Exception {
    // exactly one warm-up run: the figures are of the load's own work, not of the JIT settling
    embedded = EmbeddedRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())).withLoadWarmup(1, java.time.Duration.ZERO));
    session = embedded.client().openSession("large-graphs");
  }

  @AfterAll
  void stop() {
    session.close();
    embedded.close();
  }

  /** Loads, checks the output against the reference evaluation, and returns the model's description. */
  private ModelDescription loadAndCheck(String name, LargeGraphs.Generated g) {
    try (Model m = session.loadModel(g.model(), LoadOptions.defaults().withName(name))) {
      ModelDescription d = m.describe();
      assertEquals(1, d.warmupRuns(), name + ": the default warm-up ran, exactly once with no budget to settle");
      float[] y = m.execute(Map.of("x", HostTensor.ofFloats(new long[] {1, LargeGraphs.WIDTH}, X))).get("y").floats();
      assertArrayEquals(g.expected(X), y, 1e-4f, name + ": y after " + g.nodes() + " nodes");
      m.unload();
      return d;
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private long loadCpuNanos(String name, LargeGraphs.Generated g) {
    long before = processCpuNanos();
    loadAndCheck(name, g);
    return processCpuNanos() - before;
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aHundredThousandNodeChainLoadsRunsReusesItsBuffersAndScalesLinearly() {
    loadAndCheck("warm-up", LargeGraphs.chain(10_000)); // the JIT compiles the load path once, outside the figures
    long small = loadCpuNanos("chain25k", LargeGraphs.chain(25_000));
    LargeGraphs.Generated big = LargeGraphs.chain(100_000);
    long before = processCpuNanos();
    ModelDescription d = loadAndCheck("chain100k", big);
    long large = processCpuNanos() - before;
    double ratio = (double) large / small;
    System.out.printf("chain loads: 25,000 nodes %d ms CPU, 100,000 nodes %d ms CPU (x%.1f); load %d ms wall%n",
        small / 1_000_000, large / 1_000_000, ratio, d.loadTime().toMillis());
    assertTrue(ratio < 9, "4x the nodes took " + ratio + "x the CPU time to load (linear is 4, quadratic 16)");
    // [1, 8] floats: 64 bytes a buffer once aligned; a chain needs the one it reads and the one it writes
    assertTrue(d.scratchBytes() <= 1024, "a 100,000-node chain plans " + d.scratchBytes()
        + " bytes of scratch; without reuse it would be 6,400,000");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aHundredThousandNodeFanOutFanInGraphLoadsAndRuns() {
    LargeGraphs.Generated g = LargeGraphs.fanOutFanIn(100_000, 8, 16);
    ModelDescription d = loadAndCheck("fan100k", g);
    // a block's input lives for 16 blocks (the skip): 17 of them, the 8 products and 3 more at most at once
    assertTrue(d.scratchBytes() <= 64 * 40, "fan-out/fan-in graph plans " + d.scratchBytes() + " bytes of scratch");
    assertTrue(d.weightsBytes() >= 64L * 9 * (g.nodes() / 12), "one initializer per Mul and per block: "
        + d.weightsBytes() + " bytes of weights");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aHundredThousandNodeMatMulChainFusesLoadsAndRuns() {
    // every MatMul reads the same weight and every Add the same bias: 33,333 fusions share their consumers
    loadAndCheck("linear100k", LargeGraphs.linearChain(100_000));
  }
}
