package io.vnrt.runtime.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.HttpMethod;
import io.vnrt.proto.inference.LogSettingsRequest;
import io.vnrt.proto.inference.LogSettingsResponse;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelRepositoryParameter;
import io.vnrt.proto.inference.RepositoryIndexResponse;
import io.vnrt.proto.inference.SystemSharedMemoryStatusResponse;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.models.ExecutionRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * KServe v2's REST binding (the Open Inference Protocol's HTTP endpoints) and Triton's HTTP
 * extensions (binary tensor data, model repository, configuration, statistics, shared memory,
 * trace and logging), each translated to {@link KServeFrontEnd} exactly as the gRPC service
 * translates it, so both protocols answer alike. Runs on a worker thread, never on Netty's.
 */
final class KServeRest {
  /** The header giving the length of the JSON part of a binary-extension body. */
  static final String HEADER_LENGTH = "Inference-Header-Content-Length";
  static final String JSON_TYPE = "application/json";
  static final String BINARY_TYPE = "application/octet-stream";

  /**
   * A response to write.
   *
   * @param status the HTTP status
   * @param contentType its content type
   * @param body its bytes (released once written)
   * @param headerLength the Inference-Header-Content-Length to send, or -1
   * @param error the error message the body carries, or null
   */
  record Response(int status, String contentType, ByteBuf body, int headerLength, String error) {
  }

  /**
   * One request as routed: its method, the template of its route (for metrics and logs), and what answers it.
   */
  record Route(String template, Handler handler) {
  }

  /** Answers one routed request. */
  @FunctionalInterface
  interface Handler {
    Response handle(ByteBuf body, Optional<Integer> headerLength, CompletableFuture<Void> clientGone)
        throws Exception;
  }

  private final KServeFrontEnd front;
  private final KServeFrontEnd.Caller caller;
  private final ByteBufAllocator alloc;

  /** The routes of one connection, {@code caller}. */
  KServeRest(KServeFrontEnd front, KServeFrontEnd.Caller caller, ByteBufAllocator alloc) {
    this.front = front;
    this.caller = caller;
    this.alloc = alloc;
  }

  /** The route of {@code method path}; a 404 or 405 route when there is none. */
  Route route(HttpMethod method, List<String> path) {
    int n = path.size();
    if (n == 0 || !path.getFirst().equals("v2")) {
      return notFound(method, path);
    }
    if (n == 1) {
      return get(method, "/v2", (b, h, g) -> json(200, out -> RestJson.message(out, front.serverMetadata())));
    }
    String area = path.get(1);
    switch (area) {
      case "health" -> {
        if (n == 3 && path.get(2).equals("live")) {
          return get(method, "/v2/health/live", (b, h, g) -> empty(front.live() ? 200 : 400));
        }
        if (n == 3 && path.get(2).equals("ready")) {
          return get(method, "/v2/health/ready", (b, h, g) -> empty(front.ready() ? 200 : 400));
        }
      }
      case "models" -> {
        if (n == 3 && path.get(2).equals("stats")) {
          return get(method, "/v2/models/stats", (b, h, g) -> json(200, out -> RestJson.message(out,
              front.statistics("", ""))));
        }
        if (n >= 3) {
          return model(method, path);
        }
      }
      case "repository" -> {
        if (n == 3 && path.get(2).equals("index")) {
          return post(method, "/v2/repository/index", true, (b, h, g) -> json(200, out -> index(out, b)));
        }
        if (n == 5 && path.get(2).equals("models") && path.get(4).equals("load")) {
          String model = path.get(3);
          return post(method, "/v2/repository/models/{model}/load", false, (b, h, g) -> {
            front.load("", model, loadParameters(b));
            return empty(200);
          });
        }
        if (n == 5 && path.get(2).equals("models") && path.get(4).equals("unload")) {
          String model = path.get(3);
          return post(method, "/v2/repository/models/{model}/unload", false, (b, h, g) -> {
            front.unload("", model);
            return empty(200);
          });
        }
      }
      case "systemsharedmemory", "cudasharedmemory" -> {
        Route r = sharedMemory(method, path, area.equals("cudasharedmemory"));
        if (r != null) {
          return r;
        }
      }
      case "trace" -> {
        if (n == 3 && path.get(2).equals("setting")) {
          return getOrPost(method, "/v2/trace/setting", (b, h, g) -> trace("", b));
        }
      }
      case "logging" -> {
        if (n == 2) {
          return getOrPost(method, "/v2/logging", (b, h, g) -> logging(b));
        }
      }
      default -> {
        return notFound(method, path);
      }
    }
    return notFound(method, path);
  }

  /** /v2/models/{model}[/versions/{version}][/ready|/config|/stats|/infer|/trace/setting]. */
  private Route model(HttpMethod method, List<String> path) {
    String model = path.get(2);
    int i = 3;
    String version = "";
    String prefix = "/v2/models/{model}";
    if (path.size() >= 5 && path.get(3).equals("versions")) {
      version = path.get(4);
      i = 5;
      prefix += "/versions/{version}";
    }
    List<String> rest = path.subList(i, path.size());
    String v = version;
    if (rest.isEmpty()) {
      return get(method, prefix, (b, h, g) -> json(200, out -> RestJson.message(out, front.modelMetadata(model, v))));
    }
    if (rest.size() == 1) {
      switch (rest.getFirst()) {
        case "ready" -> {
          return get(method, prefix + "/ready", (b, h, g) -> empty(front.modelReady(model, v) ? 200 : 400));
        }
        case "config" -> {
          return get(method, prefix + "/config", (b, h, g) -> json(200, out -> RestJson.message(out,
              front.modelConfig(model, v))));
        }
        case "stats" -> {
          return get(method, prefix + "/stats", (b, h, g) -> json(200, out -> RestJson.message(out,
              front.statistics(model, v))));
        }
        case "infer" -> {
          return post(method, prefix + "/infer", false, (b, h, g) -> infer(model, v, b, h, g));
        }
        default -> {
          return notFound(method, path);
        }
      }
    }
    if (rest.equals(List.of("trace", "setting")) && version.isEmpty()) {
      return getOrPost(method, prefix + "/trace/setting", (b, h, g) -> trace(model, b));
    }
    return notFound(method, path);
  }

  private Response infer(String model, String version, ByteBuf body, Optional<Integer> headerLength,
      CompletableFuture<Void> clientGone) throws Exception {
    int jsonLength = headerLength.orElse(body.readableBytes());
    if (jsonLength < 0 || jsonLength > body.readableBytes()) {
      throw VnrtRuntimeException.invalid(HEADER_LENGTH + " is " + jsonLength + " but the body holds "
          + body.readableBytes() + " bytes", "header", HEADER_LENGTH);
    }
    ByteBuf json = body.slice(body.readerIndex(), jsonLength);
    ByteBuf binary = body.slice(body.readerIndex() + jsonLength, body.readableBytes() - jsonLength);
    RestJson.InferRequest request = RestJson.inferRequest(model, version, json, binary);
    CompletableFuture<ModelInferResponse> pending = front.infer(caller, request.request(), ExecutionRequest.NO_DEADLINE);
    clientGone.whenComplete((x, e) -> pending.cancel(false));
    ModelInferResponse response;
    try {
      response = pending.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
    ByteBuf out = alloc.buffer();
    try {
      int header = RestJson.inferResponse(response, request, out);
      return new Response(200, header < 0 ? JSON_TYPE : BINARY_TYPE, out, header, null);
    } catch (IOException | RuntimeException e) {
      out.release();
      throw e;
    }
  }

  private void index(JsonGenerator out, ByteBuf body) throws IOException {
    boolean ready = false;
    for (Map.Entry<String, Object> e : object(body, "the repository index request").entrySet()) {
      if (e.getKey().equals("ready") && e.getValue() instanceof Boolean b) {
        ready = b;
      } else {
        throw VnrtRuntimeException.invalid("unknown or mistyped field '" + e.getKey() + "' in the repository index "
            + "request; expected {\"ready\": true|false}");
      }
    }
    RepositoryIndexResponse index = front.repositoryIndex("", ready);
    out.writeStartArray();
    for (RepositoryIndexResponse.ModelIndex m : index.getModelsList()) {
      RestJson.message(out, m);
    }
    out.writeEndArray();
  }

  /** {"parameters": {"config": "<JSON>", "file:1/model.onnx": "<base64>"}} as the load's parameters. */
  private static Map<String, ModelRepositoryParameter> loadParameters(ByteBuf body) throws IOException {
    Map<String, ModelRepositoryParameter> out = new LinkedHashMap<>();
    Map<String, Object> request = object(body, "the load request");
    for (Map.Entry<String, Object> e : request.entrySet()) {
      if (!e.getKey().equals("parameters") || !(e.getValue() instanceof Map<?, ?> params)) {
        throw VnrtRuntimeException.invalid("unknown or mistyped field '" + e.getKey() + "' in the load request; "
            + "expected {\"parameters\": {...}}");
      }
      for (Map.Entry<?, ?> p : params.entrySet()) {
        String key = String.valueOf(p.getKey());
        Object v = p.getValue();
        ModelRepositoryParameter.Builder b = ModelRepositoryParameter.newBuilder();
        if (key.startsWith("file:") && v instanceof String s) {
          try {
            b.setBytesParam(ByteString.copyFrom(Base64.getDecoder().decode(s)));
          } catch (IllegalArgumentException bad) {
            throw VnrtRuntimeException.invalid("load parameter '" + key + "' must hold the file's bytes in base64: "
                + bad.getMessage(), "parameter", key);
          }
        } else if (v instanceof String s) {
          b.setStringParam(s);
        } else if (v instanceof Boolean flag) {
          b.setBoolParam(flag);
        } else if (v instanceof Long n) {
          b.setInt64Param(n);
        } else {
          throw VnrtRuntimeException.invalid("load parameter '" + key + "' must be a string, bool or integer",
              "parameter", key);
        }
        out.put(key, b.build());
      }
    }
    return out;
  }

  /** /v2/{system,cuda}sharedmemory[/region/{name}]/{status,register,unregister}. */
  private Route sharedMemory(HttpMethod method, List<String> path, boolean cuda) {
    String base = "/v2/" + path.get(1);
    String name = "";
    String action;
    if (path.size() == 3) {
      action = path.get(2);
    } else if (path.size() == 5 && path.get(2).equals("region")) {
      name = path.get(3);
      base += "/region/{name}";
      action = path.get(4);
    } else {
      return null;
    }
    String region = name;
    return switch (action) {
      case "status" -> get(method, base + "/status", (b, h, g) -> json(200, out -> {
        out.writeStartArray();
        if (!cuda) {
          for (SystemSharedMemoryStatusResponse.RegionStatus r : front.systemSharedMemoryStatus(caller, region)
              .getRegionsMap().values()) {
            RestJson.message(out, r);
          }
        } else {
          front.cudaSharedMemoryStatus(region);
        }
        out.writeEndArray();
      }));
      case "register" -> region.isEmpty() ? null : post(method, base + "/register", false, (b, h, g) -> {
        Map<String, Object> r = object(b, "the register request");
        if (cuda) {
          front.cudaSharedMemoryRegister(region);
        } else {
          front.systemSharedMemoryRegister(caller, region, field(r, "key", String.class), number(r, "offset", 0),
              number(r, "byte_size", -1));
        }
        return empty(200);
      });
      case "unregister" -> post(method, base + "/unregister", true, (b, h, g) -> {
        if (cuda) {
          front.cudaSharedMemoryUnregister(region);
        } else {
          front.systemSharedMemoryUnregister(caller, region);
        }
        return empty(200);
      });
      default -> null;
    };
  }

  private Response trace(String model, ByteBuf body) throws IOException {
    Map<String, List<String>> changes = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : object(body, "the trace settings").entrySet()) {
      Object v = e.getValue();
      if (v == null) {
        changes.put(e.getKey(), List.of());
      } else if (v instanceof String s) {
        changes.put(e.getKey(), List.of(s));
      } else if (v instanceof List<?> l && l.stream().allMatch(x -> x instanceof String)) {
        changes.put(e.getKey(), l.stream().map(String.class::cast).toList());
      } else {
        throw VnrtRuntimeException.invalid("trace setting '" + e.getKey() + "' must be a string, a list of strings "
            + "or null", "setting", e.getKey());
      }
    }
    Map<String, List<String>> now = front.traceSettings(model, changes);
    return json(200, out -> {
      out.writeStartObject();
      for (Map.Entry<String, List<String>> e : now.entrySet()) {
        if (e.getKey().equals("trace_level") || e.getValue().size() != 1) {
          out.writeArrayFieldStart(e.getKey());
          for (String s : e.getValue()) {
            out.writeString(s);
          }
          out.writeEndArray();
        } else {
          out.writeStringField(e.getKey(), e.getValue().getFirst());
        }
      }
      out.writeEndObject();
    });
  }

  private Response logging(ByteBuf body) throws IOException {
    Map<String, LogSettingsRequest.SettingValue> changes = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : object(body, "the log settings").entrySet()) {
      LogSettingsRequest.SettingValue.Builder v = LogSettingsRequest.SettingValue.newBuilder();
      switch (e.getValue()) {
        case Boolean b -> v.setBoolParam(b);
        case Long n when n >= 0 && n <= 0xffffffffL -> v.setUint32Param(n.intValue());
        case String s -> v.setStringParam(s);
        case null, default -> throw VnrtRuntimeException.invalid("log setting '" + e.getKey() + "' must be a bool, "
            + "a whole number or a string", "setting", e.getKey());
      }
      changes.put(e.getKey(), v.build());
    }
    LogSettingsResponse now = KServeLogSettings.update(changes);
    return json(200, out -> {
      out.writeStartObject();
      for (String key : KServeLogSettings.KEYS) {
        LogSettingsResponse.SettingValue v = now.getSettingsOrThrow(key);
        switch (v.getParameterChoiceCase()) {
          case BOOL_PARAM -> out.writeBooleanField(key, v.getBoolParam());
          case UINT32_PARAM -> out.writeNumberField(key, Integer.toUnsignedLong(v.getUint32Param()));
          default -> out.writeStringField(key, v.getStringParam());
        }
      }
      out.writeEndObject();
    });
  }

  // ---- plumbing ----

  /** A body that is a JSON object (an empty body is an empty object), as maps, lists, strings, longs, doubles, booleans. */
  static Map<String, Object> object(ByteBuf body, String what) throws IOException {
    if (!body.isReadable()) {
      return Map.of();
    }
    try (JsonParser p = RestJson.JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw VnrtRuntimeException.invalid(what + " must be a JSON object");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) value(p);
      if (p.nextToken() != null) {
        throw VnrtRuntimeException.invalid(what + ": the JSON goes on after its closing '}'");
      }
      return m;
    } catch (JsonParseException e) {
      throw VnrtRuntimeException.invalid(what + ": malformed JSON at line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr() + ": " + RestJson.reason(e));
    }
  }

  private static Object value(JsonParser p) throws IOException {
    return switch (p.currentToken()) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String k = p.currentName();
          p.nextToken();
          m.put(k, value(p));
        }
        yield m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          l.add(value(p));
        }
        yield l;
      }
      case VALUE_STRING -> p.getText();
      case VALUE_NUMBER_INT -> p.getLongValue();
      case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
      case VALUE_TRUE -> true;
      case VALUE_FALSE -> false;
      case VALUE_NULL -> null;
      default -> throw VnrtRuntimeException.invalid("unexpected JSON " + p.currentToken());
    };
  }

  private static <T> T field(Map<String, Object> m, String key, Class<T> type) {
    Object v = m.get(key);
    if (!type.isInstance(v)) {
      throw VnrtRuntimeException.invalid("field '" + key + "' is required, a " + type.getSimpleName().toLowerCase(),
          "field", key);
    }
    return type.cast(v);
  }

  private static long number(Map<String, Object> m, String key, long absent) {
    Object v = m.get(key);
    if (v == null && absent >= 0) {
      return absent;
    }
    if (!(v instanceof Long n) || n < 0) {
      throw VnrtRuntimeException.invalid("field '" + key + "' is required, a whole number >= 0", "field", key);
    }
    return n;
  }

  /** Writes JSON into a response. */
  @FunctionalInterface
  interface JsonWriter {
    void write(JsonGenerator out) throws IOException;
  }

  Response json(int status, JsonWriter writer) throws IOException {
    ByteBuf buf = alloc.buffer();
    try (JsonGenerator g = RestJson.JSON.createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
      writer.write(g);
    } catch (IOException | RuntimeException e) {
      buf.release();
      throw e;
    }
    return new Response(status, JSON_TYPE, buf, -1, null);
  }

  Response empty(int status) {
    return new Response(status, JSON_TYPE, alloc.buffer(0), -1, null);
  }

  /** KServe's error body: {"error": message}, the message bounded as a gRPC status's is. */
  Response error(int status, String text) {
    String message = Statuses.bounded(text);
    try {
      Response r = json(status, g -> {
        g.writeStartObject();
        g.writeStringField("error", message);
        g.writeEndObject();
      });
      return new Response(r.status(), r.contentType(), r.body(), -1, message);
    } catch (IOException e) {
      throw new IllegalStateException("writing into memory cannot fail", e);
    }
  }

  /** The HTTP status of a failure, as Triton maps its error codes, and its message. */
  Response failure(Throwable t) {
    Throwable cause = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    if (cause instanceof CancellationException) {
      return error(499, "the request was cancelled: the client went away");
    }
    Status s = Statuses.toStatus(cause).getStatus();
    int http = switch (s.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
    return error(http, String.valueOf(s.getDescription()));
  }

  private Route get(HttpMethod method, String template, Handler h) {
    return method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD) ? new Route(template, h)
        : notAllowed(method, template, "GET");
  }

  /** A POST route; {@code getToo} when Triton's clients also GET it. */
  private Route post(HttpMethod method, String template, boolean getToo, Handler h) {
    return method.equals(HttpMethod.POST) || getToo && method.equals(HttpMethod.GET) ? new Route(template, h)
        : notAllowed(method, template, getToo ? "GET, POST" : "POST");
  }

  private Route getOrPost(HttpMethod method, String template, Handler h) {
    return post(method, template, true, h);
  }

  private Route notAllowed(HttpMethod method, String template, String allowed) {
    return new Route(template, (b, h, g) -> error(405, method + " is not allowed on " + template + "; use "
        + allowed));
  }

  private Route notFound(HttpMethod method, List<String> path) {
    return new Route("(unknown)", (b, h, g) -> error(404, "no such endpoint: " + method + " /" + String.join("/", path)
        + "; KServe v2 endpoints are under /v2 (health/live, health/ready, models/{model}[/versions/{v}]"
        + "[/ready|/config|/stats|/infer], repository/..., systemsharedmemory/..., trace/setting, logging)"));
  }
}
