package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * KServe v2's REST binding through the real daemon (--http-listen) with the JDK's HttpClient, and
 * curl where it is installed (CI installs it): health, metadata, configuration, infer with JSON
 * tensors and with Triton's binary extension, repository load and unload, statistics, shared
 * memory, trace and log settings; and bad requests (malformed JSON, a Content-Length the body does
 * not keep, unknown models, a body over the message limit, BYTES tensors), each a clear 4xx with
 * {"error": ...} while the daemon serves on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestEndToEndTest {
  static final long LIMIT = 4L << 20;

  VnrtRuntime runtime;
  DaemonServer server;
  HttpClient http;
  String base;
  Path repository;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    repository = dir;
    Files.createDirectories(dir.resolve("dense/1"));
    Files.write(dir.resolve("dense/1/model.onnx"), TestModels.dense());
    Files.createDirectories(dir.resolve("inc/2"));
    Files.write(dir.resolve("inc/2/model.onnx"), TestModels.increment());
    Files.writeString(dir.resolve("inc/config.pbtxt"), "name: \"inc\"\nmax_batch_size: 0\n"
        + "input [ { name: \"i\" data_type: TYPE_INT64 dims: [ -1 ] } ]\n");
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        Optional.empty(), Optional.empty()).withHttp(new InetSocketAddress("127.0.0.1", 0)), Security.NONE,
        new DaemonServer.Options(Optional.of(dir), Duration.ZERO, LIMIT).withHttpReadTimeout(Duration.ofMillis(500)));
    base = "http://127.0.0.1:" + server.httpAddress().orElseThrow().getPort();
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    assertEquals(200, post("/v2/repository/models/dense/load", "").statusCode());
    assertEquals(200, post("/v2/repository/models/inc/load", "").statusCode());
  }

  @AfterAll
  void stop() {
    http.close();
    server.close();
    runtime.close();
  }

  HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
    return http.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpResponse<byte[]> get(String path) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  HttpResponse<byte[]> post(String path, String json) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  static Struct object(HttpResponse<byte[]> r) throws Exception {
    Struct.Builder b = Struct.newBuilder();
    JsonFormat.parser().merge(new String(r.body(), StandardCharsets.UTF_8), b);
    return b.build();
  }

  static ListValue array(HttpResponse<byte[]> r) throws Exception {
    Value.Builder b = Value.newBuilder();
    JsonFormat.parser().merge(new String(r.body(), StandardCharsets.UTF_8), b);
    return b.getListValue();
  }

  /** Asserts a KServe error: the status, {"error": ...} holding {@code fragment}; returns the message. */
  static String error(HttpResponse<byte[]> r, int status, String fragment) throws Exception {
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertEquals(status, r.statusCode(), body);
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), body);
    String message = object(r).getFieldsOrThrow("error").getStringValue();
    assertTrue(message.contains(fragment), "expected '" + fragment + "' in: " + message);
    return message;
  }

  /** The daemon still answers: health and a real inference. */
  void stillServing() throws Exception {
    assertEquals(200, get("/v2/health/ready").statusCode());
    assertEquals(200, post("/v2/models/dense/infer", denseJson(1)).statusCode());
  }

  static float[] rows(int n) {
    float[] x = new float[n * 4];
    for (int i = 0; i < x.length; i++) {
      x[i] = (i % 5) - 1.5f;
    }
    return x;
  }

  static String denseJson(int n) {
    StringBuilder data = new StringBuilder();
    for (float v : rows(n)) {
      data.append(data.isEmpty() ? "" : ",").append(v);
    }
    return "{\"id\":\"r" + n + "\",\"inputs\":[{\"name\":\"x\",\"shape\":[" + n + ",4],\"datatype\":\"FP32\","
        + "\"data\":[" + data + "]}]}";
  }

  @Test
  void healthAndMetadata() throws Exception {
    assertEquals(200, get("/v2/health/live").statusCode());
    assertEquals(200, get("/v2/health/ready").statusCode());
    Struct meta = object(get("/v2"));
    assertEquals("vnrt", meta.getFieldsOrThrow("name").getStringValue());
    assertTrue(meta.getFieldsOrThrow("extensions").getListValue().getValuesList().stream()
        .anyMatch(v -> v.getStringValue().equals("binary_tensor_data")));
    Struct model = object(get("/v2/models/dense"));
    assertEquals("dense", model.getFieldsOrThrow("name").getStringValue());
    Struct x = model.getFieldsOrThrow("inputs").getListValue().getValues(0).getStructValue();
    assertEquals("FP32", x.getFieldsOrThrow("datatype").getStringValue());
    assertEquals(List.of(-1.0, 4.0), x.getFieldsOrThrow("shape").getListValue().getValuesList().stream()
        .map(Value::getNumberValue).toList());
    assertEquals(200, get("/v2/models/dense/ready").statusCode());
    assertEquals(200, get("/v2/models/inc/versions/2/ready").statusCode());
    assertEquals(400, get("/v2/models/inc/versions/3/ready").statusCode());
    Struct config = object(get("/v2/models/dense/config"));
    assertEquals(4.0, config.getFieldsOrThrow("max_batch_size").getNumberValue());
    assertEquals("onnxruntime_onnx", config.getFieldsOrThrow("platform").getStringValue());
    Struct inc = object(get("/v2/models/inc/versions/2/config"));
    assertEquals("TYPE_INT64", inc.getFieldsOrThrow("input").getListValue().getValues(0).getStructValue()
        .getFieldsOrThrow("data_type").getStringValue());
  }

  @Test
  void inferWithJsonTensors() throws Exception {
    HttpResponse<byte[]> r = post("/v2/models/dense/infer", denseJson(2));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    Struct out = object(r);
    assertEquals("r2", out.getFieldsOrThrow("id").getStringValue());
    Struct y = out.getFieldsOrThrow("outputs").getListValue().getValues(0).getStructValue();
    assertEquals("y", y.getFieldsOrThrow("name").getStringValue());
    float[] expected = TestModels.denseReference(rows(2), 2)[0];
    List<Value> data = y.getFieldsOrThrow("data").getListValue().getValuesList();
    assertEquals(expected.length, data.size());
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], data.get(i).getNumberValue(), 1e-5);
    }
    // int64 and nested data, as KServe allows
    HttpResponse<byte[]> j = post("/v2/models/inc/infer", "{\"inputs\":[{\"name\":\"i\",\"shape\":[3],"
        + "\"datatype\":\"INT64\",\"data\":[[1],[9007199254740993],[-5]]}]}");
    assertEquals(200, j.statusCode(), new String(j.body(), StandardCharsets.UTF_8));
    String body = new String(j.body(), StandardCharsets.UTF_8);
    assertTrue(body.contains("\"data\":[2,9007199254740994,-4]"), "int64 exact beyond 2^53: " + body);
  }

  @Test
  void inferWithTheBinaryExtension() throws Exception {
    String header = "{\"inputs\":[{\"name\":\"x\",\"shape\":[3,4],\"datatype\":\"FP32\",\"parameters\":"
        + "{\"binary_data_size\":48}}],\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}},"
        + "{\"name\":\"xw\",\"parameters\":{\"binary_data\":false}}]}";
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer body = ByteBuffer.allocate(json.length + 48).order(ByteOrder.LITTLE_ENDIAN);
    body.put(json);
    for (float v : rows(3)) {
      body.putFloat(v);
    }
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(URI.create(base + "/v2/models/dense/infer"))
        .header("Inference-Header-Content-Length", String.valueOf(json.length))
        .header("Content-Type", "application/octet-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.array())));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    int headerLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    String responseJson = new String(r.body(), 0, headerLength, StandardCharsets.UTF_8);
    Struct.Builder parsed = Struct.newBuilder();
    JsonFormat.parser().merge(responseJson, parsed);
    Struct out = parsed.build();
    Struct y = out.getFieldsOrThrow("outputs").getListValue().getValues(0).getStructValue();
    assertEquals(36.0, y.getFieldsOrThrow("parameters").getStructValue().getFieldsOrThrow("binary_data_size")
        .getNumberValue());
    Struct xw = out.getFieldsOrThrow("outputs").getListValue().getValues(1).getStructValue();
    assertTrue(xw.containsFields("data"), "xw asked for JSON data");
    assertEquals(headerLength + 36, r.body().length);
    ByteBuffer yBytes = ByteBuffer.wrap(r.body(), headerLength, 36).order(ByteOrder.LITTLE_ENDIAN);
    float[] expected = TestModels.denseReference(rows(3), 3)[0];
    for (float v : expected) {
      assertEquals(v, yBytes.getFloat(), 1e-5f);
    }
  }

  @Test
  void repositoryLoadUnloadAndIndex() throws Exception {
    String model = Base64.getEncoder().encodeToString(TestModels.dense());
    HttpResponse<byte[]> load = post("/v2/repository/models/posted/load", "{\"parameters\":{\"config\":"
        + "\"{\\\"max_batch_size\\\": 2}\",\"file:5/model.onnx\":\"" + model + "\"}}");
    assertEquals(200, load.statusCode(), new String(load.body(), StandardCharsets.UTF_8));
    ListValue index = array(post("/v2/repository/index", "{\"ready\":true}"));
    assertTrue(index.getValuesList().stream().map(Value::getStructValue).anyMatch(m ->
        m.getFieldsOrThrow("name").getStringValue().equals("posted")
            && m.getFieldsOrThrow("version").getStringValue().equals("5")), index.toString());
    error(post("/v2/models/posted/infer", denseJson(3)), 400, "inference request batch-size must be <= 2");
    assertEquals(200, post("/v2/repository/models/posted/unload", "").statusCode());
    error(get("/v2/models/posted"), 404, "Request for unknown model: 'posted' is not found");
    error(post("/v2/repository/models/posted/load", "{\"parameters\":{\"config\":\"{oops\"}}"), 400,
        "Invalid config override: ");
  }

  @Test
  void statisticsCountWhatRan() throws Exception {
    Struct before = object(get("/v2/models/inc/stats")).getFieldsOrThrow("model_stats").getListValue().getValues(0)
        .getStructValue();
    double success = before.getFieldsOrThrow("inference_stats").getStructValue().getFieldsOrThrow("success")
        .getStructValue().getFieldsOrThrow("count").getNumberValue();
    for (int i = 0; i < 3; i++) {
      assertEquals(200, post("/v2/models/inc/infer", "{\"inputs\":[{\"name\":\"i\",\"shape\":[2],\"datatype\":"
          + "\"INT64\",\"data\":[1,2]}]}").statusCode());
    }
    Struct after = object(get("/v2/models/inc/versions/2/stats")).getFieldsOrThrow("model_stats").getListValue()
        .getValues(0).getStructValue();
    assertEquals("2", after.getFieldsOrThrow("version").getStringValue());
    assertEquals(success + 3, after.getFieldsOrThrow("inference_stats").getStructValue().getFieldsOrThrow("success")
        .getStructValue().getFieldsOrThrow("count").getNumberValue());
    assertTrue(object(get("/v2/models/stats")).getFieldsOrThrow("model_stats").getListValue().getValuesCount() >= 2);
  }

  @Test
  void sharedMemoryEndpoints() throws Exception {
    assertEquals(200, post("/v2/cudasharedmemory/unregister", "").statusCode());
    assertEquals(0, array(get("/v2/cudasharedmemory/status")).getValuesCount());
    error(post("/v2/cudasharedmemory/region/g/register", "{\"raw_handle\":{\"b64\":\"AA==\"},\"device_id\":0,"
        + "\"byte_size\":16}"), 400, "no CUDA device");
    String key = "vnrt-rest-test-" + ProcessHandle.current().pid();
    Path file = Path.of("/dev/shm", key);
    Files.write(file, new byte[4096]);
    try {
      assertEquals(200, post("/v2/systemsharedmemory/region/in/register", "{\"key\":\"/" + key + "\",\"offset\":0,"
          + "\"byte_size\":4096}").statusCode());
      ListValue status = array(get("/v2/systemsharedmemory/status"));
      assertEquals("in", status.getValues(0).getStructValue().getFieldsOrThrow("name").getStringValue());
      assertEquals(4096.0, status.getValues(0).getStructValue().getFieldsOrThrow("byte_size").getNumberValue());
      // another client (its own connection) neither sees the region nor unregisters it
      try (HttpClient other = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
        HttpRequest.Builder list = HttpRequest.newBuilder(URI.create(base + "/v2/systemsharedmemory/status"));
        assertEquals("[]", new String(other.send(list.build(), HttpResponse.BodyHandlers.ofByteArray()).body(),
            StandardCharsets.UTF_8).replace(" ", ""));
        assertEquals(200, other.send(HttpRequest.newBuilder(URI.create(base + "/v2/systemsharedmemory/unregister"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray()).statusCode());
      }
      assertEquals(1, array(get("/v2/systemsharedmemory/status")).getValuesCount());
      assertEquals(200, post("/v2/systemsharedmemory/region/in/unregister", "").statusCode());
      error(get("/v2/systemsharedmemory/region/in/status"), 404, "Unable to find system shared memory region: 'in'");
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void traceAndLogSettings() throws Exception {
    Struct trace = object(post("/v2/models/dense/trace/setting", "{\"trace_rate\":\"7\"}"));
    assertEquals("7", trace.getFieldsOrThrow("trace_rate").getStringValue());
    assertEquals("OFF", trace.getFieldsOrThrow("trace_level").getListValue().getValues(0).getStringValue());
    Struct logging = object(get("/v2/logging"));
    assertTrue(logging.getFieldsOrThrow("log_error").getBoolValue());
    error(post("/v2/logging", "{\"log_error\":false}"), 400, "always logs errors");
  }

  @Test
  void badRequestsAreClear4xxAndTheDaemonServesOn() throws Exception {
    error(post("/v2/models/dense/infer", "{\"inputs\":[{\"name\":\"x\",}"), 400, "malformed JSON at line 1");
    stillServing();
    error(post("/v2/models/nope/infer", denseJson(1)), 404, "Request for unknown model: 'nope' is not found");
    error(get("/v2/models/dense/versions/9"), 404, "Request for unknown model: 'dense' version 9 is not found");
    error(post("/v2/models/dense/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
        + "\"data\":[1,2,3]}]}"), 400, "holds 4 elements but data has 3");
    error(post("/v2/models/dense/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"BYTES\","
        + "\"data\":[\"hello\"]}]}"), 400, "input 'x' is a BYTES (string) tensor: vnrt does not support string tensors");
    error(send(HttpRequest.newBuilder(URI.create(base + "/v2/models/dense/infer"))
        .header("Inference-Header-Content-Length", "500").POST(HttpRequest.BodyPublishers.ofString("{}"))), 400,
        "Inference-Header-Content-Length is 500 but the body holds 2 bytes");
    error(get("/v2/nothing/here"), 404, "no such endpoint: GET /v2/nothing/here");
    error(send(HttpRequest.newBuilder(URI.create(base + "/v2/models/dense/infer")).GET()), 405, "use POST");
    stillServing();
    // a body over --max-message-size: 413, the rest of it read and dropped, the connection kept
    byte[] big = new byte[(int) LIMIT + 1];
    error(send(HttpRequest.newBuilder(URI.create(base + "/v2/models/dense/infer"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(big))), 413, "over the daemon's message size limit of " + LIMIT);
    stillServing();
  }

  @Test
  void errorsAreBoundedAndCarryNoJavaNames() throws Exception {
    String name = "n".repeat(3 * Statuses.MAX_MESSAGE_CHARS);
    HttpResponse<byte[]> r = post("/v2/models/dense/infer", "{\"inputs\":[{\"name\":\"" + name
        + "\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}");
    String message = error(r, 400, "more characters cut");
    assertTrue(message.length() <= Statuses.MAX_MESSAGE_CHARS, message.length() + " characters");
    for (HttpResponse<byte[]> bad : List.of(r, post("/v2/models/dense/infer", "{\"inputs\":[{\"name\":\"x\","
        + "\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,\"three\",4]}]}"),
        post("/v2/repository/models/dense/load", "{\"parameters\":{\"file:1/model.onnx\":\"@@\"}}"))) {
      String body = new String(bad.body(), StandardCharsets.UTF_8);
      assertTrue(bad.statusCode() >= 400 && bad.statusCode() < 500, bad.statusCode() + ": " + body);
      assertFalse(body.matches("(?s).*(Exception|java\\.|io\\.vnrt|com\\.fasterxml|io\\.netty).*"), body);
    }
    stillServing();
  }

  @Test
  void aContentLengthTheBodyDoesNotKeepIsAnswered() throws Exception {
    InetSocketAddress a = server.httpAddress().orElseThrow();
    try (Socket s = new Socket(a.getAddress(), a.getPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /v2/models/dense/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: 100\r\n\r\n{\"inputs\":").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      assertTrue(answer.contains("\"error\":\"the request's body stopped arriving: 10 bytes came of the 100 its "
          + "Content-Length declared"), answer);
    }
    try (Socket s = new Socket(a.getAddress(), a.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /v2/models/dense/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertTrue(answer.contains("\"error\":\"malformed HTTP request"), answer);
    }
    stillServing();
  }

  @Test
  void drainingRefusesNewWorkButNotHealth() throws Exception {
    VnrtRuntime other = VnrtRuntime.start(RuntimeConfig.defaults());
    DaemonServer draining = DaemonServer.start(other, new DaemonServer.Listeners(Optional.of(new InetSocketAddress(
        "127.0.0.1", 0)), Optional.empty(), Optional.empty()).withHttp(new InetSocketAddress("127.0.0.1", 0)));
    try {
      String url = "http://127.0.0.1:" + draining.httpAddress().orElseThrow().getPort();
      assertEquals(200, send(HttpRequest.newBuilder(URI.create(url + "/v2")).GET()).statusCode());
      draining.beginDrain();
      error(send(HttpRequest.newBuilder(URI.create(url + "/v2")).GET()), 503, "draining");
      assertEquals(200, send(HttpRequest.newBuilder(URI.create(url + "/v2/health/live")).GET()).statusCode());
    } finally {
      draining.close();
      other.close();
    }
  }

  @Test
  void restRequestsAreCountedInTheMetrics() throws Exception {
    assertEquals(200, post("/v2/models/dense/infer", denseJson(1)).statusCode());
    String scrape = runtime.metrics().scrape();
    assertTrue(scrape.lines().anyMatch(l -> l.startsWith("vnrt_http_requests_total") && l.contains("code=\"200\"")
        && l.contains("route=\"/v2/models/{model}/infer\"")), scrape);
  }

  /** The same endpoints with curl, as an operator would try them (CI installs curl; skipped without it). */
  @Test
  void curlReachesTheEndpoints(@TempDir Path tmp) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed");
    assertTrue(curl("-f", base + "/v2/health/ready").isEmpty());
    assertTrue(curl("-f", base + "/v2/models/dense").contains("\"platform\":\"onnxruntime_onnx\""));
    String json = curl("-f", "-H", "Content-Type: application/json", "-d", denseJson(1),
        base + "/v2/models/dense/infer");
    assertTrue(json.contains("\"name\":\"y\"") && json.contains("\"data\":["), json);
    Path body = tmp.resolve("binary.bin");
    String header = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"parameters\":"
        + "{\"binary_data_size\":16}}]}";
    ByteBuffer b = ByteBuffer.allocate(header.length() + 16).order(ByteOrder.LITTLE_ENDIAN);
    b.put(header.getBytes(StandardCharsets.US_ASCII));
    for (float v : rows(1)) {
      b.putFloat(v);
    }
    Files.write(body, b.array());
    String binary = curl("-f", "-H", "Inference-Header-Content-Length: " + header.length(), "--data-binary",
        "@" + body, base + "/v2/models/dense/infer");
    assertTrue(binary.contains("\"outputs\""), binary);
    String stats = curl("-f", base + "/v2/models/dense/stats");
    assertTrue(stats.contains("\"inference_count\":"), stats);
    String bad = curl("-s", "-w", "%{http_code}", "-d", "{", base + "/v2/models/dense/infer");
    assertTrue(bad.endsWith("400") && bad.contains("\"error\""), bad);
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/curl", "-s", "--max-time", "30"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), "curl " + String.join(" ", args) + ": " + text);
    return text;
  }
}
