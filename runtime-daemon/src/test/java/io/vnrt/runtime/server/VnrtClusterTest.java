package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtCluster;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ServerMetadataRequest;
import io.vnrt.proto.v1.GetRuntimeInfoRequest;
import io.vnrt.proto.v1.RuntimeGrpc;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A multi-target client over three loopback daemons: round_robin spreads session-free calls evenly,
 * and they keep succeeding, on the live daemons only, after one daemon is stopped; a
 * {@code dns:///} target balances over every address of the name and opens a session on each.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VnrtClusterTest {
  private final List<VnrtRuntime> runtimes = new ArrayList<>();
  private final List<DaemonServer> servers = new ArrayList<>();
  private final List<String> targets = new ArrayList<>();

  @BeforeAll
  void startThreeDaemons() throws Exception {
    for (int i = 1; i <= 3; i++) {
      startDaemon(i, new InetSocketAddress("127.0.0.1", 0), runtimes, servers, targets);
    }
  }

  /** A TCP daemon on {@code at} with {@code mib} MiB of HBM: an answer's HBM size tells which daemon gave it. */
  private static void startDaemon(int mib, InetSocketAddress at, List<VnrtRuntime> runtimes, List<DaemonServer> servers,
      List<String> targets) throws Exception {
    VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1,
        Optional.of(1), Optional.empty(), Optional.of((long) mib << 20), Optional.empty())));
    DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(at), Optional.empty(), Optional.empty()));
    runtimes.add(runtime);
    servers.add(server);
    targets.add(server.targets().getFirst());
  }

  /** HBM size of the daemon answering a runtime-info call on the balanced channel (optionally waiting for a ready one). */
  private static long whoAnswers(VnrtCluster cluster, boolean waitForReady) {
    var stub = RuntimeGrpc.newBlockingStub(cluster.balancedChannel()).withDeadlineAfter(10, TimeUnit.SECONDS);
    return (waitForReady ? stub.withWaitForReady() : stub).getRuntimeInfo(GetRuntimeInfoRequest.getDefaultInstance())
        .getDevices(0).getHbmCapacityBytes();
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
  void sessionFreeCallsSurviveOneDaemonBeingStopped() throws Exception {
    List<VnrtRuntime> ownRuntimes = new ArrayList<>();
    List<DaemonServer> ownServers = new ArrayList<>();
    List<String> ownTargets = new ArrayList<>();
    try {
      for (int mib = 4; mib <= 6; mib++) {
        startDaemon(mib, new InetSocketAddress("127.0.0.1", 0), ownRuntimes, ownServers, ownTargets);
      }
      try (VnrtCluster cluster = VnrtCluster.connect(ownTargets)) {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 300 && seen.size() < 3; i++) {
          seen.add(whoAnswers(cluster, false));
        }
        assertEquals(Set.of(4L << 20, 5L << 20, 6L << 20), seen, "all three daemons answer before the stop");

        // a caller keeps going while the 5 MiB daemon stops; a call caught by the stop may be retried once
        AtomicBoolean stopCaller = new AtomicBoolean();
        AtomicInteger callerCalls = new AtomicInteger();
        CompletableFuture<Void> caller = CompletableFuture.runAsync(() -> {
          while (!stopCaller.get()) {
            try {
              whoAnswers(cluster, false);
            } catch (StatusRuntimeException e) {
              if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) {
                throw e;
              }
              whoAnswers(cluster, true);
            }
            callerCalls.incrementAndGet();
          }
        });
        AbstractEndToEndTest.awaitTrue(() -> callerCalls.get() >= 10, "the caller is running");
        ownServers.get(1).close();
        ownRuntimes.get(1).close();
        int atStop = callerCalls.get();
        AbstractEndToEndTest.awaitTrue(() -> callerCalls.get() >= atStop + 20 || caller.isDone(),
            "the caller goes on after the stop");
        stopCaller.set(true);
        caller.get(10, TimeUnit.SECONDS);

        // settled: consecutive calls, with no retry, all succeed on the two live daemons only
        Map<Long, Integer> after = new TreeMap<>();
        for (int i = 0; i < 30; i++) {
          after.merge(whoAnswers(cluster, false), 1, Integer::sum);
        }
        assertEquals(Set.of(4L << 20, 6L << 20), after.keySet(), "30 calls after the stop: " + after);
        assertTrue(after.values().stream().allMatch(n -> n >= 10), "spread over both live daemons: " + after);
      }
    } finally {
      ownServers.forEach(DaemonServer::close);
      ownRuntimes.forEach(VnrtRuntime::close);
    }
  }

  @Test
  void aDnsTargetBalancesOverEveryAddressOfTheNameAndOpensASessionOnEach() throws Exception {
    List<VnrtRuntime> ownRuntimes = new ArrayList<>();
    List<DaemonServer> ownServers = new ArrayList<>();
    List<String> ownTargets = new ArrayList<>();
    try {
      // three daemons on one port of 127.0.0.1, .2 and .3: the addresses TestHostsResolverProvider gives the name
      startDaemon(7, new InetSocketAddress("127.0.0.1", 0), ownRuntimes, ownServers, ownTargets);
      int port = ownServers.getFirst().tcpAddress().orElseThrow().getPort();
      startDaemon(8, new InetSocketAddress("127.0.0.2", port), ownRuntimes, ownServers, ownTargets);
      startDaemon(9, new InetSocketAddress("127.0.0.3", port), ownRuntimes, ownServers, ownTargets);
      String target = "dns:///" + TestHostsResolverProvider.NAME + ":" + port;
      try (VnrtCluster cluster = VnrtCluster.connect(target)) {
        assertEquals(List.of(target), cluster.targets());
        assertEquals(List.of(), cluster.clients(), "per-daemon clients come with openSessions");
        Map<Long, Integer> seen = new TreeMap<>();
        for (int i = 0; i < 300 && seen.size() < 3; i++) {
          seen.merge(whoAnswers(cluster, true), 1, Integer::sum);
        }
        assertEquals(Set.of(7L << 20, 8L << 20, 9L << 20), seen.keySet(), "every address of the name answers");
        seen.clear();
        for (int i = 0; i < 30; i++) {
          seen.merge(cluster.runtimeInfo().getDevices(0).getHbmCapacityBytes(), 1, Integer::sum);
        }
        assertEquals(Map.of(7L << 20, 10, 8L << 20, 10, 9L << 20, 10), seen, "30 calls over the name's 3 addresses");
        assertEquals("vnrt", GRPCInferenceServiceGrpc.newBlockingStub(cluster.balancedChannel())
            .serverMetadata(ServerMetadataRequest.getDefaultInstance()).getName());

        List<Session> sessions = cluster.openSessions("dns-cluster-test");
        assertEquals(3, sessions.size(), "one session per address the name resolves to");
        for (int i = 0; i < 3; i++) {
          assertEquals(1, ownRuntimes.get(i).sessions().openCount(), "daemon " + i + ": one session");
          assertEquals((7L + i) << 20, sessions.get(i).memoryStats().getDevices(0).getCapacityBytes());
        }
        assertEquals(3, cluster.clients().size());
        sessions.forEach(Session::close);
        assertEquals(3, cluster.openSessions("again").size());
        assertEquals(3, cluster.clients().size(), "a second resolution reuses the clients of known addresses");
      }
      for (VnrtRuntime r : ownRuntimes) {
        assertEquals(0, r.sessions().openCount(), "closing the cluster closed its sessions");
      }
    } finally {
      ownServers.forEach(DaemonServer::close);
      ownRuntimes.forEach(VnrtRuntime::close);
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
    for (String bad : List.of("dns://10.0.0.53/vnrt.svc:50051", "dns:///vnrt.svc", "dns:///vnrt.svc:50051,127.0.0.1:1")) {
      var d = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> VnrtCluster.connect(bad));
      assertTrue(d.getMessage().contains("dns:///") || d.getMessage().contains("host:port"), bad + ": " + d.getMessage());
    }
  }
}
