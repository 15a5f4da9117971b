package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.ConnectOptions;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import io.vnrt.runtime.server.Security;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vnrt sessions} and {@code vnrt reclaim} with the admin token, and refused without it. */
class AdminCliTest {
  private static final String USER = "user-token-0123456789abcdef";
  private static final String ADMIN = "admin-token-0123456789abcdef";

  @TempDir
  Path dir;

  private static CliTest.Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine(Map.of()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new CliTest.Run(code, out.toString(), err.toString());
  }

  @Test
  void sessionsListsEveryClientAndReclaimFreesOne() throws Exception {
    Path adminToken = Files.writeString(dir.resolve("admin"), ADMIN + "\n");
    Path userToken = Files.writeString(dir.resolve("user"), USER + "\n");
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(1 << 20)
        .withTopology(Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(4L << 20),
            Optional.empty())));
         DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
             Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()),
             new Security(Optional.empty(), Optional.of(USER), Optional.of(ADMIN)));
         VnrtClient app = VnrtClient.connect(server.targets().getFirst(),
             ConnectOptions.plaintext().withBearerToken(USER))) {
      String target = server.targets().getFirst();
      Session held = app.openSession("batch-job");
      held.allocate(TensorSpec.raw(1 << 20), 0);

      CliTest.Run list = run("sessions", "--target", target, "--token-file", adminToken.toString());
      assertEquals(0, list.exitCode(), list.err());
      assertTrue(list.out().contains("1 open session(s)"), list.out());
      assertTrue(list.out().contains("batch-job") && list.out().contains("1.0 MiB"), list.out());

      CliTest.Run denied = run("sessions", "--target", target, "--token-file", userToken.toString());
      assertEquals(1, denied.exitCode());
      assertTrue(denied.err().contains("PERMISSION_DENIED") || denied.err().contains("admin token"), denied.err());

      String id = runtime.sessions().sessions().getFirst().publicId();
      CliTest.Run reclaim = run("reclaim", id, "--target", target, "--token-file", adminToken.toString());
      assertEquals(0, reclaim.exitCode(), reclaim.err());
      assertTrue(reclaim.out().contains("reclaimed session " + id + ": freed 1 tensor(s), 1.0 MiB"), reclaim.out());
      assertEquals(0, runtime.devices().device(0).pool().usedBytes());
      assertEquals(0, runtime.sessions().openCount());
    }
  }
}
