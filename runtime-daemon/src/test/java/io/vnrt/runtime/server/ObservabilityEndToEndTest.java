package io.vnrt.runtime.server;

import static io.vnrt.runtime.metrics.PrometheusText.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.DeviceMemoryUsage;
import io.vnrt.proto.v1.GetMetricsRequest;
import io.vnrt.proto.v1.GetTensorRequest;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.ModelMetrics;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.WatchMetricsRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.cli.Main;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.logging.LogFormat;
import io.vnrt.runtime.logging.LogSettings;
import io.vnrt.runtime.metrics.ExecutionOutcome;
import io.vnrt.runtime.metrics.MetricsHttpServer;
import io.vnrt.runtime.metrics.PrometheusText;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.event.Level;

/**
 * Metrics, the Monitor service, vnrt monitor / top and request-id logging against a real daemon
 * over TCP: the numbers reported match what the test did.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityEndToEndTest {
  static final long HBM_BYTES = 64L << 20;

  VnrtRuntime runtime;
  DaemonServer server;
  MetricsHttpServer http;
  String target;
  VnrtClient client;
  Transports.OwnedChannel raw;
  final HttpClient httpClient = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(HBM_BYTES),
        Optional.empty());
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
    http = MetricsHttpServer.start(new InetSocketAddress("127.0.0.1", 0), runtime.metrics());
    target = server.targets().getFirst();
    client = VnrtClient.connect(target);
    raw = Transports.open(target);
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
    HttpResponse<String> response = get("/metrics");
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain; version=0.0.4"));
    return PrometheusText.parse(response.body());
  }

  HttpResponse<String> get(String path) throws Exception {
    return httpClient.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.address().getPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static long aligned(long bytes) {
    return (bytes + 63) / 64 * 64;
  }

  static double value(Map<String, Double> samples, String key) {
    return samples.getOrDefault(key, 0.0);
  }

  @Test
  void scrapeCountsTensorBytesSessionsAndCallsByStatus() throws Exception {
    String tensors = key("vnrt_hbm_used_bytes", "category", "tensors", "device", "0");
    String allocateOk = key("vnrt_grpc_calls_total", "code", "OK", "method", "vnrt.v1.Memory/AllocateTensor");
    Map<String, Double> before = scrape();
    assertEquals(HBM_BYTES, value(before, key("vnrt_hbm_capacity_bytes", "device", "0")));

    long[] sizes = {4 * 1000, 4 * 256 * 256, 100};
    long expected = 0;
    try (Session session = client.openSession("metrics-test")) {
      List<DeviceTensor> held = new ArrayList<>();
      held.add(session.allocate(TensorSpec.of(DType.FLOAT32, 1000), 0));
      held.add(session.allocate(TensorSpec.of(DType.FLOAT32, 256, 256), 0));
      held.add(session.allocate(TensorSpec.raw(100), 0));
      for (long s : sizes) {
        expected += aligned(s);
      }
      Map<String, Double> during = scrape();
      assertEquals(value(before, tensors) + expected, value(during, tensors));
      assertEquals(value(before, "vnrt_sessions_open") + 1, value(during, "vnrt_sessions_open"));
      assertEquals(value(before, allocateOk) + 3, value(during, allocateOk));
      assertEquals(0, value(during, key("vnrt_hbm_used_bytes", "category", "weights", "device", "0")));
      assertEquals(runtime.devices().device(0).pool().stats().peakUsedBytes(),
          value(during, key("vnrt_hbm_peak_used_bytes", "device", "0")));
      assertTrue(value(during, key("vnrt_hbm_peak_used_bytes", "device", "0")) >= value(during, tensors));

      held.getFirst().close();
      assertEquals(value(before, tensors) + expected - aligned(sizes[0]), value(scrape(), tensors));
    }
    // a call without a session is refused; the refusal is counted under its status
    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
        () -> MemoryGrpc.newBlockingStub(raw.channel()).getTensor(GetTensorRequest.getDefaultInstance()));
    Map<String, Double> after = scrape();
    assertEquals(value(before, tensors), value(after, tensors), "closing the session freed every tensor");
    assertEquals(value(before, "vnrt_sessions_open"), value(after, "vnrt_sessions_open"));
    String refusedKey = key("vnrt_grpc_calls_total", "code", refused.getStatus().getCode().name(), "method",
        "vnrt.v1.Memory/GetTensor");
    assertEquals(value(before, refusedKey) + 1, value(after, refusedKey));
  }

  @Test
  void endpointRefusesOtherPathsAndMethods() throws Exception {
    assertEquals(404, get("/").statusCode());
    HttpResponse<String> post = httpClient.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + http.address().getPort() + "/metrics"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, post.statusCode());
    assertTrue(post.body().contains("use GET"), post.body());
    assertEquals(200, get("/metrics").statusCode());
  }

  @Test
  void getMetricsReportsMemoryModelsAndExecutions() throws Exception {
    runtime.metrics().modelLoaded("get-m", "get-model", List.of(0, 1), 3_000_000);
    try (Session session = client.openSession("monitor-test")) {
      session.allocate(TensorSpec.raw(1 << 20), 0);
      for (int i = 0; i < 20; i++) {
        runtime.metrics().executionCompleted("get-m", ExecutionOutcome.OK, 20_000, 180_000);
        runtime.metrics().coreGroupRan(List.of(0, 1), 180_000);
      }
      runtime.metrics().coreGroupRan(List.of(0, 1), 10_000);
      runtime.metrics().executionCompleted("get-m", ExecutionOutcome.FAILED, 0, 10_000);
      MetricsSnapshot snapshot = MonitorGrpc.newBlockingStub(raw.channel())
          .getMetrics(GetMetricsRequest.getDefaultInstance());
      assertTrue(snapshot.getSessions() >= 1);
      DeviceMemoryUsage device = snapshot.getMemory(0);
      assertEquals(HBM_BYTES, device.getCapacityBytes());
      assertEquals(runtime.devices().device(0).pool().stats().byCategory().values().stream()
          .mapToLong(Long::longValue).sum(), device.getUsedBytes());
      assertTrue(device.getUsedBytesByCategoryOrThrow("tensors") >= 1 << 20);
      ModelMetrics model = snapshot.getModelsList().stream().filter(m -> m.getModelId().equals("get-m"))
          .findFirst().orElseThrow();
      assertEquals(20, model.getCompleted());
      assertEquals(1, model.getFailed());
      assertEquals(List.of(0, 1), model.getCoreIdsList());
      assertEquals(3.0, model.getLoadMs(), 1e-9);
      assertEquals(200, model.getLatency().getP50Us(), 200 * 0.15);
      assertEquals(180, model.getCompute().getP99Us(), 180 * 0.15);
      assertEquals(20, model.getQueue().getP90Us(), 20 * 0.15);
      assertEquals(2, snapshot.getCoresCount());
      assertTrue(snapshot.getCores(0).getExecutions() >= 21);
    } finally {
      runtime.metrics().modelUnloaded("get-m");
    }
  }

  @Test
  void watchMetricsReportsEachPeriodAndEndsOnCancellation() throws Exception {
    StatusRuntimeException invalid = assertThrows(StatusRuntimeException.class, () ->
        MonitorGrpc.newBlockingStub(raw.channel()).watchMetrics(WatchMetricsRequest.newBuilder().setPeriodMs(5)
            .build()).hasNext());
    assertEquals(Status.Code.INVALID_ARGUMENT, invalid.getStatus().getCode());
    assertTrue(invalid.getStatus().getDescription().contains("100..3600000"), invalid.getStatus().getDescription());

    String cancelled = key("vnrt_grpc_calls_total", "code", "CANCELLED", "method", "vnrt.v1.Monitor/WatchMetrics");
    double cancelledBefore = value(scrape(), cancelled);
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<MetricsSnapshot> stream = MonitorGrpc.newBlockingStub(raw.channel())
          .watchMetrics(WatchMetricsRequest.newBuilder().setPeriodMs(100).build());
      MetricsSnapshot first = stream.next();
      assertTrue(first.getPeriodMs() >= 90, "period " + first.getPeriodMs());
      assertTrue(first.getErrorsMap().isEmpty() || !first.getErrorsMap().containsKey("ALREADY_EXISTS"));
      // an error during the stream shows in a later period's summary, once
      assertThrows(StatusRuntimeException.class,
          () -> MemoryGrpc.newBlockingStub(raw.channel()).getTensor(GetTensorRequest.getDefaultInstance()));
      long seen = 0;
      for (int i = 0; i < 20 && seen == 0; i++) {
        seen = stream.next().getErrorsMap().values().stream().mapToLong(Long::longValue).sum();
      }
      assertEquals(1, seen);
    } finally {
      context.detach(previous);
      context.cancel(null);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (value(scrape(), cancelled) < cancelledBefore + 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(cancelledBefore + 1, value(scrape(), cancelled), "the daemon saw the stream end");
  }

  @Test
  void monitorCommandPrintsOneJsonReportPerPeriod() throws Exception {
    try (Session session = client.openSession("monitor-cli")) {
      session.allocate(TensorSpec.raw(3 << 20), 0);
      long tensorBytes = runtime.devices().device(0).pool().stats().byCategory()
          .get(io.vnrt.runtime.memory.MemoryCategory.TENSORS);
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int status = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
          .execute("monitor", "--target", target, "--period-ms", "100", "--count", "3");
      assertEquals(0, status, err.toString());
      String[] lines = out.toString().strip().split("\n");
      assertEquals(3, lines.length, out.toString());
      for (String line : lines) {
        MetricsSnapshot.Builder report = MetricsSnapshot.newBuilder();
        JsonFormat.parser().merge(line, report);
        assertTrue(report.getPeriodMs() >= 90, line);
        assertEquals(2, report.getCoresCount(), line);
        assertEquals(tensorBytes, report.getMemory(0).getUsedBytesByCategoryOrThrow("tensors"), line);
        assertEquals(HBM_BYTES, report.getMemory(0).getCapacityBytes());
        assertTrue(report.getSessions() >= 1);
      }
      assertTrue(lines[0].contains("\"usedBytesByCategory\""), lines[0]);

      StringWriter frame = new StringWriter();
      assertEquals(0, Main.commandLine().setOut(new PrintWriter(frame))
          .execute("top", "--once", "--target", target));
      assertTrue(frame.toString().contains("CORES") && frame.toString().contains("nc0")
          && frame.toString().contains("MEMORY") && frame.toString().contains("MODELS"), frame.toString());
      assertFalse(frame.toString().contains("\033["), "no escape codes without a terminal");
    }
  }

  @Test
  void jsonLogLinesCarryTheRequestId() throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream before = LogSettings.redirect(new PrintStream(captured, true, StandardCharsets.UTF_8));
    LogSettings.configure(LogFormat.JSON, Level.DEBUG);
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    try {
      Metadata headers = new Metadata();
      headers.put(RequestIdInterceptor.HEADER, "req-42");
      Channel tagged = ClientInterceptors.intercept(raw.channel(),
          MetadataUtils.newAttachHeadersInterceptor(headers),
          MetadataUtils.newCaptureMetadataInterceptor(new AtomicReference<>(), trailers));
      assertThrows(StatusRuntimeException.class,
          () -> MemoryGrpc.newBlockingStub(tagged).getTensor(GetTensorRequest.getDefaultInstance()));
      try (Session ignored = client.openSession("logging-test")) {
        assertTrue(ignored.id().length() > 0);
      }
    } finally {
      LogSettings.configure(LogFormat.TEXT, Level.INFO);
      LogSettings.redirect(before);
    }
    assertEquals("req-42", trailers.get().get(RequestIdInterceptor.HEADER), "the id comes back to the client");

    List<JsonObject> lines = new ArrayList<>();
    for (String line : captured.toString(StandardCharsets.UTF_8).split("\n")) {
      if (!line.isBlank()) {
        lines.add(JsonParser.parseString(line).getAsJsonObject());
      }
    }
    JsonObject refusal = lines.stream()
        .filter(l -> l.get("msg").getAsString().startsWith("vnrt.v1.Memory/GetTensor")).findFirst().orElseThrow();
    assertEquals("req-42", refusal.get("request_id").getAsString());
    assertEquals("INFO", refusal.get("level").getAsString());
    for (String field : List.of("ts", "logger", "thread")) {
      assertTrue(refusal.has(field), field);
    }
    // the session opened without a client id: one generated id on every line of that call
    JsonObject opened = lines.stream().filter(l -> l.get("msg").getAsString().contains("opened, lease"))
        .findFirst().orElseThrow();
    String generated = opened.get("request_id").getAsString();
    assertTrue(generated.matches("[0-9a-f]{16}"), generated);
    assertTrue(lines.stream().anyMatch(l -> l.get("msg").getAsString().startsWith("vnrt.v1.Runtime/OpenSession OK")
        && generated.equals(l.get("request_id").getAsString())), lines.toString());
  }
}
