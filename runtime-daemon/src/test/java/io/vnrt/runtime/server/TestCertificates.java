package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made at test time with the openssl command (no network, nothing checked in): two
 * CAs, and server and client certificates signed by the first, one of each already expired.
 * Tests are skipped, saying why, where openssl is missing.
 */
public final class TestCertificates {
  final Path dir;

  private TestCertificates(Path dir) {
    this.dir = dir;
  }

  /** Makes every certificate in {@code dir}. */
  public static TestCertificates create(Path dir) throws IOException, InterruptedException {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")) || Files.isExecutable(Path.of("/bin/openssl")),
        "these tests need the openssl command to make certificates");
    TestCertificates c = new TestCertificates(dir);
    c.ca("ca");
    c.ca("other-ca");
    Files.writeString(dir.resolve("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        + "extendedKeyUsage=serverAuth\n");
    Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
    c.leaf("server", "ca", "server.ext", 2);
    c.leaf("expired-server", "ca", "server.ext", -1);
    c.leaf("client", "ca", "client.ext", 2);
    c.leaf("expired-client", "ca", "client.ext", -1);
    c.leaf("foreign-client", "other-ca", "client.ext", 2);
    return c;
  }

  /** The PEM certificate of {@code name}. */
  public Path cert(String name) {
    return dir.resolve(name + ".pem");
  }

  /** The PKCS#8 PEM key of {@code name}. */
  public Path key(String name) {
    return dir.resolve(name + ".key");
  }

  private void ca(String name) throws IOException, InterruptedException {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        name + ".key", "-out", name + ".pem", "-subj", "/CN=vnrt test " + name, "-days", "2");
  }

  /** A certificate signed by {@code ca}, valid for {@code days} (negative: expired before it starts). */
  private void leaf(String name, String ca, String ext, int days) throws IOException, InterruptedException {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
        "-out", name + ".csr", "-subj", "/CN=" + (name.contains("server") ? "localhost" : "vnrt-test-" + name));
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
        "-days", String.valueOf(days), "-extfile", ext, "-out", name + ".pem");
  }

  private void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + output);
    }
  }
}
