package io.vnrt.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.memory.HbmPool;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Leases measured on a fake clock: expiry frees everything and says so, calls keep a session alive. */
class SessionExpiryTest {
  private final FakeTicker ticker = new FakeTicker();
  private VnrtRuntime runtime;
  private HbmPool pool;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults()
        .withTopology(Topology.of(Profile.INF2, Optional.empty(), Optional.empty(), Optional.of(256L << 20),
            Optional.empty()))
        .withHostMemoryBytes(1 << 20)
        .withLeases(Duration.ofSeconds(60), Duration.ofMinutes(10))
        .withClock(ticker, Duration.ofHours(1))); // the test reaps by hand
    pool = runtime.devices().device(0).pool();
  }

  @AfterEach
  void stop() {
    runtime.close();
  }

  private static TensorRequest raw(long bytes, int core) {
    return new TensorRequest(0, core, false, DType.RAW, List.of(), bytes, "");
  }

  @Test
  void expiryFreesEverythingAndLogsWhatWasReclaimed() {
    Session s = runtime.sessions().open("svc", 0);
    s.allocate(raw(16 << 20, 0));
    s.allocate(raw(16 << 20, 1));
    Tensor parent = s.allocate(raw(16 << 20, -1));
    s.slice(parent.handle(), 0, 4096, DType.RAW, List.of(), "view");
    assertEquals(48L << 20, pool.usedBytes());

    ticker.advance(Duration.ofSeconds(59));
    assertEquals(0, runtime.sessions().reapExpired(), "the lease has a second left");

    ticker.advance(Duration.ofSeconds(2));
    String log = capturingStandardError(() -> assertEquals(1, runtime.sessions().reapExpired()));
    assertEquals(0, pool.usedBytes());
    assertEquals(0, runtime.sessions().openCount());
    assertTrue(log.contains("session " + s.publicId() + " (client 'svc') expired after 61000 ms without calls "
        + "(lease 60000 ms): freed 4 tensors, 48.0 MiB"), log);
    assertTrue(!log.contains(s.id()), "the secret id is never logged");

    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().beginCall(s.id()));
    assertEquals(VnrtRuntimeException.Kind.SESSION_CLOSED, e.kind());
    assertTrue(e.getMessage().contains("expired after 61.0 s without calls; open a new session"), e.getMessage());
    assertThrows(VnrtRuntimeException.class, () -> s.allocate(raw(64, -1)), "a dead session allocates nothing");
    assertEquals(0, pool.usedBytes());
  }

  @Test
  void aCallInProgressHoldsTheLeaseAndAnyCallRenewsIt() {
    Session s = runtime.sessions().open("busy", 0);
    s.allocate(raw(1 << 20, -1));
    assertSame(s, runtime.sessions().beginCall(s.id()));
    ticker.advance(Duration.ofMinutes(5));
    assertEquals(0, runtime.sessions().reapExpired(), "a long stream keeps its session");
    s.endCall();
    ticker.advance(Duration.ofSeconds(59));
    assertEquals(0, runtime.sessions().reapExpired(), "the lease runs from the end of the last call");
    runtime.sessions().beginCall(s.id()).endCall();
    ticker.advance(Duration.ofSeconds(59));
    assertEquals(0, runtime.sessions().reapExpired(), "the call renewed the lease");
    ticker.advance(Duration.ofSeconds(1));
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().beginCall(s.id()),
        "a call arriving after the lease ran out finds the session expired, reaper or not");
    assertTrue(e.getMessage().contains("expired"), e.getMessage());
    assertEquals(0, pool.usedBytes());
  }

  @Test
  void leasesAreCappedAndIdsAreUnguessable() {
    Session a = runtime.sessions().open("a", Duration.ofHours(5).toMillis());
    assertEquals(Duration.ofMinutes(10).toNanos(), a.ttlNanos(), "capped at the maximum");
    Session b = runtime.sessions().open("  ", 1500);
    assertEquals("unnamed", b.clientName());
    assertEquals(Duration.ofMillis(1500).toNanos(), b.ttlNanos());
    assertTrue(a.id().matches("[0-9a-f]{32}"), a.id());
    assertEquals(a.id().substring(0, 8), a.publicId());
    assertSame(a, runtime.sessions().byPublicId(a.publicId()));
    assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().open("x".repeat(300), 0));
    assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().open("neg", -1));
  }

  @Test
  void closingTwiceReclaimsOnceAndUnknownIdsAreExplained() {
    Session s = runtime.sessions().open("twice", 0);
    s.allocate(raw(1000, -1));
    assertEquals(new ReclaimReport(1, 0, 1024), runtime.sessions().close(s));
    assertEquals(ReclaimReport.NOTHING, runtime.sessions().close(s));
    assertTrue(assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().beginCall(s.id())).getMessage()
        .contains("was closed by its client"));
    assertTrue(assertThrows(VnrtRuntimeException.class, () -> runtime.sessions().beginCall(null)).getMessage()
        .contains("this call needs a session"));
    assertNull(runtime.sessions().byPublicId(s.publicId()));
  }

  private static String capturingStandardError(Runnable action) {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      action.run();
    } finally {
      System.setErr(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }
}
