package io.vnrt.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.runtime.server.TestCertificates;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/vnrt end to end, as a user runs it from a shell: a daemon with TLS and tokens started by
 * the launcher, client commands against it and against a closed port, usage errors. Nothing on
 * stderr is a stack trace or the JVM's incubator-module warning; each error is one or two lines;
 * usage errors exit 2 and failures 1. Needs the launcher's jar, which {@code ./mvnw verify}
 * packages before this module's tests run (the test is skipped, saying so, without it).
 */
class LauncherTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path VNRT = ROOT.resolve("bin/vnrt");
  private static final Pattern STACK_TRACE = Pattern.compile("(?m)^\\s+at [\\w.$/]+\\(|Caused by:|Exception\\b");
  private static final String INCUBATOR_WARNING = "WARNING: Using incubator modules";

  /** What a launcher run printed and returned. */
  record Run(List<String> args, int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "bin/vnrt " + String.join(" ", args) + " -> " + exitCode + "\nstdout: " + out + "\nstderr: " + err;
    }
  }

  private static ProcessBuilder launcher(Map<String, String> env, List<String> args) {
    List<String> command = new ArrayList<>(List.of(VNRT.toString()));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().removeIf(k -> k.startsWith("VNRT_"));
    pb.environment().putAll(env);
    return pb;
  }

  private static Run run(Map<String, String> env, String... args) throws Exception {
    Process p = launcher(env, List.of(args)).start();
    p.getOutputStream().close();
    CompletableFuture<String> err = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> err.complete(read(p.getErrorStream())));
    String out = read(p.getInputStream());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bin/vnrt " + String.join(" ", args) + " did not finish");
    Run r = new Run(List.of(args), p.exitValue(), out, err.get());
    assertClean(r.toString(), r.out() + r.err());
    return r;
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void assertClean(String what, String output) {
    assertFalse(STACK_TRACE.matcher(output).find(), "a stack trace reached the user: " + what);
    assertFalse(output.contains(INCUBATOR_WARNING), "the JVM's incubator warning reached the user: " + what);
  }

  private static void assertError(Run r, int exitCode, int lines, String... fragments) {
    assertEquals(exitCode, r.exitCode(), r.toString());
    assertEquals(lines, r.err().lines().count(), r.toString());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "'" + f + "' missing: " + r);
    }
  }

  @Test
  void aSecuredDaemonStartedByTheLauncherServesTheClientCommandsAndErrorsAreShort(@TempDir Path dir)
      throws Exception {
    assumeTrue(Files.isRegularFile(ROOT.resolve("runtime-daemon/target/vnrt-runtime-daemon.jar")),
        "the launcher's jar is built by the package phase: run ./mvnw verify");
    TestCertificates certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
    Path user = Files.writeString(dir.resolve("user.token"), "user-token-0123456789abcdef\n");
    Path admin = Files.writeString(dir.resolve("admin.token"), "admin-token-0123456789abcdef\n");
    Path daemonErr = dir.resolve("daemon.err");
    Process daemon = launcher(Map.of(), List.of("daemon", "--listen", "127.0.0.1:0", "--hbm", "64MiB",
        "--cores-per-device", "1", "--tls-cert", certs.cert("server").toString(), "--tls-key",
        certs.key("server").toString(), "--auth-token-file", user.toString(), "--admin-token-file",
        admin.toString())).redirectError(daemonErr.toFile()).start();
    try {
      BufferedReader lines = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8));
      String first = lines.readLine();
      assertTrue(first != null, "the daemon ended before listening: " + Files.readString(daemonErr));
      Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) \\(TCP with TLS\\)").matcher(first);
      assertTrue(m.find(), first);
      String target = "127.0.0.1:" + m.group(1);
      Thread.ofVirtual().start(() -> read(daemon.getInputStream()));
      String ca = certs.cert("ca").toString();

      Run ls = run(Map.of(), "ls", "--target", target, "--tls-ca", ca, "--token-file", user.toString());
      assertEquals(0, ls.exitCode(), ls.toString());
      assertTrue(ls.out().contains("| DEVICE |"), ls.toString());
      assertEquals("", ls.err(), ls.toString());
      Run health = run(Map.of("VNRT_TARGET", target, "VNRT_TLS_CA", ca), "health");
      assertEquals(0, health.exitCode(), health.toString());
      assertEquals("SERVING", health.out().strip());
      Run sessions = run(Map.of("VNRT_TOKEN_FILE", admin.toString()), "sessions", "--target", target, "--tls-ca", ca);
      assertEquals(0, sessions.exitCode(), sessions.toString());

      assertError(run(Map.of(), "ls", "--target", target, "--token-file", user.toString()), 1, 1, "speaks TLS",
          "--tls-ca");
      assertError(run(Map.of(), "mem", "--target", target, "--tls-ca", ca), 1, 1, "--token-file");
      String closed;
      try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        closed = "127.0.0.1:" + free.getLocalPort();
      }
      assertError(run(Map.of(), "health", "--target", closed), 1, 1, "cannot reach a vnrt daemon at " + closed,
          "bin/vnrt daemon");
      assertError(run(Map.of(), "daemon", "--hbm", "12XB"), 2, 2, "invalid hbm '12XB'", "see `vnrt daemon --help`");
      assertError(run(Map.of(), "daemon", "--listen", target, "--hbm", "16MiB"), 1, 1, "already in use");
      Path notOnnx = Files.writeString(dir.resolve("notes.onnx"), "not a model\n");
      assertError(run(Map.of(), "run", "--embedded", "--model", notOnnx.toString()), 1, 1, "not an ONNX model");
    } finally {
      daemon.destroy();
      assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon did not stop on SIGTERM");
    }
    String log = Files.readString(daemonErr);
    assertClean("the daemon's stderr: " + log, log);
    assertTrue(log.contains("stopped"), log);
  }
}
