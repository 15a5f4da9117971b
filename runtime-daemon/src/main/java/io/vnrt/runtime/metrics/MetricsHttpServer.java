package io.vnrt.runtime.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Serves {@code GET /metrics} in the Prometheus text format from the JDK's HTTP server. One
 * thread answers scrapes; when it is behind, the accepting thread answers too, so waiting
 * scrapes are bounded by the small queue rather than piling up. When the daemon has tokens, a
 * scrape must send one ({@code Authorization: Bearer ...}, Prometheus's {@code authorization}
 * setting): the metrics name every model and client.
 */
public final class MetricsHttpServer implements AutoCloseable {
  /** The content type of the Prometheus text format 0.0.4. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ThreadPoolExecutor executor;

  private MetricsHttpServer(HttpServer server, ThreadPoolExecutor executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Listens on {@code address} (port 0 picks a free port), open to any scrape. */
  public static MetricsHttpServer start(InetSocketAddress address, RuntimeMetrics metrics) throws IOException {
    return start(address, metrics, List.of());
  }

  /**
   * Listens on {@code address}; when {@code tokens} is not empty a scrape must carry one of them as a bearer
   * token, or gets 401.
   */
  public static MetricsHttpServer start(InetSocketAddress address, RuntimeMetrics metrics, List<String> tokens)
      throws IOException {
    List<byte[]> accepted = tokens.stream().map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8)).toList();
    HttpServer server = HttpServer.create(address, 16);
    ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8),
        Thread.ofPlatform().name("vnrt-metrics-http").daemon(true).factory(),
        new ThreadPoolExecutor.CallerRunsPolicy());
    server.setExecutor(executor);
    server.createContext("/", exchange -> handle(exchange, metrics, accepted));
    server.start();
    return new MetricsHttpServer(server, executor);
  }

  private static void handle(HttpExchange exchange, RuntimeMetrics metrics, List<byte[]> accepted)
      throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (!authorized(exchange, accepted)) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"vnrt\"");
        reply(exchange, 401, "text/plain; charset=utf-8", "this daemon's metrics need its token: send "
            + "'Authorization: Bearer <token>' (the auth or admin token)\n");
      } else if (!path.equals("/metrics")) {
        reply(exchange, 404, "text/plain; charset=utf-8", "not found: " + path + "; metrics are at /metrics\n");
      } else if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        exchange.getResponseHeaders().add("Allow", "GET, HEAD");
        reply(exchange, 405, "text/plain; charset=utf-8", exchange.getRequestMethod() + " is not allowed; use GET\n");
      } else {
        reply(exchange, 200, CONTENT_TYPE, metrics.scrape());
      }
    }
  }

  private static boolean authorized(HttpExchange exchange, List<byte[]> accepted) {
    if (accepted.isEmpty()) {
      return true;
    }
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    if (header == null) {
      return false;
    }
    byte[] sent = header.strip().getBytes(StandardCharsets.UTF_8);
    boolean match = false;
    for (byte[] token : accepted) {
      match |= MessageDigest.isEqual(sent, token); // constant time: the comparison tells nothing of the token
    }
    return match;
  }

  private static void reply(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", contentType);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** The bound address (with the real port when 0 was asked for). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops listening, letting a scrape in progress finish for up to a second. */
  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
  }
}
