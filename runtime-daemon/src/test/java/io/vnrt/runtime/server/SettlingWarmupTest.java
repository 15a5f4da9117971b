package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.runtime.RuntimeConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A daemon whose default load warm-up has a budget: it settles the run time, and stays best effort. */
class SettlingWarmupTest {
  private static RuntimeConfig withBudget() {
    return RuntimeConfig.defaults().withLoadWarmup(1, Duration.ofSeconds(30));
  }

  @Test
  void aDefaultLoadRunsUntilTheRunTimeSettlesAndCountsEveryRun() throws Exception {
    try (EmbeddedRuntime embedded = EmbeddedRuntime.start(withBudget());
        Session session = embedded.client().openSession("settling")) {
      byte[] m = AbstractModelEndToEndTest.matMulModel();
      try (Model model = session.loadModel(m, LoadOptions.defaults().withWarmup(0, Duration.ZERO, Map.of("batch", 3L)))) {
        ModelDescription d = model.describe();
        // the plan-compiling run, the first compared one, then 5 runs without a 10% gain at the least
        assertTrue(d.warmupRuns() >= 7, "ran on past its one run until it settled: " + d.warmupRuns());
        assertTrue(d.warmupTime().compareTo(Duration.ofMillis(250)) >= 0, "settling waits 250 ms at least: "
            + d.warmupTime());
        assertTrue(d.warmupTime().compareTo(Duration.ofSeconds(30)) < 0, "a tiny model settles long before the "
            + "30 s budget: " + d.warmupTime());
        assertEquals("", d.warmupNote());
      }
      try (Model skipped = session.loadModel(m, LoadOptions.defaults().withName("none").withoutWarmup())) {
        assertEquals(0, skipped.describe().warmupRuns(), "skip_warmup still runs nothing");
      }
      try (Model explicit = session.loadModel(m, LoadOptions.defaults().withName("three")
          .withWarmup(3, Duration.ZERO, Map.of()))) {
        assertEquals(3, explicit.describe().warmupRuns(), "an explicit warm-up runs what it asks for, no settling");
      }
    }
  }

  @Test
  void aModelTheSettlingWarmUpCannotRunStillLoads() throws Exception {
    try (EmbeddedRuntime embedded = EmbeddedRuntime.start(withBudget());
        Session session = embedded.client().openSession("settling")) {
      try (Model model = session.loadModel(AbstractModelEndToEndTest.evenReshapeModel(), LoadOptions.defaults())) {
        ModelDescription d = model.describe();
        assertEquals(0, d.warmupRuns());
        assertTrue(d.warmupNote().contains("the default warm-up could not run the model on generated inputs"),
            d.warmupNote());
      }
    }
  }
}
