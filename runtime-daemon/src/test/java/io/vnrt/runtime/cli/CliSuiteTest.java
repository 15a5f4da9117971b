package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import io.vnrt.client.ConnectOptions;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import io.vnrt.runtime.server.Security;
import io.vnrt.runtime.server.TestCertificates;
import io.vnrt.runtime.server.TestModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every client command as a user meets it, in-process through picocli: against a daemon with TLS,
 * a user token and an admin token, and against a closed port. Whatever happens, no output holds a
 * stack trace; an error is one or two lines saying what was wrong and what to do; usage errors
 * exit 2 and failures 1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliSuiteTest {
  private static final String USER = "user-token-0123456789abcdef";
  private static final String ADMIN = "admin-token-0123456789abcdef";
  private static final Pattern STACK_TRACE = Pattern.compile("(?m)^\\s+at [\\w.$/]+\\(|Caused by:|Exception\\b");
  /** The commands that talk to a daemon; each must take the connection options. */
  private static final List<String> CLIENT_COMMANDS = List.of("ls", "mem", "health", "monitor", "top", "sessions",
      "reclaim", "run");

  private Path dir;
  private TestCertificates certs;
  private VnrtRuntime runtime;
  private DaemonServer server;
  private String target;
  private String closed;
  private Path model;
  private Path userToken;
  private Path adminToken;
  private Path wrongToken;

  /** What a command printed and returned. */
  record Run(List<String> args, int exitCode, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }

    @Override
    public String toString() {
      return "vnrt " + String.join(" ", args) + " -> " + exitCode + "\nstdout: " + out + "\nstderr: " + err;
    }
  }

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
    userToken = Files.writeString(dir.resolve("user.token"), USER + "\n");
    adminToken = Files.writeString(dir.resolve("admin.token"), ADMIN + "\n");
    wrongToken = Files.writeString(dir.resolve("wrong.token"), "not-the-token-0123456789\n");
    model = Files.write(dir.resolve("dense.onnx"), TestModels.dense());
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(1 << 20).withTopology(
        Topology.of(Profile.CPU, Optional.empty(), Optional.of(2), Optional.of(64L << 20), Optional.empty())));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
            Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()),
        new Security(Optional.of(new Security.Tls(certs.cert("server"), certs.key("server"), Optional.empty())),
            Optional.of(USER), Optional.of(ADMIN)));
    target = "127.0.0.1:" + server.tcpAddress().orElseThrow().getPort();
    try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = "127.0.0.1:" + free.getLocalPort();
    }
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
    if (runtime != null) {
      runtime.close();
    }
  }

  private static Run run(Map<String, String> env, List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine(env).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args.toArray(String[]::new));
    Run r = new Run(args, code, out.toString(), err.toString());
    assertFalse(STACK_TRACE.matcher(r.out() + r.err()).find(), "a stack trace reached the user: " + r);
    return r;
  }

  private static Run run(List<String> args) {
    return run(Map.of(), args);
  }

  /** What each client command needs besides the connection options, to do its job once. */
  private List<String> job(String command) {
    return switch (command) {
      case "monitor" -> List.of("monitor", "--count", "1", "--period-ms", "100");
      case "top" -> List.of("top", "--once");
      case "reclaim" -> List.of("reclaim", "no-such-session");
      case "run" -> List.of("run", "--model", model.toString(), "--dim", "N=2", "--iterations", "2", "--warmup", "0");
      default -> List.of(command);
    };
  }

  private static boolean admin(String command) {
    return command.equals("sessions") || command.equals("reclaim");
  }

  private static List<String> plus(List<String> a, String... b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(List.of(b));
    return all;
  }

  private List<String> secured(String command, Path token) {
    return plus(job(command), "--target", target, "--tls-ca", certs.cert("ca").toString(), "--token-file",
        token.toString());
  }

  private Path tokenFor(String command) {
    return admin(command) ? adminToken : userToken;
  }

  /** A failure: the exit code, one line (or two) on stderr holding every fragment, nothing on stdout. */
  private static void assertFailure(Run r, int exitCode, String... fragments) {
    assertEquals(exitCode, r.exitCode(), r.toString());
    assertTrue(r.errLines().size() >= 1 && r.errLines().size() <= 2, "one or two lines: " + r);
    assertTrue(r.err().startsWith("vnrt"), "the message names the command: " + r);
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "'" + f + "' missing: " + r);
    }
    assertEquals("", r.out(), "nothing on stdout: " + r);
  }

  @Test
  void everyClientCommandWorksAgainstTheSecuredDaemon() throws Exception {
    for (String command : CLIENT_COMMANDS) {
      if (command.equals("reclaim")) {
        continue;
      }
      Run r = run(secured(command, tokenFor(command)));
      assertEquals(0, r.exitCode(), r.toString());
      assertEquals("", r.err(), r.toString());
      assertFalse(r.out().isBlank(), r.toString());
    }
    try (VnrtClient app = VnrtClient.connect(target, ConnectOptions.plaintext().withTrustedCa(certs.cert("ca"))
        .withBearerToken(USER))) {
      Session held = app.openSession("held");
      String id = runtime.sessions().sessions().getFirst().publicId();
      Run reclaim = run(plus(List.of("reclaim", id), "--target", target, "--tls-ca", certs.cert("ca").toString(),
          "--token-file", adminToken.toString()));
      assertEquals(0, reclaim.exitCode(), reclaim.toString());
      assertTrue(reclaim.out().startsWith("reclaimed session " + id), reclaim.toString());
      assertEquals(0, runtime.sessions().openCount());
      assertNotNull(held);
    }
  }

  @Test
  void theConnectionOptionsComeFromTheEnvironmentToo() {
    for (String command : CLIENT_COMMANDS) {
      if (command.equals("reclaim")) {
        continue;
      }
      Map<String, String> env = Map.of("VNRT_TARGET", target, "VNRT_TLS_CA", certs.cert("ca").toString(),
          "VNRT_TOKEN_FILE", tokenFor(command).toString());
      Run r = run(env, job(command));
      assertEquals(0, r.exitCode(), r.toString());
    }
  }

  @Test
  void mutualTlsOptionsReachTheDaemonThroughEveryCommand() throws Exception {
    try (DaemonServer mtls = DaemonServer.start(runtime, new DaemonServer.Listeners(
            Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()),
        new Security(Optional.of(new Security.Tls(certs.cert("server"), certs.key("server"),
            Optional.of(certs.cert("ca")))), Optional.empty(), Optional.of(ADMIN)))) {
      String at = "127.0.0.1:" + mtls.tcpAddress().orElseThrow().getPort();
      for (String command : List.of("ls", "health", "sessions")) {
        Map<String, String> env = new HashMap<>(Map.of("VNRT_TLS_CA", certs.cert("ca").toString(),
            "VNRT_TLS_CERT", certs.cert("client").toString(), "VNRT_TLS_KEY", certs.key("client").toString()));
        env.put("VNRT_TOKEN_FILE", adminToken.toString());
        assertEquals(0, run(env, plus(job(command), "--target", at)).exitCode(), command);
        Run noCertificate = run(plus(job(command), "--target", at, "--tls-ca", certs.cert("ca").toString(),
            "--token-file", adminToken.toString()));
        assertFailure(noCertificate, 1, "the daemon at " + at + " requires a client certificate", "--tls-cert",
            "--tls-key");
      }
      Run foreign = run(List.of("ls", "--target", at, "--tls-ca", certs.cert("ca").toString(), "--tls-cert",
          certs.cert("foreign-client").toString(), "--tls-key", certs.key("foreign-client").toString()));
      assertFailure(foreign, 1, "the daemon at " + at + " refused the client certificate", "--tls-client-ca");
    }
  }

  @Test
  void everyClientCommandExplainsAClosedPortTheSameWay() {
    for (String command : CLIENT_COMMANDS) {
      Run r = run(plus(job(command), "--target", closed));
      assertFailure(r, 1, "cannot reach a vnrt daemon at " + closed + " (connection refused)",
          "start one with `bin/vnrt daemon`, or pass --target");
      assertEquals(1, r.errLines().size(), r.toString());
    }
  }

  @Test
  void aTlsDaemonReachedWithoutTheCaIsNamedAsSuch() {
    for (String command : CLIENT_COMMANDS) {
      Run r = run(plus(job(command), "--target", target, "--token-file", tokenFor(command).toString()));
      assertFailure(r, 1, "the daemon at " + target + " speaks TLS", "--tls-ca");
      assertFalse(r.err().contains("bin/vnrt daemon"), "not the advice for a daemon that is not there: " + r);
    }
  }

  @Test
  void aPlaintextDaemonReachedWithTheCaIsNamedAsSuch() throws Exception {
    try (DaemonServer plain = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()))) {
      String at = "127.0.0.1:" + plain.tcpAddress().orElseThrow().getPort();
      Run r = run(List.of("ls", "--target", at, "--tls-ca", certs.cert("ca").toString()));
      assertFailure(r, 1, "the daemon at " + at + " does not speak TLS", "drop --tls-ca");
      Run foreign = run(List.of("ls", "--target", target, "--tls-ca", certs.cert("other-ca").toString(),
          "--token-file", userToken.toString()));
      assertFailure(foreign, 1, "TLS with the daemon at " + target + " failed", "--tls-ca is the CA");
    }
  }

  @Test
  void aMissingOrWrongTokenIsNamed() {
    for (String command : CLIENT_COMMANDS) {
      if (command.equals("health")) {
        continue;   // the health service stays open, for probes
      }
      Run missing = run(plus(job(command), "--target", target, "--tls-ca", certs.cert("ca").toString()));
      assertFailure(missing, 1, "the daemon at " + target + " wants", "--token-file",
          admin(command) ? "--admin-token-file" : "--auth-token-file");
      Run wrong = run(secured(command, wrongToken));
      assertFailure(wrong, 1, "refused the token in " + wrongToken);
    }
    Run userTokenForAdmin = run(secured("sessions", userToken));
    assertFailure(userTokenForAdmin, 1, "refused the token in " + userToken, "--admin-token-file");
  }

  @Test
  void usageErrorsAreTheMessageAndWhereTheHelpIsThenExitTwo() throws IOException {
    Path noKey = Files.writeString(dir.resolve("cert-only.pem"), "");
    for (String command : CLIENT_COMMANDS) {
      String help = "see `vnrt " + command + " --help`";
      Run unknown = run(plus(job(command), "--no-such-flag"));
      assertFailure(unknown, 2, "Unknown option: '--no-such-flag'", help);
      assertEquals(2, unknown.errLines().size(), unknown.toString());
      assertFailure(run(plus(job(command), "--target", "nonsense")), 2, "'nonsense' is not host:port", help);
      assertFailure(run(plus(job(command), "--target", target, "--tls-ca", certs.cert("ca").toString(),
          "--tls-cert", noKey.toString())), 2, "--tls-cert and --tls-key go together", help);
      assertFailure(run(plus(job(command), "--token-file", dir.resolve("absent").toString())), 2,
          "--token-file " + dir.resolve("absent") + ": no readable file there", help);
    }
    assertFailure(run(List.of("nonsense")), 2, "vnrt: Unmatched argument", "see `vnrt --help`");
    assertFailure(run(List.of("monitor", "--period-ms", "5")), 2, "--period-ms must be 100..3600000, got 5");
    assertFailure(run(List.of("ls", "--target")), 2, "Missing required parameter for option '--target'");
  }

  @Test
  void everyClientCommandTakesTheSameConnectionOptionsFromOnePlace() {
    CommandLine cl = Main.commandLine(Map.of());
    for (String command : CLIENT_COMMANDS) {
      CommandLine.Model.CommandSpec spec = cl.getSubcommands().get(command).getCommandSpec();
      assertTrue(spec.mixins().values().stream().anyMatch(m -> m.userObject() instanceof TargetOptions), command);
      for (String option : List.of("--target", "--tls-ca", "--tls-cert", "--tls-key", "--token-file")) {
        assertNotNull(spec.findOption(option), command + " " + option);
      }
    }
  }

  @Test
  void daemonValueErrorsSayWhatWasExpectedOnce() throws Exception {
    for (List<String> args : List.of(List.of("daemon", "--hbm", "12XB"), List.of("daemon", "--listen", "garbage"))) {
      Run r = run(args);
      assertFailure(r, 2, "expected", "see `vnrt daemon --help`");
      assertEquals(1, r.err().split("expected", -1).length - 1, "'expected' once: " + r);
    }
    int port = server.tcpAddress().orElseThrow().getPort();
    Run inUse = run(List.of("daemon", "--listen", "127.0.0.1:" + port, "--hbm", "16MiB", "--cores-per-device", "1"));
    assertFailure(inUse, 1, "cannot listen on 127.0.0.1:" + port, "already in use", "sport = :" + port);
  }

  @Test
  void runNamesTheFlagThatIsWrong() throws IOException {
    Path notOnnx = Files.writeString(dir.resolve("notes.onnx"), "not a model\n");
    List<String> embedded = List.of("run", "--embedded", "--model", model.toString(), "--dim", "N=1");
    assertFailure(run(plus(embedded, "--cores", "0")), 2, "--cores must be at least 1, got 0");
    assertFailure(run(plus(embedded, "--iterations", "0")), 2, "--iterations must be at least 1, got 0");
    assertFailure(run(List.of("run", "--embedded", "--model", dir.toString())), 2,
        "--model " + dir + " is a directory");
    assertFailure(run(plus(embedded, "--dim", "M=3")), 2, "--dim M: the model has no symbolic dimension M",
        "its symbolic dimensions are [N]");
    assertFailure(run(plus(secured("run", userToken), "--dim", "M=3")), 2, "no symbolic dimension M");
    Run bad = run(List.of("run", "--embedded", "--model", notOnnx.toString()));
    assertFailure(bad, 1, "vnrt run: cannot load " + notOnnx + ": not an ONNX model");
    assertEquals(1, bad.errLines().size(), bad.toString());
    assertFailure(run(List.of("run", "--target", target, "--tls-ca", certs.cert("ca").toString(), "--token-file",
        userToken.toString(), "--model", notOnnx.toString())), 1, "not an ONNX model");
    assertFailure(run(List.of("conformance", "--cores", "x", dir.toString())), 2, "--cores needs a whole number");
  }

  @Test
  void runSpeaksTheSameInBothModesAndWritesJsonInBoth() throws Exception {
    Run embedded = run(List.of("run", "--embedded", "--model", model.toString(), "--dim", "N=2", "--iterations",
        "3", "--warmup", "1", "--cores", "2"));
    Run remote = run(plus(secured("run", userToken), "--cores", "2"));
    String load = "model dense: loaded in [0-9.]+ ms on 2 cores \\((in this process|device 0, cores \\[0, 1])\\); "
        + "weights [0-9.]+ (B|KiB|MiB), scratch [0-9.]+ (B|KiB|MiB)";
    for (Run r : List.of(embedded, remote)) {
      assertEquals(0, r.exitCode(), r.toString());
      assertTrue(r.out().lines().findFirst().orElseThrow().matches(load), r.toString());
    }
    for (List<String> args : List.of(List.of("run", "--embedded", "--model", model.toString(), "--dim", "N=2",
        "--iterations", "3", "--warmup", "1", "--json"), plus(secured("run", userToken), "--json"))) {
      Run r = run(args);
      assertEquals(0, r.exitCode(), r.toString());
      Struct.Builder json = Struct.newBuilder();
      JsonFormat.parser().merge(r.out(), json);
      Map<String, com.google.protobuf.Value> fields = json.getFieldsMap();
      assertEquals("dense", fields.get("model").getStringValue(), r.toString());
      for (String key : List.of("cores", "loadMs", "weightsBytes", "executions", "p50Ms", "p90Ms", "p99Ms",
          "throughputPerSecond")) {
        assertTrue(fields.get(key).hasNumberValue(), key + " is a number: " + r);
      }
    }
  }

  @Test
  void jsonOutputWritesSizesAndCountsAsNumbers() throws Exception {
    try (VnrtClient app = VnrtClient.connect(target, ConnectOptions.plaintext().withTrustedCa(certs.cert("ca"))
        .withBearerToken(USER)); Session listed = app.openSession("listed")) {
      Run sessions = run(plus(secured("sessions", adminToken), "--json"));
      assertTrue(Pattern.compile("\"idleMs\": [0-9]+").matcher(sessions.out()).find(), sessions.toString());
      assertTrue(sessions.out().contains("\"clientName\": \"listed\""), sessions.toString());
      assertNotNull(listed);
    }
    Run ls = run(plus(secured("ls", userToken), "--json"));
    assertEquals(0, ls.exitCode(), ls.toString());
    assertTrue(ls.out().contains("\"hbmCapacityBytes\": " + (64L << 20)), ls.toString());
    Run mem = run(plus(secured("mem", userToken), "--json"));
    assertTrue(mem.out().contains("\"capacityBytes\": " + (64L << 20)), mem.toString());
    Run sessions = run(plus(secured("sessions", adminToken), "--json"));
    Run monitor = run(secured("monitor", userToken));
    assertFalse(Pattern.compile("Bytes\":\"").matcher(monitor.out()).find(), monitor.toString());
    for (Run r : List.of(ls, mem, sessions, monitor)) {
      assertFalse(Pattern.compile("\"[0-9]+\"").matcher(r.out()).find(), "no number as a string: " + r);
      JsonFormat.parser().merge(r.out(), Struct.newBuilder());
    }
  }
}
