package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.InvalidArgumentException;
import io.vnrt.client.NotFoundException;
import io.vnrt.client.ResourceExhaustedException;
import io.vnrt.client.Session;
import io.vnrt.client.SessionClosedException;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ServerLiveRequest;
import io.vnrt.proto.v1.AllocateTensorRequest;
import io.vnrt.proto.v1.CategoryUsage;
import io.vnrt.proto.v1.CloseSessionResponse;
import io.vnrt.proto.v1.CoreUsage;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.DeviceInfo;
import io.vnrt.proto.v1.DeviceMemoryStats;
import io.vnrt.proto.v1.EngineInfo;
import io.vnrt.proto.v1.FreeTensorRequest;
import io.vnrt.proto.v1.GetMemoryStatsRequest;
import io.vnrt.proto.v1.GetMemoryStatsResponse;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.proto.v1.GetTensorRequest;
import io.vnrt.proto.v1.KernelWarmupInfo;
import io.vnrt.proto.v1.MemoryCategory;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.ReadTensorRequest;
import io.vnrt.proto.v1.ReadTensorResponse;
import io.vnrt.proto.v1.SessionUsage;
import io.vnrt.proto.v1.TensorInfo;
import io.vnrt.proto.v1.WriteTensorRequest;
import io.vnrt.proto.v1.WriteTensorResponse;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.session.FakeTicker;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;

/**
 * The daemon's contract, asserted the same way over every transport (TCP, Unix socket,
 * in-process): the real server and the real SDK, with a fake clock for leases. Every bad-input
 * test also checks that the pools hold what they held before and that the daemon still serves.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractEndToEndTest {
  static final long HBM_BYTES = 256L << 20;
  static final long HOST_BYTES = 64L << 20;
  static final Duration LEASE = Duration.ofSeconds(30);
  /**
   * A read the client pauses: well beyond what the daemon can send ahead of it (the 16 MiB HTTP/2
   * windows and the 8 MiB the daemon queues before it waits for the transport).
   */
  static final long PAUSED_READ_BYTES = 64L << 20;
  /** The SDK's chunk of a streamed write or read. */
  static final long SDK_CHUNK_BYTES = (4L << 20) - (4 << 10);

  /** A started daemon as one transport reaches it. */
  interface Fixture extends AutoCloseable {
    VnrtRuntime runtime();

    /** The SDK client the tests use. */
    VnrtClient client();

    /** Another client, as a second application would connect. */
    VnrtClient newClient();

    /** A channel for generated stubs. */
    Channel rawChannel();

    @Override
    void close();
  }

  /** Starts the daemon with {@code config} and connects over this class's transport. */
  abstract Fixture start(RuntimeConfig config) throws Exception;

  final FakeTicker ticker = new FakeTicker();
  Fixture fixture;
  VnrtClient client;
  Session session;

  @BeforeAll
  void startDaemon() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(2), Optional.empty(), Optional.of(HBM_BYTES),
        Optional.empty());
    RuntimeConfig config = RuntimeConfig.defaults()
        .withTopology(topology)
        .withHostMemoryBytes(HOST_BYTES)
        .withLeases(LEASE, Duration.ofSeconds(60))
        .withClock(ticker, Duration.ofMillis(50));
    fixture = start(config);
    client = fixture.client();
  }

  @AfterAll
  void stopDaemon() {
    fixture.close();
  }

  @BeforeEach
  void openSession() {
    session = client.openSession("e2e");
  }

  @AfterEach
  void closeSessionAndCheckNothingLeaks() throws Exception {
    session.close();
    awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "operations still pin memory");
    assertArrayEquals(new long[3], usedBytes(), "pools (device 0, device 1, host) are not empty after the test");
  }

  // ---- happy paths -------------------------------------------------------------------------

  @Test
  void runtimeInfoShowsTopologyAndLimits() {
    GetRuntimeInfoResponse info = client.runtimeInfo();
    assertEquals(VnrtRuntime.VERSION, info.getVersion());
    assertEquals(2, info.getDevicesCount());
    DeviceInfo d1 = info.getDevices(1);
    assertEquals(1, d1.getDeviceId());
    assertEquals("custom", d1.getProfile());
    assertEquals(HBM_BYTES, d1.getHbmCapacityBytes());
    assertEquals(List.of(2, 3), d1.getCoresList().stream().map(c -> c.getCoreId()).toList());
    assertEquals(List.of(0, 1), d1.getCoresList().stream().map(c -> c.getLocalIndex()).toList());
    assertTrue(info.getLimits().getMaxMessageBytes() > 16 << 20);
    assertEquals(1 << 20, info.getLimits().getStreamChunkBytes());
    assertTrue(info.getOpenSessions() >= 1);
  }

  @Test
  void runtimeInfoSaysWhatTheEngineRunsOnThisMachine() {
    EngineInfo engine = client.runtimeInfo().getEngine();
    assertEquals(VectorShape.BITS, engine.getVectorBits());
    assertEquals(VectorShape.BITS / 32, engine.getFloatLanes());
    assertTrue(List.of(128, 256, 512).contains(engine.getVectorBits()), "a width kernels compile: " + engine);
    assertTrue(engine.getJvmPreferredVectorBits() >= engine.getVectorBits(), engine.toString());
    assertEquals(List.copyOf(VectorShape.CPU_FEATURES), engine.getCpuFeaturesList());
    assertEquals(LinalgOps.gemmKernels(), engine.getGemmKernels());
    assertFalse(engine.getGemmKernels().isEmpty());
    assertEquals(LinalgOps.int8GemmKernels(), engine.getInt8GemmKernels());
    assertEquals(VectorShape.WARNING == null ? "" : VectorShape.WARNING, engine.getWarning());
    assertEquals(VectorShape.useAvx(), engine.getJvmUseAvx());
    assertEquals(String.valueOf(engine.getJvmMaxVectorSize()), VectorShape.jvmFlag("MaxVectorSize"));
    assertEquals(KernelWarmupInfo.State.STATE_OFF, engine.getKernelWarmup().getState(),
        "this daemon was started without a kernel warm-up");
  }

  @Test
  void floatTensorRoundTripIsAccountedBySessionAndCore() {
    try (DeviceTensor t = session.allocate(TensorSpec.of(DType.FLOAT32, 2, 3).named("x"), 0, 1)) {
      assertEquals(24, t.sizeBytes());
      assertEquals(1, t.coreId());
      float[] data = {1.5f, -2f, 3.25f, 0f, Float.MAX_VALUE, -0f};
      t.write(data);
      assertArrayEquals(data, t.readFloats());

      DeviceMemoryStats d0 = session.memoryStats().getDevices(0);
      assertEquals(64, d0.getUsedBytes(), "24 bytes take one 64-byte aligned block");
      assertEquals(64, category(d0, MemoryCategory.MEMORY_CATEGORY_TENSORS));
      SessionUsage mine = d0.getBySessionList().stream().filter(s -> s.getClientName().equals("e2e")).findFirst()
          .orElseThrow();
      assertEquals(64, mine.getUsedBytes());
      assertEquals(1, mine.getAllocations());
      assertEquals(session.id().substring(0, 8), mine.getSession(), "stats show the public id, never the secret");
      assertEquals(List.of(1), d0.getByCoreList().stream().map(CoreUsage::getCoreId).toList());
      assertEquals(64, client.runtimeInfo().getDevices(0).getCores(1).getHbmUsedBytes());
      assertTrue(d0.getPeakUsedBytes() >= 64);
    }
    assertEquals(0, session.memoryStats().getDevices(0).getUsedBytes());
  }

  @Test
  void longsByteBuffersAndSegmentsRoundTripAtOffsets() {
    try (DeviceTensor t = session.allocate(DType.INT64, new long[] {8}, 1, -1)) {
      long[] longs = {Long.MIN_VALUE, -1, 0, 1, 42, Long.MAX_VALUE, 7, 9};
      t.write(longs);
      assertArrayEquals(longs, t.readLongs());

      ByteBuffer in = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(123).putLong(456).flip();
      t.write(16, in);
      assertEquals(16, in.position(), "write consumes the buffer like a channel");
      ByteBuffer out = ByteBuffer.allocateDirect(24).order(ByteOrder.LITTLE_ENDIAN);
      t.read(8, out);
      assertEquals(24, out.position());
      assertEquals(List.of(-1L, 123L, 456L), List.of(out.getLong(0), out.getLong(8), out.getLong(16)));

      try (Arena arena = Arena.ofConfined()) {
        MemorySegment src = arena.allocate(8);
        src.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 77);
        t.write(56, src);
        MemorySegment back = arena.allocate(64);
        t.read(back);
        assertEquals(77, back.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 56));
        assertEquals(Long.MIN_VALUE, back.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
      }
    }
  }

  @Test
  void sixtyFourMebibyteRoundTripKeepsContent() {
    long size = 64L << 20;
    // a shared segment is sent without a copy (the chunks wrap it); confined ones elsewhere are copied
    try (Arena arena = Arena.ofShared(); DeviceTensor t = session.allocate(TensorSpec.raw(size), 0)) {
      MemorySegment src = pattern(arena, size, 0x5eed);
      t.write(src);
      MemorySegment back = arena.allocate(size);
      t.read(back);
      assertEquals(-1, src.mismatch(back), "64 MiB came back different");
      assertTrue(session.memoryStats().getDevices(0).getCommittedBytes() >= size,
          "written HBM is resident");
    }
  }

  @Test
  void oddSizesAtOddOffsetsRoundTripAcrossChunkBoundariesElementByElement() {
    long[] sizes = {1, 7, (64 << 10) - 1, (64 << 10) + 1, SDK_CHUNK_BYTES - 1, SDK_CHUNK_BYTES, SDK_CHUNK_BYTES + 1,
        3 * SDK_CHUNK_BYTES + 12_345};
    long offset = 5;
    try (DeviceTensor t = session.allocate(TensorSpec.raw(3 * SDK_CHUNK_BYTES + 12_345 + offset), 0)) {
      for (long size : sizes) {
        // a shared source is sent as it is (the chunks wrap it), a confined one through copies: both ways in
        for (boolean shared : new boolean[] {true, false}) {
          try (Arena arena = shared ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment src = pattern(arena, size, size * 31 + (shared ? 1 : 0));
            t.write(offset, src);
            MemorySegment back = arena.allocate(size);
            back.fill((byte) 0x5a);
            t.read(offset, back);
            assertEquals(-1, src.mismatch(back), size + " bytes at offset " + offset + (shared ? ", shared" : "")
                + ": first differing byte");
          }
        }
      }
    }
  }

  @Test
  void sdkTransfersCancelledMidStreamLeaveNoMemoryPinnedOrUsed() throws Exception {
    long size = 64L << 20;
    try (Arena arena = Arena.ofShared(); DeviceTensor t = session.allocate(TensorSpec.raw(size), 0)) {
      long[] before = usedBytes();
      MemorySegment src = pattern(arena, size, 3);
      MemorySegment dst = arena.allocate(size);
      for (int i = 0; i < 4; i++) {
        CompletableFuture<Long> write = t.writeAsync(0, src);
        awaitTrue(() -> write.isDone() || fixture.runtime().devices().busyOperations() > 0, "the write starts");
        write.cancel(true);
        CompletableFuture<Long> read = t.readAsync(0, dst);
        awaitTrue(() -> read.isDone() || fixture.runtime().devices().busyOperations() > 0, "the read starts");
        read.cancel(true);
        awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "cancelled transfers release their pins");
        assertArrayEquals(before, usedBytes(), "the pools hold the tensor and nothing more");
      }
      // and the tensor still takes and gives its whole content
      t.write(src);
      t.read(dst);
      assertEquals(-1, src.mismatch(dst));
    }
  }

  @Test
  void freeRacingAReadNeverLetsTheReadSeeReusedMemory() throws Exception {
    long size = 3 * SDK_CHUNK_BYTES + 4096;
    long[] before = usedBytes();
    try (Arena arena = Arena.ofShared()) {
      MemorySegment dst = arena.allocate(size);
      MemorySegment other = pattern(arena, size, 12345);
      int completed = 0;
      for (int i = 0; i < 12; i++) {
        MemorySegment src = pattern(arena, size, i);
        DeviceTensor t = session.allocate(TensorSpec.raw(size), 0);
        t.write(src);
        dst.fill((byte) 0);
        CompletableFuture<Long> read = t.readAsync(0, dst);
        if (i % 2 == 1) {
          awaitTrue(() -> read.isDone() || fixture.runtime().devices().busyOperations() > 0, "the read starts");
        }
        t.free();
        // the freed block is the best fit for the next allocation: write other bytes into it at once
        try (DeviceTensor reuse = session.allocate(TensorSpec.raw(size), 0)) {
          reuse.write(other);
          try {
            assertEquals(size, read.get(30, TimeUnit.SECONDS));
            assertEquals(-1, src.mismatch(dst), "round " + i + ": a read that completes has the freed tensor's bytes");
            completed++;
          } catch (ExecutionException e) {
            assertInstanceOf(NotFoundException.class, e.getCause(), "round " + i + ": a read after the free");
          }
        }
        awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "the reads release their pins");
        awaitTrue(() -> java.util.Arrays.equals(before, usedBytes()), "the freed tensors' memory is back in the pools");
      }
      assertTrue(completed > 0, "some reads started before their tensor was freed");
    }
  }

  @Test
  void copyBetweenTensorsAndWithinOne() {
    try (DeviceTensor a = session.allocate(TensorSpec.of(DType.FLOAT32, 4), 0);
        DeviceTensor b = session.allocate(TensorSpec.of(DType.FLOAT32, 4), 1)) {
      a.write(new float[] {1, 2, 3, 4});
      assertEquals(16, a.copyTo(b));
      assertArrayEquals(new float[] {1, 2, 3, 4}, b.readFloats());
      assertEquals(8, a.copyTo(a, 0, 8, 8), "overlap-free copy within one tensor");
      assertArrayEquals(new float[] {1, 2, 1, 2}, a.readFloats());
      assertEquals(12, b.copyTo(b, 0, 4, 12), "overlapping copy behaves like memmove");
      assertArrayEquals(new float[] {1, 1, 2, 3}, b.readFloats());
    }
  }

  @Test
  void sliceAliasesParentAndKeepsMemoryUntilAllFreed() {
    long[] before = usedBytes();
    DeviceTensor parent = session.allocate(TensorSpec.of(DType.FLOAT32, 8), 0);
    parent.write(new float[] {0, 1, 2, 3, 4, 5, 6, 7});
    DeviceTensor slice = parent.slice(8, TensorSpec.of(DType.FLOAT32, 4));
    assertEquals(parent.handle(), slice.info().getParentHandle());
    assertEquals(8, slice.info().getParentOffsetBytes());
    assertArrayEquals(new float[] {2, 3, 4, 5}, slice.readFloats());
    slice.write(new float[] {-2, -3, -4, -5});
    assertArrayEquals(new float[] {0, 1, -2, -3, -4, -5, 6, 7}, parent.readFloats(), "a slice aliases its parent");
    long withBoth = usedBytes()[0];

    assertEquals(0, parent.free(), "the slice still holds the memory");
    assertThrows(NotFoundException.class, parent::describe, "a freed parent's handle is dead at once");
    assertEquals(withBoth, usedBytes()[0]);
    assertArrayEquals(new float[] {-2, -3, -4, -5}, slice.readFloats());
    assertEquals(64, slice.free(), "the last handle returns the block");
    assertArrayEquals(before, usedBytes());
  }

  @Test
  void hostTensorsCountAgainstHostMemory() {
    try (DeviceTensor h = session.allocateHost(TensorSpec.of(DType.INT32, 1000))) {
      assertTrue(h.isHost());
      assertEquals(-1, h.deviceId());
      h.write(new float[1000]);
      GetMemoryStatsResponse stats = session.memoryStats();
      assertEquals(4032, stats.getHostUsedBytes());
      assertEquals(0, stats.getDevices(0).getUsedBytes());
      assertThrows(ResourceExhaustedException.class, () -> session.allocateHost(TensorSpec.raw(HOST_BYTES + 1)));
    }
  }

  @Test
  void asyncCallsCompose() throws Exception {
    float[] data = new float[300_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = i * 0.5f;
    }
    try (Arena arena = Arena.ofShared()) {
      MemorySegment back = arena.allocate(data.length * 4L);
      try (Arena confined = Arena.ofConfined()) {
        MemorySegment mine = confined.allocate(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> session.allocate(TensorSpec.raw(8), 0).readAsync(0, mine));
        assertTrue(e.getMessage().contains("use the blocking read"), e.getMessage());
      }
      CompletableFuture<Long> flow = session.allocateAsync(TensorSpec.of(DType.FLOAT32, data.length), 1, 2)
          .thenCompose(t -> t.writeAsync(0, data)
              .thenCompose(n -> t.readAsync(0, back))
              .thenCompose(n -> t.freeAsync()));
      assertEquals(1_200_000, flow.get(30, TimeUnit.SECONDS), "freeing returns the whole (aligned) block");
      assertArrayEquals(data, back.toArray(ValueLayout.JAVA_FLOAT));
    }
  }

  @Test
  void closingSessionFreesEverything() {
    Session other = client.openSession("closer");
    DeviceTensor a = other.allocate(TensorSpec.raw(1 << 20), 0);
    other.allocate(TensorSpec.raw(2 << 20), 1);
    a.slice(0, TensorSpec.raw(1024));
    CloseSessionResponse report = other.closeAndReport();
    assertEquals(3, report.getTensorsFreed());
    assertEquals(3 << 20, report.getBytesFreed());
    assertArrayEquals(new long[3], usedBytes());
    SessionClosedException e = assertThrows(SessionClosedException.class, a::describe);
    assertTrue(e.getMessage().contains("closed by its client"), e.getMessage());
    a.close(); // quiet: the session already freed it
  }

  @Test
  void sessionsInParallelDoNotInterfere() throws Exception {
    int clients = 4;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<Integer>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        int id = c;
        done.add(pool.submit(() -> {
          VnrtClient mine = fixture.newClient();
          try (Session s = mine.openSession("parallel-" + id); Arena arena = Arena.ofConfined()) {
            int rounds = 0;
            for (int i = 0; i < 12; i++) {
              long size = (256 << 10) + 64L * id + i;
              MemorySegment src = pattern(arena, size, id * 1000 + i);
              try (DeviceTensor t = s.allocate(TensorSpec.raw(size), i % 2, (i % 2) * 2 + id % 2);
                  DeviceTensor copy = s.allocate(TensorSpec.raw(size), (i + 1) % 2)) {
                t.write(src);
                t.copyTo(copy);
                MemorySegment back = arena.allocate(size);
                copy.read(back);
                assertEquals(-1, src.mismatch(back), "client " + id + " round " + i + " read foreign bytes");
                rounds++;
              }
            }
            return rounds;
          } finally {
            if (mine != client) {
              mine.close();
            }
          }
        }));
      }
      for (Future<Integer> f : done) {
        assertEquals(12, f.get(60, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void listAndDescribeTensors() {
    try (DeviceTensor a = session.allocate(TensorSpec.of(DType.BFLOAT16, 3, 5).named("weights"), 1, 3)) {
      TensorInfo info = a.describe();
      assertEquals("weights", info.getName());
      assertEquals(DataType.DATA_TYPE_BFLOAT16, info.getDtype());
      assertEquals(List.of(3L, 5L), info.getShapeList());
      assertEquals(30, info.getSizeBytes());
      assertEquals(List.of(a.handle()), session.tensors().stream().map(TensorInfo::getHandle).toList());
      assertTrue(a.handle().matches("t-[0-9a-f]{32}"), a.handle());
    }
    assertEquals(List.of(), session.tensors());
  }

  @Test
  void healthReflectionAndPlannedRpcsAnswer() throws Exception {
    HealthCheckResponse health = HealthGrpc.newBlockingStub(fixture.rawChannel())
        .check(HealthCheckRequest.newBuilder().setService("vnrt.v1.Memory").build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());

    CompletableFuture<List<String>> services = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> reflection = ServerReflectionGrpc.newStub(fixture.rawChannel())
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            services.complete(r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName)
                .toList());
          }

          @Override
          public void onError(Throwable t) {
            services.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
          }
        });
    reflection.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    List<String> names = services.get(10, TimeUnit.SECONDS);
    reflection.onCompleted();
    assertTrue(names.containsAll(List.of("vnrt.v1.Runtime", "vnrt.v1.Memory", "vnrt.v1.Model",
        "vnrt.v1.Execution", "vnrt.v1.Monitor", "inference.GRPCInferenceService", "grpc.health.v1.Health")),
        names.toString());

    assertTrue(GRPCInferenceServiceGrpc.newBlockingStub(fixture.rawChannel())
        .serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
  }

  // ---- bad input ---------------------------------------------------------------------------

  @Test
  void zeroSizeIsInvalid() {
    long[] before = usedBytes();
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "no elements",
        () -> session.allocate(TensorSpec.of(DType.FLOAT32, 4, 0), 0));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "size_bytes must be > 0",
        () -> rawMemory().allocateTensor(AllocateTensorRequest.newBuilder()
            .setDtype(DataType.DATA_TYPE_RAW).setSizeBytes(0).build()));
    assertUnchangedAndServing(before);
  }

  @Test
  void negativeSizeIsInvalid() {
    long[] before = usedBytes();
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "size_bytes 18446744073709551615 is too large",
        () -> rawMemory().allocateTensor(AllocateTensorRequest.newBuilder()
            .setDtype(DataType.DATA_TYPE_RAW).setSizeBytes(-1).build()));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "dimension 1 = -3",
        () -> session.allocate(TensorSpec.of(DType.FLOAT32, 2, -3), 0));
    assertUnchangedAndServing(before);
  }

  @Test
  void overCapacityIsResourceExhaustedWithExplanation() {
    try (DeviceTensor held = session.allocate(TensorSpec.raw(200 << 20).named("big"), 0)) {
      assertEquals(200 << 20, held.sizeBytes());
      long[] before = usedBytes();
      ResourceExhaustedException e = expect(ResourceExhaustedException.class, NrtCode.NRT_RESOURCE,
          "cannot allocate 100.0 MiB", () -> session.allocate(TensorSpec.raw(100 << 20), 0));
      assertTrue(e.getMessage().contains("largest free block 56.0 MiB"), e.getMessage());
      assertTrue(e.getMessage().contains("client 'e2e'"), "names the top consumer: " + e.getMessage());
      assertEquals(String.valueOf(100 << 20), e.context().get("requested_bytes"));
      assertEquals(String.valueOf(56 << 20), e.context().get("free_bytes"));
      assertFalse(e.getMessage().contains(session.id()), "never reveals a session's secret id");
      expect(ResourceExhaustedException.class, NrtCode.NRT_RESOURCE, "cannot allocate",
          () -> session.allocate(TensorSpec.raw(HBM_BYTES + 1), 1));
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void unknownDtypeIsInvalid() {
    long[] before = usedBytes();
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "unknown dtype 42: expected one of FLOAT32",
        () -> rawMemory().allocateTensor(AllocateTensorRequest.newBuilder().setDtypeValue(42).addShape(4).build()));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "dtype is required",
        () -> rawMemory().allocateTensor(AllocateTensorRequest.newBuilder().addShape(4).build()));
    assertUnchangedAndServing(before);
  }

  @Test
  void shapeWhoseByteSizeOverflowsIsInvalid() {
    long[] before = usedBytes();
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "needs more than 2^63-1 bytes",
        () -> session.allocate(TensorSpec.of(DType.FLOAT32, 1L << 31, 1L << 31), 0));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "needs more than 2^63-1 bytes",
        () -> rawMemory().allocateTensor(AllocateTensorRequest.newBuilder().setDtype(DataType.DATA_TYPE_INT64)
            .addShape(Long.MAX_VALUE / 4).addShape(2).build()));
    assertUnchangedAndServing(before);
  }

  @Test
  void unknownDeviceOrCoreIsInvalid() {
    long[] before = usedBytes();
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "unknown device 7: this daemon has device(s) 0, 1",
        () -> session.allocate(TensorSpec.raw(64), 7));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "core 3 is not a core of device 0 (its cores: 0, 1)",
        () -> session.allocate(TensorSpec.raw(64), 0, 3));
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "unknown device 2",
        () -> rawMemory().getMemoryStats(GetMemoryStatsRequest.newBuilder().setHasDevice(true).setDeviceId(2).build()));
    assertUnchangedAndServing(before);
  }

  @Test
  void writePastTheEndIsInvalid() {
    try (DeviceTensor t = session.allocate(TensorSpec.of(DType.FLOAT32, 6), 0)) {
      t.write(new float[] {1, 2, 3, 4, 5, 6});
      long[] before = usedBytes();
      expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "goes past the end",
          () -> t.write(new float[10]));
      expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "goes past the end",
          () -> t.write(20, new float[2]));
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.readFloats(), "a refused write changed nothing");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void readPastTheEndIsInvalid() {
    try (DeviceTensor t = session.allocate(TensorSpec.of(DType.FLOAT32, 6), 0);
        Arena arena = Arena.ofConfined()) {
      long[] before = usedBytes();
      expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "read of 32 bytes at offset 0 goes past the end",
          () -> t.read(arena.allocate(32)));
      expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "read of 8 bytes at offset 20",
          () -> t.read(20, arena.allocate(8)));
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void chunkLeavingAGapIsInvalid() {
    try (DeviceTensor t = session.allocate(TensorSpec.raw(64), 0)) {
      long[] before = usedBytes();
      StatusRuntimeException e = rawWrite(
          chunk(t.handle(), 0, 8, 0),
          chunk("", 16, 8, 0));
      assertStatus(e, Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
          "chunk at offset 16 leaves a gap after the bytes written so far: the next chunk must start at offset 8");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void duplicateChunkIsInvalid() {
    try (DeviceTensor t = session.allocate(TensorSpec.raw(64), 0)) {
      long[] before = usedBytes();
      StatusRuntimeException e = rawWrite(
          chunk(t.handle(), 0, 8, 0),
          chunk("", 8, 8, 0),
          chunk("", 8, 8, 0));
      assertStatus(e, Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
          "chunk at offset 8 repeats bytes already written (a duplicate chunk): the next chunk must start at offset 16");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void writeStreamWithoutHandleOrWithWrongTotalIsInvalid() {
    try (DeviceTensor t = session.allocate(TensorSpec.raw(64), 0)) {
      long[] before = usedBytes();
      assertStatus(rawWrite(chunk("", 0, 8, 0)), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
          "the first WriteTensor message must name the tensor's handle");
      assertStatus(rawWrite(chunk(t.handle(), 0, 8, 32), chunk("", 8, 8, 0)), Status.Code.INVALID_ARGUMENT,
          NrtCode.NRT_INVALID, "the stream ended after 16 bytes but announced total_bytes 32");
      assertStatus(rawWrite(chunk(t.handle(), 0, 8, 8), chunk("", 8, 8, 0)), Status.Code.INVALID_ARGUMENT,
          NrtCode.NRT_INVALID, "announced total_bytes 8 but sends more");
      assertStatus(rawWrite(chunk(t.handle(), 60, 8, 0)), Status.Code.INVALID_ARGUMENT,
          NrtCode.NRT_INVALID, "write of 8 bytes at offset 60 goes past the end");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void freedHandleIsNotFound() {
    DeviceTensor t = session.allocate(TensorSpec.raw(64), 0);
    t.free();
    long[] before = usedBytes();
    expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor with handle '" + t.handle() + "'",
        t::describe);
    expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor", t::readFloats);
    expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor", () -> t.write(new float[1]));
    expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor", t::free);
    assertUnchangedAndServing(before);
  }

  @Test
  void foreignHandleIsNotFoundAndNeverReadable() {
    try (Session thief = client.openSession("thief");
        DeviceTensor secret = session.allocate(TensorSpec.of(DType.INT64, 2), 0)) {
      secret.write(new long[] {0xC0FFEE, 0xBEEF});
      long[] before = usedBytes();
      MemoryGrpc.MemoryBlockingStub stolen = rawMemory(thief.id());
      String handle = secret.handle();
      expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "belongs to another session",
          () -> stolen.getTensor(GetTensorRequest.newBuilder().setHandle(handle).build()));
      expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor",
          () -> stolen.readTensor(ReadTensorRequest.newBuilder().setHandle(handle).build()).hasNext());
      expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor",
          () -> stolen.freeTensor(FreeTensorRequest.newBuilder().setHandle(handle).build()));
      assertArrayEquals(new long[] {0xC0FFEE, 0xBEEF}, secret.readLongs(), "the owner's data is untouched");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void madeUpHandleIsNotFound() {
    long[] before = usedBytes();
    for (String handle : List.of("t-00000000000000000000000000000000", "nonsense", "x".repeat(10_000))) {
      VnrtException e = expect(NotFoundException.class, NrtCode.NRT_INVALID_HANDLE, "no tensor with handle",
          () -> rawMemory().getTensor(GetTensorRequest.newBuilder().setHandle(handle).build()));
      assertTrue(e.getMessage().length() < 300, "a huge handle is not echoed whole");
    }
    expect(InvalidArgumentException.class, NrtCode.NRT_INVALID, "a tensor handle is required",
        () -> rawMemory().getTensor(GetTensorRequest.getDefaultInstance()));
    assertUnchangedAndServing(before);
  }

  @Test
  void expiredOrMissingSessionIsRejected() {
    // the longest lease: the SDK's background renewal (every 20 s of real time) cannot interfere
    Session doomed = client.openSession("doomed", Duration.ofSeconds(60));
    DeviceTensor t = doomed.allocate(TensorSpec.raw(1 << 20), 1);
    long[] empty = new long[3];
    // the lease runs from the end of the last call, which the server may see after the client does
    io.vnrt.runtime.session.Session serverSide =
        fixture.runtime().sessions().byPublicId(doomed.id().substring(0, 8));
    awaitTrue(() -> serverSide.activeCalls() == 0, "the allocation has ended on the server");
    ticker.advance(Duration.ofSeconds(61));
    awaitTrue(() -> fixture.runtime().sessions().byPublicId(doomed.id().substring(0, 8)) == null,
        "the reaper expires the idle session");
    assertArrayEquals(empty, usedBytes(), "expiry freed the session's memory");
    SessionClosedException e = expect(SessionClosedException.class, NrtCode.NRT_CLOSED,
        "session " + doomed.id().substring(0, 8) + " expired after", t::describe);
    assertEquals(Status.Code.UNAUTHENTICATED, e.code());
    expect(SessionClosedException.class, NrtCode.NRT_CLOSED, "expired", () -> doomed.allocate(TensorSpec.raw(8), 0));
    doomed.close();

    expect(SessionClosedException.class, NrtCode.NRT_CLOSED, "this call needs a session",
        () -> MemoryGrpc.newBlockingStub(fixture.rawChannel()).getTensor(GetTensorRequest.getDefaultInstance()));
    expect(SessionClosedException.class, NrtCode.NRT_CLOSED, "unknown session id 'ffffffff…'",
        () -> rawMemory("f".repeat(32)).getTensor(GetTensorRequest.getDefaultInstance()));
    assertUnchangedAndServing(empty);
  }

  @Test
  void clientCancellingAWriteMidStreamLeavesNothingBehind() throws Exception {
    try (DeviceTensor t = session.allocate(TensorSpec.raw(4 << 20), 0)) {
      long[] before = usedBytes();
      CompletableFuture<ClientCallStreamObserver<WriteTensorRequest>> started = new CompletableFuture<>();
      CompletableFuture<WriteTensorResponse> result = new CompletableFuture<>();
      StreamObserver<WriteTensorRequest> requests = rawAsyncMemory(session.id())
          .writeTensor(new ClientResponseObserver<WriteTensorRequest, WriteTensorResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<WriteTensorRequest> stream) {
              started.complete(stream);
            }

            @Override
            public void onNext(WriteTensorResponse value) {
              result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
              result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
          });
      requests.onNext(chunk(t.handle(), 0, 1 << 20, 4 << 20));
      awaitTrue(() -> fixture.runtime().devices().busyOperations() == 1, "the server pins the tensor while writing");
      started.get().cancel("the client gives up", null);
      awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "cancelling releases the pin");
      assertEquals(Status.Code.CANCELLED, failure(result).getStatus().getCode());
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void clientCancellingAReadMidStreamLeavesNothingBehind() throws Exception {
    // larger than what the daemon can send ahead of the client (PAUSED_READ_BYTES), so the read stays open
    try (DeviceTensor t = session.allocate(TensorSpec.raw(PAUSED_READ_BYTES), 0)) {
      long[] before = usedBytes();
      PausedRead read = new PausedRead();
      rawAsyncMemory(session.id()).readTensor(ReadTensorRequest.newBuilder().setHandle(t.handle())
          .setChunkBytes(64 << 10).build(), read);
      read.first.get(10, TimeUnit.SECONDS);
      assertEquals(1, fixture.runtime().devices().busyOperations(), "the paused read still pins the tensor");
      read.stream.cancel("the client gives up", null);
      awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "cancelling releases the pin");
      assertUnchangedAndServing(before);
    }
  }

  @Test
  void freeDuringAReadCompletesTheReadThenReleasesTheMemory() throws Exception {
    long[] before = usedBytes();
    long size = PAUSED_READ_BYTES;
    DeviceTensor t = session.allocate(TensorSpec.raw(size), 1);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment src = pattern(arena, size, 99);
      t.write(src);
      PausedRead read = new PausedRead();
      rawAsyncMemory(session.id()).readTensor(ReadTensorRequest.newBuilder().setHandle(t.handle())
          .setChunkBytes(64 << 10).build(), read);
      read.first.get(10, TimeUnit.SECONDS);

      assertEquals(0, t.free(), "the running read still holds the memory");
      assertThrows(NotFoundException.class, t::describe, "the handle is dead at once");
      assertEquals(before[1] + size, usedBytes()[1]);

      read.stream.request(Integer.MAX_VALUE);
      MemorySegment back = read.done.get(30, TimeUnit.SECONDS);
      assertEquals(-1, src.mismatch(back), "the read completed with the tensor's content");
      awaitTrue(() -> usedBytes()[1] == before[1], "the memory returns when the read ends");
    }
    assertUnchangedAndServing(before);
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Reads with manual flow control: takes one chunk, then waits for the test to ask for more. */
  static final class PausedRead implements ClientResponseObserver<ReadTensorRequest, ReadTensorResponse> {
    final CompletableFuture<Void> first = new CompletableFuture<>();
    final CompletableFuture<MemorySegment> done = new CompletableFuture<>();
    ByteString received = ByteString.EMPTY;
    ClientCallStreamObserver<ReadTensorRequest> stream;

    @Override
    public void beforeStart(ClientCallStreamObserver<ReadTensorRequest> s) {
      stream = s;
      s.disableAutoRequestWithInitial(1);
    }

    @Override
    public void onNext(ReadTensorResponse value) {
      assertEquals(received.size(), value.getOffsetBytes(), "chunks arrive in order");
      received = received.concat(value.getData());
      first.complete(null);
    }

    @Override
    public void onError(Throwable t) {
      first.completeExceptionally(t);
      done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      done.complete(MemorySegment.ofArray(received.toByteArray()));
    }
  }

  static MemorySegment pattern(Arena arena, long size, long seed) {
    MemorySegment s = arena.allocate(size, 8);
    long x = seed * 0x9E3779B97F4A7C15L + 1;
    long i = 0;
    for (; i + 8 <= size; i += 8) {
      x = x * 6364136223846793005L + 1442695040888963407L;
      s.set(ValueLayout.JAVA_LONG, i, x);
    }
    for (; i < size; i++) {
      s.set(ValueLayout.JAVA_BYTE, i, (byte) i);
    }
    return s;
  }

  static WriteTensorRequest chunk(String handle, long offset, int length, long total) {
    byte[] data = new byte[length];
    for (int i = 0; i < length; i++) {
      data[i] = (byte) (offset + i);
    }
    return WriteTensorRequest.newBuilder().setHandle(handle).setOffsetBytes(offset)
        .setData(ByteString.copyFrom(data)).setTotalBytes(total).build();
  }

  /** Sends the chunks on a raw WriteTensor stream and returns the failure it ends with. */
  StatusRuntimeException rawWrite(WriteTensorRequest... chunks) {
    CompletableFuture<WriteTensorResponse> result = new CompletableFuture<>();
    StreamObserver<WriteTensorRequest> requests = rawAsyncMemory(session.id()).writeTensor(observer(result));
    for (WriteTensorRequest c : chunks) {
      requests.onNext(c);
    }
    requests.onCompleted();
    return failure(result);
  }

  static <T> StreamObserver<T> observer(CompletableFuture<T> result) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        result.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        result.complete(null);
      }
    };
  }

  static StatusRuntimeException failure(CompletableFuture<?> result) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(30, TimeUnit.SECONDS));
    return assertInstanceOf(StatusRuntimeException.class, e.getCause());
  }

  static void assertStatus(StatusRuntimeException e, Status.Code code, NrtCode nrt, String messagePart) {
    VnrtException mapped = (VnrtException) io.vnrt.client.internal.Errors.translate(e);
    assertEquals(code, mapped.code(), mapped.getMessage());
    assertEquals(nrt, mapped.nrtCode(), mapped.getMessage());
    assertTrue(mapped.getMessage().contains(messagePart), "'" + mapped.getMessage() + "' lacks '" + messagePart + "'");
  }

  /** Runs a call through the SDK's error mapping and checks the typed exception, NRT code and message. */
  static <E extends VnrtException> E expect(Class<E> type, NrtCode nrt, String messagePart, Executable call) {
    Throwable thrown = assertThrows(Throwable.class, call);
    RuntimeException mapped = io.vnrt.client.internal.Errors.translate(thrown);
    E e = assertInstanceOf(type, mapped, () -> "got " + mapped);
    assertEquals(nrt, e.nrtCode(), e.getMessage());
    assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' lacks '" + messagePart + "'");
    return e;
  }

  MemoryGrpc.MemoryBlockingStub rawMemory() {
    return rawMemory(session.id());
  }

  MemoryGrpc.MemoryBlockingStub rawMemory(String sessionId) {
    return MemoryGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(withSession(sessionId));
  }

  MemoryGrpc.MemoryStub rawAsyncMemory(String sessionId) {
    return MemoryGrpc.newStub(fixture.rawChannel()).withInterceptors(withSession(sessionId));
  }

  private static io.grpc.ClientInterceptor withSession(String id) {
    Metadata headers = new Metadata();
    headers.put(Session.SESSION_ID_KEY, id);
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  /** Used bytes of device 0, device 1 and the host pool. */
  long[] usedBytes() {
    List<Device> devices = fixture.runtime().devices().devices();
    return new long[] {devices.get(0).pool().usedBytes(), devices.get(1).pool().usedBytes(),
        fixture.runtime().devices().hostPool().usedBytes()};
  }

  /** The pools hold what they held, and a fresh session can still allocate, write, read and free. */
  void assertUnchangedAndServing(long[] before) {
    awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "operations still pin memory");
    assertArrayEquals(before, usedBytes(), "used bytes of device 0, device 1, host");
    try (Session probe = client.openSession("probe");
        DeviceTensor t = probe.allocate(TensorSpec.of(DType.FLOAT32, 3), 1)) {
      t.write(new float[] {7, 8, 9});
      assertArrayEquals(new float[] {7, 8, 9}, t.readFloats());
    }
    assertArrayEquals(before, usedBytes(), "the probe left nothing behind");
  }

  static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        StringBuilder threads = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
          if (t.getName().startsWith("vnrt") || t.getName().startsWith("grpc")) {
            threads.append('\n').append(t.getName()).append(' ').append(t.getState());
            for (StackTraceElement e : stack) {
              threads.append("\n    at ").append(e);
            }
          }
        });
        throw new AssertionError("timed out waiting: " + what + "; threads:" + threads);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting: " + what);
      }
    }
  }

  static long category(DeviceMemoryStats d, MemoryCategory c) {
    return d.getByCategoryList().stream().filter(u -> u.getCategory() == c).mapToLong(CategoryUsage::getUsedBytes)
        .sum();
  }
}
