package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ReadTensorRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.models.CoreGroupScheduler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Graceful shutdown over TCP: once draining, health is NOT_SERVING and new work is refused with
 * UNAVAILABLE, while a streaming read already running finishes with all its bytes; sessions are
 * then released and the pools end empty. Executions queued on a held core group likewise run to
 * completion with their results once the hold is released, while a new Execute is refused. A read that outlives the drain timeout is cancelled.
 */
class DrainTest {
  private static final long SIZE = AbstractEndToEndTest.PAUSED_READ_BYTES;

  private VnrtRuntime runtime;
  private DaemonServer server;
  private VnrtClient client;
  private Transports.OwnedChannel raw;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(1 << 20).withTopology(
        Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(2 * SIZE), Optional.empty())));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
    client = VnrtClient.connect(server.targets().getFirst());
    raw = Transports.open(server.targets().getFirst());
  }

  @AfterEach
  void stop() {
    client.close();
    raw.shutdown();
    server.close();
    runtime.close();
    assertEquals(0, runtime.devices().device(0).pool().usedBytes(), "the pool ends empty");
  }

  private AbstractEndToEndTest.PausedRead startRead(Session session, DeviceTensor t) throws Exception {
    Metadata headers = new Metadata();
    headers.put(Session.SESSION_ID_KEY, session.id());
    AbstractEndToEndTest.PausedRead read = new AbstractEndToEndTest.PausedRead();
    MemoryGrpc.newStub(raw.channel()).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .readTensor(ReadTensorRequest.newBuilder().setHandle(t.handle()).setChunkBytes(64 << 10).build(), read);
    read.first.get(10, TimeUnit.SECONDS);
    return read;
  }

  private ServingStatus health(String service) {
    return HealthGrpc.newBlockingStub(raw.channel())
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  @Test
  void inFlightWorkFinishesWhileNewWorkIsRefused() throws Exception {
    Session session = client.openSession("drain");
    DeviceTensor t = session.allocate(TensorSpec.raw(SIZE), 0);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment content = AbstractEndToEndTest.pattern(arena, SIZE, 7);
      t.write(content);
      AbstractEndToEndTest.PausedRead read = startRead(session, t);
      assertEquals(ServingStatus.SERVING, health(""));

      server.beginDrain();
      assertEquals(ServingStatus.NOT_SERVING, health(""));
      assertEquals(ServingStatus.NOT_SERVING, health("vnrt.v1.Memory"));
      VnrtException refused = assertThrows(VnrtException.class, () -> session.allocate(TensorSpec.raw(64), 0));
      assertEquals(Status.Code.UNAVAILABLE, refused.code());
      assertTrue(refused.getMessage().contains("draining"), refused.getMessage());
      assertEquals(Status.Code.UNAVAILABLE, assertThrows(VnrtException.class, () -> client.openSession("late"))
          .code());
      assertEquals(1, server.callsInProgress(), "the read is still running");
      assertFalse(server.awaitDrained(Duration.ZERO), "not drained while the read runs");

      read.stream.request(Integer.MAX_VALUE);
      MemorySegment back = read.done.get(30, TimeUnit.SECONDS);
      assertEquals(-1, content.mismatch(back), "the in-flight read completed with every byte");
      assertTrue(server.awaitDrained(Duration.ofSeconds(10)));
    }
    session.close();
    assertEquals(0, runtime.sessions().openCount(), "closing a session is allowed while draining");
    assertEquals(0, runtime.devices().device(0).pool().usedBytes());
  }

  @Test
  void queuedExecutionsCompleteWhileNewExecutionsAreRefused() throws Exception {
    Session session = client.openSession("drain-exec");
    Model model = session.loadModel(AbstractModelEndToEndTest.addModel(), LoadOptions.defaults().withName("add"));
    Metadata headers = new Metadata();
    headers.put(Session.SESSION_ID_KEY, session.id());
    var exec = ExecutionGrpc.newStub(raw.channel()).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    CoreGroupScheduler scheduler = runtime.models().scheduler(
        runtime.models().all().stream().filter(m -> m.id().equals(model.id())).findFirst().orElseThrow());
    List<CompletableFuture<ExecuteResponse>> inFlight = new ArrayList<>();
    try (AutoCloseable held = scheduler.hold()) {
      for (int i = 0; i < 3; i++) {
        CompletableFuture<ExecuteResponse> f = new CompletableFuture<>();
        exec.execute(AbstractModelEndToEndTest.addRequest(model.id(), AbstractModelEndToEndTest.ramp(16, i * 100),
            AbstractModelEndToEndTest.ramp(16, 1), 1), AbstractEndToEndTest.observer(f));
        inFlight.add(f);
      }
      AbstractEndToEndTest.awaitTrue(() -> scheduler.queued() == 3, "three executions queued behind the hold");

      server.beginDrain();
      assertEquals(ServingStatus.NOT_SERVING, health(""));
      assertEquals(ServingStatus.NOT_SERVING, health("vnrt.v1.Execution"));
      CompletableFuture<ExecuteResponse> late = new CompletableFuture<>();
      exec.execute(AbstractModelEndToEndTest.addRequest(model.id(), AbstractModelEndToEndTest.ramp(16, 0),
          AbstractModelEndToEndTest.ramp(16, 0), 1), AbstractEndToEndTest.observer(late));
      ExecutionException refused = assertThrows(ExecutionException.class, () -> late.get(10, TimeUnit.SECONDS));
      Status status = Status.fromThrowable(refused.getCause());
      assertEquals(Status.Code.UNAVAILABLE, status.getCode());
      assertTrue(status.getDescription().contains("draining"), status.getDescription());
      assertEquals(3, scheduler.queued(), "the refused execution never reached the queue");
      assertEquals(3, server.callsInProgress(), "the three queued executions are still running calls");
      assertFalse(server.awaitDrained(Duration.ZERO), "not drained while executions wait");
    }
    for (int i = 0; i < 3; i++) {
      ExecuteResponse r = inFlight.get(i).get(30, TimeUnit.SECONDS);
      assertArrayEquals(AbstractModelEndToEndTest.sum(AbstractModelEndToEndTest.ramp(16, i * 100),
          AbstractModelEndToEndTest.ramp(16, 1)), AbstractModelEndToEndTest.floats(r.getOutputs(0).getData()),
          "in-flight execution " + i + " completed with its own result");
    }
    assertTrue(server.awaitDrained(Duration.ofSeconds(10)));
    session.close();
    assertEquals(0, runtime.sessions().openCount(), "closing a session (and unloading its model) is allowed while draining");
    assertEquals(0, runtime.devices().device(0).pool().usedBytes());
  }

  @Test
  void workOutlivingTheDrainTimeoutIsCancelledAndItsMemoryReleased() throws Exception {
    Session session = client.openSession("slow");
    DeviceTensor t = session.allocate(TensorSpec.raw(SIZE), 0);
    AbstractEndToEndTest.PausedRead read = startRead(session, t);
    assertFalse(server.drain(Duration.ofMillis(20)), "the paused read does not finish in time");
    server.close(Duration.ZERO);
    read.stream.request(Integer.MAX_VALUE);
    ExecutionException failed = assertThrows(ExecutionException.class, () -> read.done.get(10, TimeUnit.SECONDS));
    Status.Code code = Status.fromThrowable(failed.getCause()).getCode();
    assertTrue(code == Status.Code.UNAVAILABLE || code == Status.Code.CANCELLED, "the read was cut short: " + code);
    runtime.sessions().closeAll("the daemon shut down");
  }
}
