package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.Model;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.session.FakeTicker;
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
 * One client cannot hold what every client needs: stalled uploads neither block other sessions' loads nor live
 * past the stream idle timeout, and one peer's connections are capped.
 */
class ClientLimitsTest {
  private static final long DEVICE = 64L << 20;
  private static final Duration IDLE = Duration.ofSeconds(30);
  private static final int PER_PEER = 4;

  private final FakeTicker ticker = new FakeTicker();
  private VnrtRuntime runtime;
  private DaemonServer server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(4 << 20)
        .withTopology(Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(DEVICE),
            Optional.empty()))
        .withLeases(Duration.ofMinutes(10), Duration.ofMinutes(10)).withClock(ticker, Duration.ofSeconds(1)));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()), Security.NONE,
        Optional.empty(), Duration.ZERO, new ServerLimits(IDLE, Duration.ZERO, PER_PEER));
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    server.close();
    runtime.close();
  }

  private ManagedChannel channel() {
    InetSocketAddress address = server.tcpAddress().orElseThrow();
    ManagedChannel channel = NettyChannelBuilder.forAddress(address).usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  /** A LoadModel stream that sends its header and one 1 KiB chunk of a model announced at {@code size}, then stalls. */
  private CompletableFuture<ModelInfo> stalledLoad(ManagedChannel channel, String sessionId, String name, long size) {
    Metadata headers = new Metadata();
    headers.put(SessionInterceptor.SESSION_ID, sessionId);
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    StreamObserver<LoadModelRequest> up = ModelGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .loadModel(AbstractEndToEndTest.observer(result));
    up.onNext(LoadModelRequest.newBuilder().setHeader(LoadModelHeader.newBuilder().setName(name).setDeviceId(0)
        .setAutoPlace(true).setCoreCount(1).setModelSizeBytes(size)).build());
    up.onNext(LoadModelRequest.newBuilder().setChunk(ByteString.copyFrom(new byte[1024])).build());
    return result;
  }

  private static Status.Code code(CompletableFuture<?> call) throws Exception {
    try {
      call.get(30, TimeUnit.SECONDS);
      return Status.Code.OK;
    } catch (ExecutionException e) {
      return ((StatusRuntimeException) e.getCause()).getStatus().getCode();
    }
  }

  @Test
  void stalledUploadsNeitherBlockAnotherSessionsLoadNorOutliveTheIdleTimeout() throws Exception {
    long half = runtime.models().maxModelBytes() / 2;
    String attacker = runtime.sessions().open("attacker", 0).id();
    ManagedChannel channel = channel();
    CompletableFuture<ModelInfo> first = stalledLoad(channel, attacker, "a", half);
    CompletableFuture<ModelInfo> second = stalledLoad(channel, attacker, "b", half);
    // both chunks have arrived once the daemon holds their bytes
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (runtime.models().uploadingBytes() < 2 * 1024 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertTrue(runtime.models().uploadingBytes() < 4L << 20,
        "headers announcing " + 2 * half + " bytes reserve nothing: " + runtime.models().uploadingBytes());

    byte[] relu = new ModelBuilder(13).input("x", DType.FLOAT32, 4L).output("y", DType.FLOAT32, 4L)
        .node("Relu", List.of("x"), List.of("y")).bytes();
    try (VnrtClient client = VnrtClient.connect(server.targets().getFirst());
        Session victim = client.openSession("victim");
        Model model = victim.loadModel(relu, io.vnrt.client.LoadOptions.defaults().withName("relu"))) {
      assertEquals("relu", model.name());
    }

    assertEquals(0, server.expireIdleStreams(), "not idle yet");
    assertFalse(first.isDone());
    ticker.advance(IDLE.plusSeconds(1));
    assertEquals(2, server.expireIdleStreams());
    assertEquals(Status.Code.DEADLINE_EXCEEDED, code(first));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, code(second));
    assertEquals(0, runtime.models().uploadingBytes(), "the idle streams' bytes were released");
  }

  @Test
  void oneSessionsUploadsInProgressHoldAtMostTheLargestModel() throws Exception {
    long max = runtime.models().maxModelBytes();
    String sessionId = runtime.sessions().open("greedy", 0).id();
    ManagedChannel channel = channel();
    Metadata headers = new Metadata();
    headers.put(SessionInterceptor.SESSION_ID, sessionId);
    ModelGrpc.ModelStub models = ModelGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    List<CompletableFuture<ModelInfo>> calls = new ArrayList<>();
    List<StreamObserver<LoadModelRequest>> streams = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      CompletableFuture<ModelInfo> result = new CompletableFuture<>();
      StreamObserver<LoadModelRequest> up = models.loadModel(AbstractEndToEndTest.observer(result));
      up.onNext(LoadModelRequest.newBuilder().setHeader(LoadModelHeader.newBuilder().setName("m" + i).setDeviceId(0)
          .setAutoPlace(true).setCoreCount(1).setModelSizeBytes(max)).build());
      ByteString chunk = ByteString.copyFrom(new byte[(int) (max / 8)]);
      for (int c = 0; c < 4; c++) {
        up.onNext(LoadModelRequest.newBuilder().setChunk(chunk).build());
      }
      calls.add(result);
      streams.add(up);
      // streams are served concurrently: the next starts once this one's half is charged, so the third is the one refused
      long charged = (i + 1) * (max / 2);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (i < 2 && runtime.models().uploadingBytes() < charged && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
    }
    // two halves fit the session's share; the third is refused while the others go on
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(calls.get(2)));
    assertFalse(calls.get(0).isDone() || calls.get(1).isDone());
    streams.get(0).onError(new RuntimeException("client gives up"));
    streams.get(1).onError(new RuntimeException("client gives up"));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (runtime.models().uploadingBytes() != 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(0, runtime.models().uploadingBytes());
  }

  @Test
  void aPeersConnectionsPastTheLimitAreClosedAndItsOthersKeepWorking() throws Exception {
    List<VnrtClient> clients = new ArrayList<>();
    try {
      for (int i = 0; i < PER_PEER; i++) {
        VnrtClient c = VnrtClient.connect(server.targets().getFirst());
        clients.add(c);
        c.openSession("c" + i).close();
      }
      VnrtClient extra = VnrtClient.connect(server.targets().getFirst());
      clients.add(extra);
      Exception refused = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> extra.openSession("one too many"));
      assertTrue(refused.toString().contains("UNAVAILABLE"), refused.toString());
      clients.getFirst().openSession("still served").close();
      clients.getFirst().close();
      // a closed connection makes room (the daemon sees the close asynchronously)
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      boolean served = false;
      while (!served && System.nanoTime() < deadline) {
        try (VnrtClient next = VnrtClient.connect(server.targets().getFirst())) {
          next.openSession("after a close").close();
          served = true;
        } catch (RuntimeException notYet) {
          Thread.onSpinWait();
        }
      }
      assertTrue(served, "a closed connection gives its place back");
    } finally {
      clients.forEach(VnrtClient::close);
    }
  }
}
