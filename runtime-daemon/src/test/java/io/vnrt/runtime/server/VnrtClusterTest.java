package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.Session;
import io.vnrt.client.VnrtCluster;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ServerMetadataRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A multi-target client over three loopback daemons: round_robin spreads session-free calls evenly. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VnrtClusterTest {
  private final List<VnrtRuntime> runtimes = new ArrayList<>();
  private final List<DaemonServer> servers = new ArrayList<>();
  private final List<String> targets = new ArrayList<>();

  @BeforeAll
  void startThreeDaemons() throws Exception {
    for (int i = 1; i <= 3; i++) {
      // each daemon has a different HBM size, so an answer tells which daemon gave it
      VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1,
          Optional.of(1), Optional.empty(), Optional.of((long) i << 20), Optional.empty())));
      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      runtimes.add(runtime);
      servers.add(server);
      targets.add(server.targets().getFirst());
    }
  }

  @AfterAll
  void stop() {
    servers.forEach(DaemonServer::close);
    runtimes.forEach(VnrtRuntime::close);
  }

  @Test
  void sessionFreeCallsSpreadEvenlyAcrossEveryDaemon() {
    try (VnrtCluster cluster = VnrtCluster.connect(String.join(",", targets))) {
      // round_robin connects to every address before it starts picking; warm up until all are seen
      Map<Long, Integer> seen = new TreeMap<>();
      for (int i = 0; i < 300 && seen.size() < 3; i++) {
        seen.merge(cluster.runtimeInfo().getDevices(0).getHbmCapacityBytes(), 1, Integer::sum);
      }
      assertEquals(3, seen.size(), "daemons answering: " + seen);
      seen.clear();
      for (int i = 0; i < 30; i++) {
        seen.merge(cluster.runtimeInfo().getDevices(0).getHbmCapacityBytes(), 1, Integer::sum);
      }
      assertEquals(Map.of(1L << 20, 10, 2L << 20, 10, 3L << 20, 10), seen, "30 calls over 3 ready daemons");
      var kserve = GRPCInferenceServiceGrpc.newBlockingStub(cluster.balancedChannel());
      assertEquals("vnrt", kserve.serverMetadata(ServerMetadataRequest.getDefaultInstance()).getName());
    }
  }

  @Test
  void sessionsAreOnePerDaemon() {
    try (VnrtCluster cluster = VnrtCluster.connect(targets)) {
      List<Session> sessions = cluster.openSessions("cluster-test");
      assertEquals(3, sessions.size());
      for (int i = 0; i < 3; i++) {
        assertEquals(1, runtimes.get(i).sessions().openCount(), "daemon " + i + ": one client session each");
        assertEquals((i + 1L) << 20, sessions.get(i).memoryStats().getDevices(0).getCapacityBytes());
      }
    }
    for (VnrtRuntime r : runtimes) {
      assertEquals(0, r.sessions().openCount(), "no client session remains (the daemon's own kserve session is not counted)");
    }
  }

  @Test
  void badTargetsAreRefusedUpFront() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> VnrtCluster.connect(List.of("127.0.0.1:1", "unix:/tmp/x.sock")));
    assertTrue(e.getMessage().contains("host:port"), e.getMessage());
  }
}
