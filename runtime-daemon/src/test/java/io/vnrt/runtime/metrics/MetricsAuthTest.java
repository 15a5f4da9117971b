package io.vnrt.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** With tokens on, /metrics (which names every model and client) answers only a scrape that sends one. */
class MetricsAuthTest {
  private static final String TOKEN = "metrics-test-token-0123456789";
  private static final String ADMIN = "metrics-admin-token-0123456789";

  private static HttpResponse<String> get(MetricsHttpServer server, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort()
        + "/metrics"));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  @Test
  void aScrapeWithoutTheTokenIsRefusedAndLearnsNothing() throws Exception {
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(4 << 20));
        MetricsHttpServer server = MetricsHttpServer.start(new InetSocketAddress("127.0.0.1", 0), runtime.metrics(),
            List.of(TOKEN, ADMIN))) {
      runtime.sessions().open("secret-client-name", 0);
      for (String wrong : new String[] {null, "Bearer nope", "Bearer " + TOKEN + "x", TOKEN}) {
        HttpResponse<String> refused = get(server, wrong);
        assertEquals(401, refused.statusCode(), String.valueOf(wrong));
        assertFalse(refused.body().contains("vnrt_"), refused.body());
      }
      for (String token : new String[] {TOKEN, ADMIN}) {
        HttpResponse<String> ok = get(server, "Bearer " + token);
        assertEquals(200, ok.statusCode());
        assertTrue(ok.body().contains("vnrt_"), ok.body());
      }
    }
  }
}
