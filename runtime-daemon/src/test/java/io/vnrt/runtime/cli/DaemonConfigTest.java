package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vnrt daemon --print-config}: flags beat the environment, which beats the config file,
 * which beats the defaults; every malformed value or file is refused at start-up with a message
 * naming the key, the value, where it came from and what was expected.
 */
class DaemonConfigTest {
  @TempDir
  Path dir;

  private static CliTest.Run run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine(env).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new CliTest.Run(code, out.toString(), err.toString());
  }

  private static String line(String printed, String key) {
    return printed.lines().filter(l -> l.startsWith(key + " ")).findFirst().orElseThrow(
        () -> new AssertionError("no line for " + key + " in\n" + printed));
  }

  @Test
  void flagsBeatTheEnvironmentWhichBeatsTheFileWhichBeatsDefaults() throws Exception {
    Path file = Files.writeString(dir.resolve("vnrt.conf"), """
        # a comment, then settings
        hbm = 64MiB
        host-memory: 2GiB
        listen = 127.0.0.1:6000
        drain-timeout = "5s"
        """);
    CliTest.Run run = run(Map.of("VNRT_LISTEN", "127.0.0.1:7000", "VNRT_HBM", "128MiB"), "daemon", "--config",
        file.toString(), "--hbm", "256MiB", "--print-config");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(line(run.out(), "hbm").matches("hbm +=  ?256MiB +# flag --hbm"), line(run.out(), "hbm"));
    assertTrue(line(run.out(), "listen").contains("127.0.0.1:7000") && line(run.out(), "listen")
        .contains("# env VNRT_LISTEN"), line(run.out(), "listen"));
    assertTrue(line(run.out(), "host-memory").contains("2GiB") && line(run.out(), "host-memory")
        .contains("# file " + file + ":3"), line(run.out(), "host-memory"));
    assertTrue(line(run.out(), "drain-timeout").contains("5s "), line(run.out(), "drain-timeout"));
    assertTrue(line(run.out(), "repository-warmup").contains("0s "), line(run.out(), "repository-warmup"));
    assertTrue(line(run.out(), "load-warmup-budget").contains("0s ") && line(run.out(), "load-warmup-budget")
        .contains("# default"), line(run.out(), "load-warmup-budget"));
    assertTrue(line(run.out(), "profile").contains("cpu") && line(run.out(), "profile").contains("# default"));
    assertTrue(line(run.out(), "uds").contains("(unset)"));
    assertEquals(DaemonSettings.ALL.size(), run.out().lines().count(), "one line per setting");
  }

  @Test
  void theConfigFileMayComeFromTheEnvironment() throws Exception {
    Path file = Files.writeString(dir.resolve("env.conf"), "max-sessions = 7\n");
    CliTest.Run run = run(Map.of("VNRT_CONFIG", file.toString()), "daemon", "--print-config");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(line(run.out(), "max-sessions").contains("7"), run.out());
  }

  @Test
  void malformedValuesNameTheKeyTheValueTheSourceAndWhatWasExpected() throws Exception {
    assertRefused(run(Map.of("VNRT_HBM", "lots"), "daemon", "--print-config"),
        "invalid hbm 'lots' (from env VNRT_HBM)", "expected a number with an optional unit, e.g. 512MiB");
    assertRefused(run(Map.of(), "daemon", "--devices", "two", "--print-config"),
        "invalid devices 'two' (from flag --devices)", "expected a whole number of devices");
    assertRefused(run(Map.of("VNRT_MAX_SESSIONS", "-1"), "daemon", "--print-config"),
        "invalid max-sessions '-1' (from env VNRT_MAX_SESSIONS): -1 is below 0");
    assertRefused(run(Map.of("VNRT_DRAIN_TIMEOUT", "soon"), "daemon", "--print-config"),
        "invalid drain-timeout 'soon'", "expected a duration such as 500ms");
    assertRefused(run(Map.of(), "daemon", "--repository-warmup", "2m", "--print-config"),
        "repository-warmup must be at most 1m");
    assertRefused(run(Map.of("VNRT_REPOSITORY_WARMUP", "warm"), "daemon", "--print-config"),
        "invalid repository-warmup 'warm'", "expected a duration such as 500ms");
    assertRefused(run(Map.of(), "daemon", "--load-warmup-budget", "2m", "--print-config"),
        "load-warmup-budget must be at most 1m");
    assertRefused(run(Map.of("VNRT_LOAD_WARMUP_BUDGET", "long"), "daemon", "--print-config"),
        "invalid load-warmup-budget 'long'", "expected a duration such as 500ms");
    assertRefused(run(Map.of("VNRT_LISTEN", "localhost"), "daemon", "--print-config"),
        "invalid listen 'localhost' (from env VNRT_LISTEN)", "expected HOST:PORT");
    Path conf = Files.writeString(dir.resolve("p.conf"), "profile = tpu\n");
    assertRefused(run(Map.of(), "daemon", "--config", conf.toString(), "--print-config"),
        "invalid profile 'tpu' (from file " + conf + ":1)", "expected one of cpu, inf2, trn1, trn2");
    assertRefused(run(Map.of("VNRT_AUTH_TOKEN_FILE", dir.resolve("nope").toString()), "daemon", "--print-config"),
        "invalid auth-token-file", "no readable file");
    Path shortToken = Files.writeString(dir.resolve("token"), "abc\n");
    assertRefused(run(Map.of(), "daemon", "--auth-token-file", shortToken.toString(), "--print-config"),
        "invalid auth-token-file", "at least 16 printable");
    assertRefused(run(Map.of(), "daemon", "--tls-cert", shortToken.toString(), "--print-config"),
        "tls-cert and tls-key go together: tls-key is missing");
    assertRefused(run(Map.of(), "daemon", "--max-message-size", "3GiB", "--print-config"),
        "invalid max-message-size '3GiB' (from flag --max-message-size): gRPC messages have 32-bit lengths",
        "expected a size from 1 byte to 2GiB-1");
    assertRefused(run(Map.of("VNRT_HTTP_LISTEN", "nowhere"), "daemon", "--print-config"),
        "invalid http-listen 'nowhere' (from env VNRT_HTTP_LISTEN)", "expected HOST:PORT");
    assertRefused(run(Map.of(), "daemon", "--metrics-listen", "0.0.0.0:9464", "--print-config"),
        "metrics-listen 0.0.0.0:9464 is not a loopback address and no token is set");
    assertRefused(run(Map.of(), "daemon", "--shm-allow", "sub/dir*", "--print-config"),
        "invalid shm-allow 'sub/dir*'", "contains '/'");
    assertRefused(run(Map.of("VNRT_STREAM_IDLE_TIMEOUT", "-1s"), "daemon", "--print-config"),
        "invalid stream-idle-timeout '-1s'");
  }

  @Test
  void aMessageLimitAboveWhatTheJvmCanHoldIsRefusedWhenAskedForAndLoweredWhenDefaulted() throws Exception {
    long jvm = 512L << 20;
    DaemonSettings asked = DaemonSettings.resolve(Map.of("max-message-size", "1GiB"), Map.of(), Optional.empty());
    DaemonSettings.SettingsException e = assertThrows(DaemonSettings.SettingsException.class,
        () -> DaemonCommand.messageLimit(asked, jvm));
    assertTrue(e.getMessage().contains("invalid max-message-size '1GiB' (from flag --max-message-size): more than "
        + "this JVM can hold (512.0 MiB"), e.getMessage());
    DaemonSettings defaulted = DaemonSettings.resolve(Map.of(), Map.of(), Optional.empty());
    DaemonCommand.MessageLimit lowered = DaemonCommand.messageLimit(defaulted, jvm);
    assertEquals(256L << 20, lowered.bytes());
    assertTrue(lowered.notice().orElseThrow().contains("messages are limited to 256.0 MiB"), lowered.notice().get());
    assertEquals(1L << 30, DaemonCommand.messageLimit(defaulted, 4L << 30).bytes());
    CliTest.Run defaults = run(Map.of(), "daemon", "--print-config");
    assertTrue(line(defaults.out(), "max-message-size").contains("1GiB"), defaults.out());
    assertTrue(line(defaults.out(), "http-listen").contains("none"), defaults.out());
  }

  @Test
  void malformedFilesNameTheFileTheLineAndTheProblem() throws Exception {
    Path noSeparator = Files.writeString(dir.resolve("a.conf"), "# ok\nhbm 64MiB\n");
    assertRefused(run(Map.of(), "daemon", "--config", noSeparator.toString(), "--print-config"),
        "config file " + noSeparator + ":2: expected 'key = value', got 'hbm 64MiB'");
    Path unknown = Files.writeString(dir.resolve("b.conf"), "hbm-size = 64MiB\n");
    assertRefused(run(Map.of(), "daemon", "--config", unknown.toString(), "--print-config"),
        "unknown key 'hbm-size'", "known keys: profile, devices");
    Path twice = Files.writeString(dir.resolve("c.conf"), "hbm = 1GiB\nhbm = 2GiB\n");
    assertRefused(run(Map.of(), "daemon", "--config", twice.toString(), "--print-config"),
        "c.conf:2: key 'hbm' is set again (first at " + twice + ":1)");
    assertRefused(run(Map.of(), "daemon", "--config", dir.resolve("missing.conf").toString(), "--print-config"),
        "cannot read config file " + dir.resolve("missing.conf"));
  }

  private static void assertRefused(CliTest.Run run, String... fragments) {
    assertEquals(2, run.exitCode(), "a usage error: " + run.out() + run.err());
    assertEquals(List.of("see `vnrt daemon --help`"), run.err().lines().skip(1).toList(),
        "the message, then where the help is, and no usage dump: " + run.err());
    for (String f : fragments) {
      assertTrue(run.err().contains(f), "expected '" + f + "' in: " + run.err());
    }
  }
}
