package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The REST listener with the gRPC listener's security: TLS from --tls-cert/--tls-key and bearer
 * tokens from --auth-token-file (health endpoints open, as gRPC's health service is).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestSecurityTest {
  private static final String TOKEN = "rest-test-token-0123456789";

  VnrtRuntime runtime;
  DaemonServer server;
  HttpClient https;
  String base;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    TestCertificates certs = TestCertificates.create(dir);
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.CPU, Optional.empty(),
        Optional.of(1), Optional.of(16L << 20), Optional.empty())));
    Security security = new Security(Optional.of(new Security.Tls(certs.cert("server"), certs.key("server"),
        Optional.empty())), Optional.of(TOKEN), Optional.empty());
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        Optional.empty(), Optional.empty()).withHttp(new InetSocketAddress("127.0.0.1", 0)), security);
    base = "https://localhost:" + server.httpAddress().orElseThrow().getPort();
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream ca = Files.newInputStream(certs.cert("ca"))) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(ca));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    https = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(10)).build();
  }

  @AfterAll
  void stop() {
    https.close();
    server.close();
    runtime.close();
  }

  private HttpResponse<String> get(HttpClient client, String url, String authorization) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET();
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  @Test
  void tlsAndTokensGuardEverythingButHealth() throws Exception {
    assertEquals(200, get(https, base + "/v2/health/ready", null).statusCode());
    HttpResponse<String> missing = get(https, base + "/v2", null);
    assertEquals(401, missing.statusCode(), missing.body());
    assertEquals("Bearer", missing.headers().firstValue("www-authenticate").orElseThrow());
    assertTrue(missing.body().contains("\"error\":\"this daemon needs a token"), missing.body());
    HttpResponse<String> wrong = get(https, base + "/v2", "Bearer not-the-token-at-all");
    assertEquals(403, wrong.statusCode(), wrong.body());
    HttpResponse<String> ok = get(https, base + "/v2", "Bearer " + TOKEN);
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(ok.body().contains("\"name\":\"vnrt\""), ok.body());
  }

  @Test
  void plaintextIsNotServedWhenTlsIsOn() {
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    try (plain) {
      assertThrows(IOException.class, () -> get(plain, base.replace("https:", "http:") + "/v2/health/live", null));
    }
  }
}
