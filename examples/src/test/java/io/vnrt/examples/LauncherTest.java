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

  /** Starts {@code bin/vnrt daemon} with {@code env}, returns its start-up lines (stdout) and its stderr, and stops it. */
  private static Run daemonStartup(Map<String, String> env, Path dir) throws Exception {
    Path err = Files.createTempFile(dir, "daemon", ".err");
    List<String> args = List.of("daemon", "--listen", "127.0.0.1:0", "--hbm", "64MiB", "--cores-per-device", "1",
        "--kernel-warmup", "0s");
    Process daemon = launcher(env, args).redirectError(err.toFile()).start();
    StringBuilder out = new StringBuilder();
    try {
      BufferedReader lines = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8));
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        out.append(line).append('\n');
        if (line.startsWith("messages up to")) {
          break;
        }
      }
    } finally {
      daemon.destroy();
      assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon did not stop on SIGTERM");
    }
    Run r = new Run(args, daemon.exitValue(), out.toString(), Files.readString(err));
    assertClean(r.toString(), r.out() + r.err());
    assertTrue(r.out().contains("listening on 127.0.0.1:"), r.toString());
    return r;
  }

  @Test
  void theLauncherStartsWithAMissingDamagedOrStaleAotCacheAndSaysSo(@TempDir Path dir) throws Exception {
    Path jar = ROOT.resolve("runtime-daemon/target/vnrt-runtime-daemon.jar");
    assumeTrue(Files.isRegularFile(jar), "the launcher's jar is built by the package phase: run ./mvnw verify");
    Path missing = dir.resolve("missing.aot");
    Run none = run(Map.of("VNRT_AOT_CACHE", missing.toString()), "--version");
    assertEquals(0, none.exitCode(), none.toString());
    assertEquals("", none.err(), none.toString());
    assertTrue(none.out().startsWith("vnrt "), none.toString());
    assertTrue(daemonStartup(Map.of("VNRT_AOT_CACHE", missing.toString()), dir).out().contains("AOT cache: none"));

    Path damaged = Files.writeString(dir.resolve("damaged.aot"), "not an AOT cache\n");
    Run version = run(Map.of("VNRT_AOT_CACHE", damaged.toString()), "--version");
    assertEquals(0, version.exitCode(), version.toString());
    assertEquals("", version.err(), "the JVM's own AOT messages are off: " + version);
    assertTrue(version.out().startsWith("vnrt "), "nothing but the version on stdout: " + version);
    Run startup = daemonStartup(Map.of("VNRT_AOT_CACHE", damaged.toString()), dir);
    assertTrue(startup.err().contains("AOT cache " + damaged + " could not be used"), startup.toString());
    assertEquals(1, startup.err().lines().filter(l -> l.contains("AOT")).count(), startup.toString());

    Path stale = Files.writeString(dir.resolve("stale.aot"), "made before the jar\n");
    Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.fromMillis(
        Files.getLastModifiedTime(jar).toMillis() - 3_600_000));
    Run old = daemonStartup(Map.of("VNRT_AOT_CACHE", stale.toString()), dir);
    assertTrue(old.err().contains("not using the AOT cache " + stale + ": it is older than the jar"), old.toString());
    assertTrue(old.out().contains("AOT cache: none"), old.toString());

    Run off = run(Map.of("VNRT_AOT_CACHE", "off"), "aot-cache");
    assertError(off, 2, 1, "VNRT_AOT_CACHE=off");

    Path helpCache = dir.resolve("help.aot");
    Run help = run(Map.of("VNRT_AOT_CACHE", helpCache.toString()), "aot-cache", "--help");
    assertEquals(0, help.exitCode(), help.toString());
    assertTrue(help.out().contains("aot-train"), "the training command's usage: " + help);
    assertFalse(Files.exists(helpCache), "no cache made from a help run: " + help);
  }

  @Test
  void aotCacheMakesACacheTheNextDaemonStartsWith(@TempDir Path dir) throws Exception {
    assumeTrue(Files.isRegularFile(ROOT.resolve("runtime-daemon/target/vnrt-runtime-daemon.jar")),
        "the launcher's jar is built by the package phase: run ./mvnw verify");
    Path cache = dir.resolve("vnrt.aot");
    Process p = launcher(Map.of("VNRT_AOT_CACHE", cache.toString()),
        List.of("aot-cache", "--budget", "1s", "--executions", "1")).start();
    p.getOutputStream().close();
    CompletableFuture<String> out = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> out.complete(read(p.getInputStream())));
    String err = read(p.getErrorStream());
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "bin/vnrt aot-cache did not finish");
    Run made = new Run(List.of("aot-cache"), p.exitValue(), out.get(), err);
    assertEquals(0, made.exitCode(), made.toString());
    assertTrue(made.err().contains("AOT cache ready"), made.toString());
    assertTrue(Files.size(cache) > 0, made.toString());
    try (var left = Files.list(dir)) {
      assertEquals(List.of(cache), left.toList(), "no temporary files left: " + made);
    }
    Run startup = daemonStartup(Map.of("VNRT_AOT_CACHE", cache.toString()), dir);
    assertTrue(startup.out().contains("AOT cache: " + cache + " (the training run's classes, loaded and linked; its method"
        + " profiles not replayed)"), startup.toString());
    assertFalse(startup.err().contains("AOT"), startup.toString());
  }
}
