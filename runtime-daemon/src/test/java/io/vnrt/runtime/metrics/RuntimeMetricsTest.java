package io.vnrt.runtime.metrics;

import static io.vnrt.runtime.metrics.PrometheusText.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.session.FakeTicker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The meters against what was reported to them, with a clock the test moves. */
class RuntimeMetricsTest {
  private final FakeTicker ticker = new FakeTicker();
  private VnrtRuntime runtime;
  private RuntimeMetrics metrics;

  @BeforeEach
  void start() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(16L << 20),
        Optional.empty());
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology)
        .withClock(ticker, Duration.ofSeconds(1)));
    metrics = runtime.metrics();
  }

  @AfterEach
  void stop() {
    runtime.close();
  }

  @Test
  void executionsCountedByOutcomeAndTimedWhenSuccessful() {
    metrics.modelLoaded("m1", "mlp", List.of(0, 1), 2_000_000);
    for (int i = 0; i < 7; i++) {
      metrics.executionCompleted("m1", ExecutionOutcome.OK, 10_000, 90_000);
      metrics.coreGroupRan(List.of(0, 1), 90_000);
    }
    metrics.executionCompleted("m1", ExecutionOutcome.FAILED, 5_000, 1_000);
    metrics.coreGroupRan(List.of(0, 1), 1_000);
    metrics.executionCompleted("m1", ExecutionOutcome.REJECTED, 0, 0);
    metrics.executionCompleted("unknown", ExecutionOutcome.OK, 1, 1);

    Map<String, Double> s = PrometheusText.parse(metrics.scrape());
    assertEquals(7, s.get(key("vnrt_executions_total", "model", "mlp", "model_id", "m1", "outcome", "ok")));
    assertEquals(1, s.get(key("vnrt_executions_total", "model", "mlp", "model_id", "m1", "outcome", "failed")));
    assertEquals(1, s.get(key("vnrt_executions_total", "model", "mlp", "model_id", "m1", "outcome", "rejected")));
    assertEquals(7, s.get(key("vnrt_execution_latency_seconds_count", "model", "mlp", "model_id", "m1")));
    assertEquals(7 * 100e-6, s.get(key("vnrt_execution_latency_seconds_sum", "model", "mlp", "model_id", "m1")),
        1e-9);
    assertEquals(7, s.get(key("vnrt_execution_compute_seconds_count", "model", "mlp", "model_id", "m1")));
    // a bucket boundary at or above 100 us holds all seven, one well below holds none
    assertEquals(7, s.get(key("vnrt_execution_latency_seconds_bucket", "model", "mlp", "model_id", "m1", "le",
        "+Inf")));
    assertEquals(0.002, s.get(key("vnrt_model_load_seconds_sum", "model", "mlp", "model_id", "m1")), 1e-9);
    assertEquals(1, s.get("vnrt_models_loaded"));
    // both cores busy for 8 runs (7 ok at 90 us, 1 failed at 1 us); the rejected one never ran
    assertEquals(7 * 90e-6 + 1e-6, s.get(key("vnrt_core_busy_seconds_total", "core", "0", "device", "0")), 1e-12);
    assertEquals(8, s.get(key("vnrt_core_executions_total", "core", "1", "device", "0")));

    metrics.modelUnloaded("m1");
    Map<String, Double> after = PrometheusText.parse(metrics.scrape());
    assertEquals(0, after.get("vnrt_models_loaded"));
    assertTrue(after.keySet().stream().noneMatch(k -> k.contains("model_id=\"m1\"")), after.keySet().toString());
  }

  @Test
  void utilizationIsBusyTimeOverTheLastFullWindow() {
    metrics.modelLoaded("m1", "mlp", List.of(1), 1);
    String core1 = key("vnrt_core_utilization_ratio", "core", "1", "device", "0");
    metrics.coreGroupRan(List.of(1), 2_500_000_000L);
    assertEquals(0, PrometheusText.parse(metrics.scrape()).get(core1), "the first window has not closed");
    ticker.advance(RuntimeMetrics.UTILIZATION_WINDOW);
    assertEquals(0.25, PrometheusText.parse(metrics.scrape()).get(core1), 1e-9);
    assertEquals(0.25, PrometheusText.parse(metrics.scrape()).get(core1), 1e-9, "held until the next window");
    ticker.advance(RuntimeMetrics.UTILIZATION_WINDOW);
    assertEquals(0, PrometheusText.parse(metrics.scrape()).get(core1), 1e-9, "idle window");
    assertEquals(0, PrometheusText.parse(metrics.scrape()).get(key("vnrt_core_utilization_ratio", "core", "0",
        "device", "0")), 1e-9);
  }

  @Test
  void callsCountedByMethodAndCodeAndErrorsSummedByCode() {
    metrics.callCompleted("vnrt.v1.Memory/FreeTensor", "OK");
    metrics.callCompleted("vnrt.v1.Memory/FreeTensor", "NOT_FOUND");
    metrics.callCompleted("vnrt.v1.Memory/GetTensor", "NOT_FOUND");
    Map<String, Double> s = PrometheusText.parse(metrics.scrape());
    assertEquals(1, s.get(key("vnrt_grpc_calls_total", "code", "NOT_FOUND", "method", "vnrt.v1.Memory/FreeTensor")));
    assertEquals(1, s.get(key("vnrt_grpc_calls_total", "code", "OK", "method", "vnrt.v1.Memory/FreeTensor")));
    assertEquals(Map.of("NOT_FOUND", 2L), metrics.sample().errorsByCode());
  }

  @Test
  void percentilesInterpolatedWithinBucketsOfAPeriod() {
    metrics.modelLoaded("m1", "mlp", List.of(0), 1);
    for (int i = 1; i <= 100; i++) {
      metrics.executionCompleted("m1", ExecutionOutcome.OK, 0, i * 10_000L); // 10 us .. 1 ms
    }
    LatencyHistogram first = metrics.sample().models().getFirst().compute();
    assertEquals(100, first.count());
    assertEquals(500_000, first.quantileNanos(0.5), 500_000 * 0.15);
    assertEquals(990_000, first.quantileNanos(0.99), 990_000 * 0.15);
    for (int i = 0; i < 50; i++) {
      metrics.executionCompleted("m1", ExecutionOutcome.OK, 0, 5_000_000L);
    }
    LatencyHistogram period = metrics.sample().models().getFirst().compute().since(first);
    assertEquals(50, period.count());
    assertEquals(5_000_000, period.quantileNanos(0.5), 5_000_000 * 0.15, "only the period's executions count");
    assertEquals(0, LatencyHistogram.EMPTY.quantileNanos(0.99));
  }
}
