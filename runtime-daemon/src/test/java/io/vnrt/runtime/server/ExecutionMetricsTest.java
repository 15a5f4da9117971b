package io.vnrt.runtime.server;

import static io.vnrt.runtime.metrics.PrometheusText.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.GetMetricsRequest;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.ModelMetrics;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.UnloadModelRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.metrics.MetricsHttpServer;
import io.vnrt.runtime.metrics.PrometheusText;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Real executions through the Execution service, counted by the metrics endpoint and the Monitor
 * service; and scrapes during a stream of executions do not hold them up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExecutionMetricsTest {
  VnrtRuntime runtime;
  DaemonServer server;
  MetricsHttpServer http;
  VnrtClient client;
  Transports.OwnedChannel raw;
  final HttpClient httpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  void start() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(64L << 20),
        Optional.empty());
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
    http = MetricsHttpServer.start(new InetSocketAddress("127.0.0.1", 0), runtime.metrics());
    client = VnrtClient.connect(server.targets().getFirst());
    raw = Transports.open(server.targets().getFirst());
  }

  @AfterAll
  void stop() {
    client.close();
    raw.shutdown();
    http.close();
    server.close();
    runtime.close();
  }

  Map<String, Double> scrape() throws Exception {
    HttpResponse<String> response = httpClient.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + http.address().getPort() + "/metrics")).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    return PrometheusText.parse(response.body());
  }

  ModelInfo load(Session session, String name) throws Exception {
    byte[] model = AbstractModelEndToEndTest.addModel();
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    StreamObserver<LoadModelRequest> up = ModelGrpc.newStub(raw.channel())
        .withInterceptors(AbstractModelEndToEndTest.withSession(session.id()))
        .loadModel(AbstractEndToEndTest.observer(result));
    AbstractModelEndToEndTest.messages(AbstractModelEndToEndTest.header(name, model.length).build(), model, 1 << 16)
        .forEach(up::onNext);
    up.onCompleted();
    return result.get(30, TimeUnit.SECONDS);
  }

  ExecutionGrpc.ExecutionBlockingStub exec(Session session) {
    return ExecutionGrpc.newBlockingStub(raw.channel())
        .withInterceptors(AbstractModelEndToEndTest.withSession(session.id()));
  }

  ExecuteResponse add(Session session, String modelId) {
    float[] x = AbstractModelEndToEndTest.ramp(16, 0);
    float[] y = AbstractModelEndToEndTest.ramp(16, 1);
    ExecuteResponse r = exec(session).withDeadlineAfter(30, TimeUnit.SECONDS)
        .execute(AbstractModelEndToEndTest.addRequest(modelId, x, y, 1));
    assertArrayEquals(AbstractModelEndToEndTest.sum(x, y),
        AbstractModelEndToEndTest.floats(r.getOutputs(0).getData()));
    return r;
  }

  @Test
  void kExecutionsAreKInTheCounterTheHistogramsAndTheMonitor() throws Exception {
    int k = 25;
    try (Session session = client.openSession("exec-metrics")) {
      ModelInfo info = load(session, "add-k");
      String id = info.getModelId();
      int core = info.getCores(0);
      String coreExecutions = key("vnrt_core_executions_total", "core", Integer.toString(core), "device", "0");
      Map<String, Double> before = scrape();
      assertEquals(1, before.get(key("vnrt_model_load_seconds_count", "model", "add-k", "model_id", id)));
      assertTrue(before.get("vnrt_models_loaded") >= 1);

      for (int i = 0; i < k; i++) {
        add(session, id);
      }
      // a bad input is refused before it runs: an INVALID_ARGUMENT call, not an execution
      StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> exec(session).execute(
          AbstractModelEndToEndTest.addRequest(id, new float[16], new float[32], 1)));
      assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());

      Map<String, Double> after = scrape();
      assertEquals(k, after.get(key("vnrt_executions_total", "model", "add-k", "model_id", id, "outcome", "ok")));
      assertEquals(0, after.get(key("vnrt_executions_total", "model", "add-k", "model_id", id, "outcome", "failed")));
      for (String timer : new String[] {"latency", "queue", "compute"}) {
        String count = key("vnrt_execution_" + timer + "_seconds_count", "model", "add-k", "model_id", id);
        assertEquals(k, after.get(count), count);
        assertEquals(k, after.get(key("vnrt_execution_" + timer + "_seconds_bucket", "model", "add-k", "model_id", id,
            "le", "+Inf")));
      }
      assertEquals(before.get(coreExecutions) + k, after.get(coreExecutions));
      assertTrue(after.get(key("vnrt_core_busy_seconds_total", "core", Integer.toString(core), "device", "0"))
          > before.get(key("vnrt_core_busy_seconds_total", "core", Integer.toString(core), "device", "0")));
      String okCalls = key("vnrt_grpc_calls_total", "code", "OK", "method", "vnrt.v1.Execution/Execute");
      assertEquals(before.getOrDefault(okCalls, 0.0) + k, after.get(okCalls));
      String invalidCalls = key("vnrt_grpc_calls_total", "code", "INVALID_ARGUMENT", "method",
          "vnrt.v1.Execution/Execute");
      assertEquals(before.getOrDefault(invalidCalls, 0.0) + 1, after.get(invalidCalls));

      MetricsSnapshot snapshot = MonitorGrpc.newBlockingStub(raw.channel())
          .getMetrics(GetMetricsRequest.getDefaultInstance());
      ModelMetrics model = snapshot.getModelsList().stream().filter(m -> m.getModelId().equals(id)).findFirst()
          .orElseThrow();
      assertEquals(k, model.getCompleted());
      assertEquals(info.getCoresList(), model.getCoreIdsList());
      assertTrue(model.getLatency().getP50Us() > 0 && model.getLatency().getP99Us() >= model.getLatency().getP50Us());
      assertTrue(model.getLoadMs() > 0);

      ModelGrpc.newBlockingStub(raw.channel()).withInterceptors(AbstractModelEndToEndTest.withSession(session.id()))
          .unloadModel(UnloadModelRequest.newBuilder().setModelId(id).build());
      Map<String, Double> unloaded = scrape();
      assertFalse(unloaded.keySet().stream().anyMatch(s -> s.contains(id)), "an unloaded model's series go");
      assertEquals(before.get("vnrt_models_loaded") - 1, unloaded.get("vnrt_models_loaded"));
    }
  }

  @Test
  void scrapingDuringExecutionsDoesNotStallThem() throws Exception {
    int runs = 400;
    try (Session session = client.openSession("scrape-load")) {
      String id = load(session, "add-load").getModelId();
      for (int i = 0; i < 50; i++) {
        add(session, id); // warm up
      }
      long[] quiet = timeExecutions(session, id, runs);

      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong scrapes = new AtomicLong();
      AtomicLong slowestScrapeNanos = new AtomicLong();
      ExecutorService scraper = Executors.newSingleThreadExecutor();
      Future<?> scraping = scraper.submit(() -> {
        while (!stop.get()) {
          long t0 = System.nanoTime();
          scrape();
          MonitorGrpc.newBlockingStub(raw.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
              .getMetrics(GetMetricsRequest.getDefaultInstance());
          slowestScrapeNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
          scrapes.incrementAndGet();
        }
        return null;
      });
      long[] loaded;
      try {
        loaded = timeExecutions(session, id, runs);
      } finally {
        stop.set(true);
        scraping.get(30, TimeUnit.SECONDS);
        scraper.shutdown();
      }
      long quietP99 = percentile(quiet, 0.99);
      long loadedP99 = percentile(loaded, 0.99);
      System.out.printf("execution p99: %d us quiet, %d us while scraping (%d scrapes, slowest %d ms): ratio %.2f%n",
          quietP99 / 1000, loadedP99 / 1000, scrapes.get(), slowestScrapeNanos.get() / 1_000_000,
          (double) loadedP99 / quietP99);
      assertTrue(scrapes.get() > 0, "the scraper ran");
      assertTrue(slowestScrapeNanos.get() < TimeUnit.SECONDS.toNanos(5), "every scrape finished within 5 s");
      // generous: two cores shared with other work; a stall behind a lock would be far beyond this
      assertTrue(loadedP99 < Math.max(10 * quietP99, quietP99 + TimeUnit.MILLISECONDS.toNanos(50)),
          "p99 " + loadedP99 / 1000 + " us while scraping vs " + quietP99 / 1000 + " us without");
    }
  }

  private long[] timeExecutions(Session session, String id, int runs) {
    long[] nanos = new long[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      add(session, id);
      nanos[i] = System.nanoTime() - t0;
    }
    return nanos;
  }

  private static long percentile(long[] values, double q) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }
}
