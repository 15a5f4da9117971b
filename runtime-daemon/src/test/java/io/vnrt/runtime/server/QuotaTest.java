package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.DeviceTensor;
import io.vnrt.client.ResourceExhaustedException;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.session.QuotaLimits;
import io.vnrt.runtime.session.SessionQuota;
import java.net.InetSocketAddress;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-session quotas and the daemon-wide session limit through the real daemon and SDK: a
 * refusal is RESOURCE_EXHAUSTED naming the quota, its use and its limit, takes nothing, and the
 * daemon goes on serving.
 */
class QuotaTest {
  private static final long QUOTA = 1 << 20;

  private VnrtRuntime runtime;
  private DaemonServer server;
  private VnrtClient client;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(4 << 20)
        .withTopology(Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(8L << 20),
            Optional.empty()))
        .withQuotas(new QuotaLimits(QUOTA, 1, 2), 2));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
    client = VnrtClient.connect(server.targets().getFirst());
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
    runtime.close();
  }

  private long used() {
    return runtime.devices().device(0).pool().usedBytes();
  }

  @Test
  void hbmQuotaRefusesTheAllocationThatWouldExceedItAndFreeingGivesItBack() {
    try (Session s = client.openSession("quota")) {
      DeviceTensor a = s.allocate(TensorSpec.raw(QUOTA / 2), 0);
      s.allocate(TensorSpec.raw(QUOTA / 4), 0);
      long before = used();
      ResourceExhaustedException e = assertThrows(ResourceExhaustedException.class,
          () -> s.allocate(TensorSpec.raw(QUOTA / 2), 0));
      assertTrue(e.getMessage().contains("quota hbm_bytes exceeded"), e.getMessage());
      assertTrue(e.getMessage().contains("768.0 KiB of its 1.0 MiB"), e.getMessage());
      assertEquals("hbm_bytes", e.context().get("quota"));
      assertEquals(String.valueOf(QUOTA * 3 / 4), e.context().get("used"));
      assertEquals(String.valueOf(QUOTA), e.context().get("limit"));
      assertEquals(before, used(), "the refusal took no memory");

      s.allocateHost(TensorSpec.raw(QUOTA)).close();
      try (DeviceTensor slice = a.slice(0, TensorSpec.raw(QUOTA / 4))) {
        assertEquals(QUOTA / 4, slice.sizeBytes());
        assertEquals(QUOTA * 3 / 4, runtime.sessions().sessions().getFirst().quota().hbmBytes(),
            "host tensors and slices do not count");
      }
      a.close();
      s.allocate(TensorSpec.raw(QUOTA / 2), 0).close();
    }
    assertEquals(0, used());
    try (Session other = client.openSession("fresh")) {
      other.allocate(TensorSpec.raw(QUOTA), 0).close();
    }
  }

  @Test
  void theSessionLimitIsDaemonWideAndClosingMakesRoom() {
    Session one = client.openSession("one");
    Session two = client.openSession("two");
    ResourceExhaustedException e = assertThrows(ResourceExhaustedException.class,
        () -> client.openSession("three"));
    assertTrue(e.getMessage().contains("quota sessions exceeded"), e.getMessage());
    assertTrue(e.getMessage().contains("its limit of 2"), e.getMessage());
    assertEquals("2", e.context().get("limit"));
    one.close();
    client.openSession("three").close();
    two.close();
    assertEquals(0, runtime.sessions().openCount());
  }

  @Test
  void modelQuotaIsEnforcedByLoadsAndGivenBackByUnloads() {
    var session = runtime.sessions().open("svc", 0);
    byte[] relu = new io.vnrt.runtime.exec.ModelBuilder(13).input("x", io.vnrt.runtime.kernels.DType.FLOAT32, 4L)
        .output("y", io.vnrt.runtime.kernels.DType.FLOAT32, 4L).node("Relu", java.util.List.of("x"), java.util.List.of("y"))
        .bytes();
    var models = runtime.models();
    var first = models.load(session, io.vnrt.runtime.models.LoadSpec.auto("a", 0, 1, relu.length), relu);
    long used = used();
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> models.load(session, io.vnrt.runtime.models.LoadSpec.auto("b", 0, 1, relu.length), relu));
    assertTrue(e.getMessage().contains("quota models exceeded") && e.getMessage().contains("1 of its 1"), e.getMessage());
    assertEquals(used, used(), "the refused load took no memory");
    models.unload(session, first.id());
    models.unload(session, models.load(session, io.vnrt.runtime.models.LoadSpec.auto("b", 0, 1, relu.length), relu).id());
    assertEquals(0, session.quota().models());
  }

  @Test
  void executionQuotaCountsExecutionsInFlight() {
    SessionQuota quota = runtime.sessions().open("svc", 0).quota();
    quota.acquireExecution();
    quota.acquireExecution();
    VnrtRuntimeException executions = assertThrows(VnrtRuntimeException.class, quota::acquireExecution);
    assertEquals("executions_in_flight", executions.context().get("quota"));
    assertEquals(2, quota.executionsInFlight());
    quota.releaseExecution();
    quota.acquireExecution();
  }
}
