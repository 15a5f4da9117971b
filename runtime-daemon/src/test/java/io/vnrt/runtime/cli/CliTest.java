package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.GetMemoryStatsResponse;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.server.DaemonServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code vnrt ls} and {@code vnrt mem} against a real daemon on a free port, and the daemon's flag parsing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliTest {
  private VnrtRuntime runtime;
  private DaemonServer server;
  private String target;

  /** What a command printed and returned. */
  record Run(int exitCode, String out, String err) {
  }

  @BeforeAll
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(2),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())).withHostMemoryBytes(1 << 20));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
    target = server.targets().getFirst();
  }

  @AfterAll
  void stop() {
    server.close();
    runtime.close();
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void lsPrintsDevicesAndTheSameAsJson() throws Exception {
    try (VnrtClient client = VnrtClient.connect(target); Session s = client.openSession("svc");
        DeviceTensor t = s.allocate(TensorSpec.of(DType.FLOAT32, 1 << 20), 1, 3)) {
      assertEquals(1, t.deviceId());
      Run table = run("ls", "--target", target);
      assertEquals(0, table.exitCode(), table.err());
      assertTrue(table.out().contains("| DEVICE | PROFILE | CORES | CORE IDS | HBM USED | HBM TOTAL | USE  |"),
          table.out());
      assertTrue(table.out().contains("| 1      | custom  | 2     | 2-3      | 4.0 MiB  | 64.0 MiB  | 6.3% |"),
          table.out());
      assertTrue(table.out().contains("vectors: " + VectorShape.BITS + "-bit, " + VectorShape.FLOAT_LANES
          + " floats each (the JVM compiles up to " + VectorShape.JVM_PREFERRED_BITS + "-bit"), table.out());
      assertTrue(table.out().contains("CPU features: " + (VectorShape.CPU_FEATURES.isEmpty() ? "unknown"
          : String.join(" ", VectorShape.CPU_FEATURES))), table.out());
      assertTrue(table.out().contains("GEMM: " + LinalgOps.gemmKernels()), table.out());
      assertTrue(table.out().contains("kernel warm-up: off"), table.out());

      Run json = run("ls", "--target", target, "--json");
      assertEquals(0, json.exitCode(), json.err());
      GetRuntimeInfoResponse.Builder parsed = GetRuntimeInfoResponse.newBuilder();
      JsonFormat.parser().merge(json.out(), parsed);
      assertEquals(2, parsed.getDevicesCount());
      assertEquals(4 << 20, parsed.getDevices(1).getHbmUsedBytes());
      assertEquals(4 << 20, parsed.getDevices(1).getCores(1).getHbmUsedBytes());
      assertTrue(json.out().contains("\"deviceId\": 0"), "zero values are printed too");
      assertEquals(VectorShape.BITS, parsed.getEngine().getVectorBits());
      assertEquals(LinalgOps.gemmKernels(), parsed.getEngine().getGemmKernels());
      assertTrue(json.out().contains("\"cpuFeatures\""), json.out());
    }
  }

  @Test
  void memShowsUseByCategorySessionAndCore() throws Exception {
    try (VnrtClient client = VnrtClient.connect(target); Session s = client.openSession("svc");
        DeviceTensor t = s.allocate(TensorSpec.raw(3 << 20), 0, 1)) {
      assertEquals(1, t.coreId());
      Run text = run("mem", "--target", target);
      assertEquals(0, text.exitCode(), text.err());
      assertTrue(text.out().contains("device 0: 3.0 MiB used of 64.0 MiB (4.7%)"), text.out());
      assertTrue(text.out().contains("by category: tensors 3.0 MiB, weights 0 B, scratch 0 B, runtime 0 B"),
          text.out());
      assertTrue(text.out().contains("by session:  " + s.id().substring(0, 8) + " (client 'svc') 3.0 MiB in 1 "
          + "allocation(s)"), text.out());
      assertTrue(text.out().contains("by core:     core 1 3.0 MiB"), text.out());

      Run json = run("mem", "--target", target, "--json");
      GetMemoryStatsResponse.Builder parsed = GetMemoryStatsResponse.newBuilder();
      JsonFormat.parser().merge(json.out(), parsed);
      assertEquals(3 << 20, parsed.getDevices(0).getUsedBytes());
    }
  }

  @Test
  void unreachableOrMalformedTargetsAreExplained() {
    Run down = run("ls", "--target", "127.0.0.1:1");
    assertEquals(1, down.exitCode());
    assertTrue(down.err().contains("cannot reach a vnrt daemon at 127.0.0.1:1"), down.err());
    assertTrue(down.err().contains("bin/vnrt daemon"), down.err());
    Run malformed = run("mem", "--target", "nonsense");
    assertEquals(2, malformed.exitCode());
    assertTrue(malformed.err().contains("target 'nonsense' is not host:port or unix:/path"), malformed.err());
  }

  @Test
  void daemonFlagsAreValidatedBeforeAnythingStarts() {
    Run badSize = run("daemon", "--hbm", "lots", "--listen", "none", "--uds", "/nonexistent/x.sock");
    assertEquals(2, badSize.exitCode());
    assertTrue(badSize.err().contains("invalid hbm 'lots' (from flag --hbm): expected a number with an optional unit"),
        badSize.err());
    Run badCores = run("daemon", "--profile", "trn1", "--visible-cores", "7", "--listen", "none");
    assertEquals(2, badCores.exitCode());
    assertTrue(badCores.err().contains("visible cores 7 name core 7, but the topology has cores 0-1"), badCores.err());
    Run badBacking = run("daemon", "--hbm-backing", "/nonexistent-dir", "--listen", "127.0.0.1:0");
    assertEquals(1, badBacking.exitCode());
    assertTrue(badBacking.err().contains("HBM backing directory /nonexistent-dir does not exist"), badBacking.err());
  }

  @Test
  void healthReportsServing() {
    Run healthy = run("health", "--target", target);
    assertEquals(0, healthy.exitCode(), healthy.err());
    assertEquals("SERVING", healthy.out().strip());
    Run service = run("health", "--target", target, "--service", "vnrt.v1.Memory");
    assertEquals(0, service.exitCode(), service.err());
    Run unknown = run("health", "--target", target, "--service", "no.such.Service");
    assertEquals(1, unknown.exitCode());
    assertTrue(unknown.err().contains("NOT_FOUND"), unknown.err());
    assertEquals(1, run("health", "--target", "127.0.0.1:1").exitCode());
  }

  @Test
  void listenAddressesParse() {
    assertEquals(50051, DaemonCommand.parseListen("127.0.0.1:50051").orElseThrow().getPort());
    assertEquals("0:0:0:0:0:0:0:1", DaemonCommand.parseListen("[::1]:0").orElseThrow().getAddress().getHostAddress());
    assertTrue(DaemonCommand.parseListen("none").isEmpty());
    assertThrows(IllegalArgumentException.class, () -> DaemonCommand.parseListen("50051"));
    assertThrows(IllegalArgumentException.class, () -> DaemonCommand.parseListen("host:99999"));
  }
}
