package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.InferParameter;
import io.vnrt.proto.inference.InferTensorContents;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelMetadataRequest;
import io.vnrt.proto.inference.ModelMetadataResponse;
import io.vnrt.proto.inference.ModelReadyRequest;
import io.vnrt.proto.inference.ModelRepositoryParameter;
import io.vnrt.proto.inference.ModelStreamInferResponse;
import io.vnrt.proto.inference.RepositoryIndexRequest;
import io.vnrt.proto.inference.RepositoryIndexResponse;
import io.vnrt.proto.inference.RepositoryModelLoadRequest;
import io.vnrt.proto.inference.RepositoryModelUnloadRequest;
import io.vnrt.proto.inference.ServerLiveRequest;
import io.vnrt.proto.inference.ServerMetadataRequest;
import io.vnrt.proto.inference.ServerMetadataResponse;
import io.vnrt.proto.inference.ServerReadyRequest;
import io.vnrt.proto.inference.SystemSharedMemoryRegisterRequest;
import io.vnrt.proto.inference.SystemSharedMemoryStatusRequest;
import io.vnrt.proto.inference.SystemSharedMemoryUnregisterRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.models.CoreGroupScheduler;
import io.vnrt.runtime.models.LoadSpec;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.session.Session;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * KServe v2 through the real daemon, driven by the stub generated from the standard
 * grpc_service.proto (the messages and field numbers every Triton/KServe client uses). The same
 * assertions run over each transport; each test leaves the pools as it found them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractKServeEndToEndTest {
  static final float[] X = {1, 2, 3, 4, -1, 0.5f, 2, -3};

  VnrtRuntime runtime;
  DaemonServer server;
  Transports.OwnedChannel channel;
  GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub kserve;
  Path repository;
  long usedBefore;

  /** Starts the daemon's listener for this transport; returns the client target. */
  abstract DaemonServer listen(VnrtRuntime runtime, Path repository) throws Exception;

  /** How long the daemon under test warms repository loads up (its --repository-warmup). */
  java.time.Duration repositoryWarmup() {
    return java.time.Duration.ZERO;
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    repository = dir;
    Files.createDirectories(repository.resolve("dense/1"));
    Files.createDirectories(repository.resolve("dense/3"));
    Files.write(repository.resolve("dense/1/model.onnx"), new byte[] {1, 2, 3});
    Files.write(repository.resolve("dense/3/model.onnx"), TestModels.dense());
    Files.createDirectories(repository.resolve("inc/1"));
    Files.write(repository.resolve("inc/1/model.onnx"), TestModels.increment());
    Files.createDirectories(repository.resolve("inc_row/1"));
    Files.write(repository.resolve("inc_row/1/model.onnx"), TestModels.incrementRow());
    Files.createDirectories(repository.resolve("broken/2"));
    Files.write(repository.resolve("broken/2/model.onnx"), new byte[] {42, 42, 42});
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())));
    server = listen(runtime, repository);
    channel = Transports.open(server.targets().getFirst());
    kserve = GRPCInferenceServiceGrpc.newBlockingStub(channel.channel());
  }

  @AfterAll
  void stop() {
    channel.shutdown();
    server.close();
    runtime.close();
  }

  @BeforeEach
  void recordPool() {
    usedBefore = pool();
  }

  @AfterEach
  void poolIsBackAndDaemonServes() {
    for (String m : List.of("dense", "inc", "inc_row", "uploaded")) {
      try {
        stub().repositoryModelUnload(RepositoryModelUnloadRequest.newBuilder().setModelName(m).build());
      } catch (StatusRuntimeException e) {
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());
      }
    }
    stub().systemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest.getDefaultInstance());
    assertEquals(usedBefore, pool(), "device pool bytes after the test");
    assertTrue(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
  }

  long pool() {
    return runtime.devices().devices().getFirst().pool().usedBytes();
  }

  GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub() {
    return kserve.withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  Object load(String name) {
    return stub().repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName(name).build());
  }

  static ModelInferRequest.Builder denseRequest(float[] x, int n) {
    ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName("dense").setId("req-7");
    r.addInputsBuilder().setName("x").setDatatype("FP32").addShape(n).addShape(4)
        .setContents(InferTensorContents.newBuilder().addAllFp32Contents(boxed(x)));
    return r;
  }

  static List<Float> boxed(float[] x) {
    Float[] b = new Float[x.length];
    for (int i = 0; i < x.length; i++) {
      b[i] = x[i];
    }
    return List.of(b);
  }

  static float[] floats(ByteString raw) {
    float[] out = new float[raw.size() / 4];
    raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  static byte[] le(float[] x) {
    ByteBuffer b = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(x);
    return b.array();
  }

  StatusRuntimeException fails(Status.Code code, String fragment, Supplier<?> call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(String.valueOf(e.getStatus().getDescription()).contains(fragment),
        "expected '" + fragment + "' in: " + e.getStatus().getDescription());
    return e;
  }

  // ---- health and metadata ------------------------------------------------------------------

  @Test
  void serverIsLiveReadyAndDescribesItself() {
    assertTrue(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
    assertTrue(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
    ServerMetadataResponse meta = stub().serverMetadata(ServerMetadataRequest.getDefaultInstance());
    assertEquals("vnrt", meta.getName());
    assertEquals(VnrtRuntime.VERSION, meta.getVersion());
    assertEquals(List.of("model_repository", "model_configuration", "system_shared_memory", "binary_tensor_data",
        "statistics", "trace", "logging"), meta.getExtensionsList());
  }

  @Test
  void repositoryLoadMakesTheHighestVersionReadyWithSymbolicDimsAsMinusOne() {
    RepositoryIndexResponse index = stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
    assertEquals(List.of("broken", "dense", "inc", "inc_row"), index.getModelsList().stream()
        .map(RepositoryIndexResponse.ModelIndex::getName).toList());
    assertTrue(index.getModelsList().stream().allMatch(m -> m.getState().equals("UNAVAILABLE")));
    assertFalse(stub().modelReady(ModelReadyRequest.newBuilder().setName("dense").build()).getReady());

    load("dense");
    assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("dense").build()).getReady());
    assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("dense").setVersion("3").build()).getReady());
    assertFalse(stub().modelReady(ModelReadyRequest.newBuilder().setName("dense").setVersion("1").build()).getReady());
    ModelMetadataResponse meta = stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("dense").build());
    assertEquals(List.of("3"), meta.getVersionsList());
    assertEquals("x", meta.getInputs(0).getName());
    assertEquals("FP32", meta.getInputs(0).getDatatype());
    assertEquals(List.of(-1L, 4L), meta.getInputs(0).getShapeList());
    assertEquals(List.of("y", "xw"), meta.getOutputsList().stream()
        .map(ModelMetadataResponse.TensorMetadata::getName).toList());
    assertEquals(List.of("dense"), stub().repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build())
        .getModelsList().stream().map(RepositoryIndexResponse.ModelIndex::getName).toList());
    assertTrue(pool() > usedBefore, "weights are in HBM while loaded");
    io.vnrt.runtime.models.ModelEntry dense = runtime.models().all().stream().filter(m -> m.name().equals("dense"))
        .findFirst().orElseThrow();
    java.time.Duration warmed = dense.warmupTime();
    if (repositoryWarmup().isZero()) {
      assertEquals(1, dense.warmup().runs(), "no repository warm-up configured: the daemon's default, one execution");
    } else {
      assertTrue(warmed.compareTo(repositoryWarmup()) >= 0, "warmed up for " + warmed);
    }
  }

  // ---- inference ----------------------------------------------------------------------------

  @Test
  void typedContentsInRawOutputsOut() {
    load("dense");
    ModelInferResponse r = stub().modelInfer(denseRequest(X, 2).build());
    float[][] want = TestModels.denseReference(X, 2);
    assertEquals("dense", r.getModelName());
    assertEquals("3", r.getModelVersion());
    assertEquals("req-7", r.getId());
    assertEquals(List.of("y", "xw"), r.getOutputsList().stream().map(ModelInferResponse.InferOutputTensor::getName)
        .toList());
    assertEquals("FP32", r.getOutputs(0).getDatatype());
    assertEquals(List.of(2L, 3L), r.getOutputs(0).getShapeList());
    assertArrayEquals(want[0], floats(r.getRawOutputContents(0)), 1e-5f);
    assertArrayEquals(want[1], floats(r.getRawOutputContents(1)), 1e-5f);
  }

  @Test
  void rawInputsAndOnlyTheRequestedOutputsTypedWhenBinaryDataIsFalse() {
    load("dense");
    float[] x = {0.25f, -0.5f, 1, 2};
    ModelInferRequest.Builder req = ModelInferRequest.newBuilder().setModelName("dense")
        .addRawInputContents(ByteString.copyFrom(le(x)));
    req.addInputsBuilder().setName("x").setDatatype("FP32").addShape(1).addShape(4);
    req.addOutputsBuilder().setName("xw")
        .putParameters("binary_data", InferParameter.newBuilder().setBoolParam(false).build());
    ModelInferResponse r = stub().modelInfer(req.build());
    assertEquals(1, r.getOutputsCount());
    assertEquals("xw", r.getOutputs(0).getName());
    assertEquals(0, r.getRawOutputContentsCount());
    float[] got = new float[3];
    for (int i = 0; i < 3; i++) {
      got[i] = r.getOutputs(0).getContents().getFp32Contents(i);
    }
    assertArrayEquals(TestModels.denseReference(x, 1)[1], got, 1e-5f);
  }

  @Test
  void int64TypedContents() {
    load("inc");
    ModelInferRequest.Builder req = ModelInferRequest.newBuilder().setModelName("inc");
    req.addInputsBuilder().setName("i").setDatatype("INT64").addShape(3)
        .setContents(InferTensorContents.newBuilder().addInt64Contents(-5).addInt64Contents(0)
            .addInt64Contents(Long.MAX_VALUE - 1));
    ModelInferResponse r = stub().modelInfer(req.build());
    assertEquals("INT64", r.getOutputs(0).getDatatype());
    long[] got = new long[3];
    r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(got);
    assertArrayEquals(new long[] {-4, 1, Long.MAX_VALUE}, got);
  }

  @Test
  void largeRawInputsAndOutputsOfOddSizesArriveElementByElement() {
    load("inc_row");
    // raw contents in off-heap memory (written by the SDK's bulk marshaller, and the daemon's for the outputs)
    var bulkInfer = io.vnrt.client.internal.BulkMarshaller.bulkRequests(GRPCInferenceServiceGrpc.getModelInferMethod(),
        ModelInferRequest.getDefaultInstance());
    for (int n : new int[] {8191, 8192, 8193, (1 << 19) + 3}) {
      ByteBuffer in = ByteBuffer.allocateDirect(n * 8).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        in.putLong(i * 0x9E3779B97F4A7C15L);
      }
      in.flip();
      ModelInferRequest.Builder req = ModelInferRequest.newBuilder().setModelName("inc_row")
          .addRawInputContents(com.google.protobuf.UnsafeByteOperations.unsafeWrap(in));
      req.addInputsBuilder().setName("i").setDatatype("INT64").addShape(1).addShape(n);
      for (boolean bulk : new boolean[] {false, true}) {
        ModelInferResponse r = bulk
            ? io.grpc.stub.ClientCalls.blockingUnaryCall(channel.channel(), bulkInfer,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), req.build())
            : stub().modelInfer(req.build());
        assertEquals(List.of(1L, (long) n), r.getOutputs(0).getShapeList());
        assertEquals(n * 8L, r.getRawOutputContents(0).size());
        ByteBuffer out = r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
          long want = i * 0x9E3779B97F4A7C15L + 1;
          if (out.getLong(i * 8) != want) {
            assertEquals(want, out.getLong(i * 8), n + " elements" + (bulk ? ", bulk request" : "") + ": element " + i);
          }
        }
      }
    }
  }

  @Test
  void systemSharedMemoryInAndOut() throws Exception {
    load("dense");
    String key = "/vnrt-kserve-test-" + UUID.randomUUID();
    Path file = Path.of("/dev/shm").resolve(key.substring(1));
    try {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
          StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(le(X)), 0);
        ch.write(ByteBuffer.allocate(64), 64);
      }
      stub().systemSharedMemoryRegister(SystemSharedMemoryRegisterRequest.newBuilder().setName("io").setKey(key)
          .setOffset(0).setByteSize(128).build());
      assertEquals(128, stub().systemSharedMemoryStatus(SystemSharedMemoryStatusRequest.getDefaultInstance())
          .getRegionsOrThrow("io").getByteSize());

      ModelInferRequest.Builder req = ModelInferRequest.newBuilder().setModelName("dense");
      req.addInputsBuilder().setName("x").setDatatype("FP32").addShape(2).addShape(4)
          .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("io").build())
          .putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(32).build());
      req.addOutputsBuilder().setName("y")
          .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("io").build())
          .putParameters("shared_memory_offset", InferParameter.newBuilder().setInt64Param(64).build())
          .putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(24).build());
      req.addOutputsBuilder().setName("xw");
      ModelInferResponse r = stub().modelInfer(req.build());
      assertEquals("io", r.getOutputs(0).getParametersOrThrow("shared_memory_region").getStringParam());
      assertEquals(24, r.getOutputs(0).getParametersOrThrow("shared_memory_byte_size").getInt64Param());
      assertEquals(ByteString.EMPTY, r.getRawOutputContents(0), "an output in shared memory has no raw bytes");
      float[][] want = TestModels.denseReference(X, 2);
      assertArrayEquals(want[1], floats(r.getRawOutputContents(1)), 1e-5f);
      byte[] written = new byte[24];
      ByteBuffer.wrap(Files.readAllBytes(file), 64, 24).get(written);
      assertArrayEquals(want[0], floats(ByteString.copyFrom(written)), 1e-5f);

      ModelInferRequest.Builder outside = denseRequest(X, 2);
      outside.addOutputsBuilder().setName("y")
          .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("io").build())
          .putParameters("shared_memory_offset", InferParameter.newBuilder().setInt64Param(120).build())
          .putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(24).build());
      fails(Status.Code.INVALID_ARGUMENT, "io", () -> stub().modelInfer(outside.build()));

      stub().systemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest.newBuilder().setName("io").build());
      fails(Status.Code.NOT_FOUND, "io", () -> stub().systemSharedMemoryStatus(
          SystemSharedMemoryStatusRequest.newBuilder().setName("io").build()));
      fails(Status.Code.NOT_FOUND, "io", () -> stub().modelInfer(req.build()));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void aNativeSessionsPrivateModelIsNeitherFoundNorNamedButASharedOneIsServed() throws Exception {
    Session native_ = runtime.sessions().open("native-client", 0);
    try {
      byte[] onnx = TestModels.dense();
      ModelEntry secret = runtime.models().load(native_, LoadSpec.auto("secret-dense", 0, 1, onnx.length), onnx);
      assertFalse(stub().modelReady(ModelReadyRequest.newBuilder().setName("secret-dense").build()).getReady());
      fails(Status.Code.NOT_FOUND, "secret-dense", () -> stub().modelInfer(
          denseRequest(X, 2).setModelName("secret-dense").build()));
      StatusRuntimeException other = assertThrows(StatusRuntimeException.class,
          () -> stub().modelInfer(denseRequest(X, 2).setModelName("no-such-model").build()));
      assertFalse(other.getStatus().getDescription().contains("secret-dense"), other.getStatus().toString());
      assertTrue(stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance()).getModelsList().stream()
          .noneMatch(m -> m.getName().equals("secret-dense")), "the index does not list it");
      fails(Status.Code.NOT_FOUND, "secret-dense", () -> stub().repositoryModelUnload(
          RepositoryModelUnloadRequest.newBuilder().setModelName("secret-dense").build()));

      secret.share();
      assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("secret-dense").build()).getReady());
      ModelInferRequest.Builder req = denseRequest(X, 2).setModelName("secret-dense");
      assertArrayEquals(TestModels.denseReference(X, 2)[0],
          floats(stub().modelInfer(req.build()).getRawOutputContents(0)), 1e-5f);
      fails(Status.Code.FAILED_PRECONDITION, "vnrt.v1 API", () -> stub().repositoryModelUnload(
          RepositoryModelUnloadRequest.newBuilder().setModelName("secret-dense").build()));
    } finally {
      runtime.sessions().close(native_);
    }
    assertFalse(stub().modelReady(ModelReadyRequest.newBuilder().setName("secret-dense").build()).getReady());
  }

  @Test
  void aConnectionsSharedMemoryRegionsAreItsOwnAndEndWithIt() throws Exception {
    load("dense");
    String key = "/vnrt-kserve-test-" + UUID.randomUUID();
    Path file = Path.of("/dev/shm").resolve(key.substring(1));
    Transports.OwnedChannel otherChannel = Transports.open(server.targets().getFirst());
    Transports.OwnedChannel ownerChannel = Transports.open(server.targets().getFirst());
    try {
      Files.write(file, new byte[128]);
      var owner = GRPCInferenceServiceGrpc.newBlockingStub(ownerChannel.channel()).withDeadlineAfter(30,
          TimeUnit.SECONDS);
      var other = GRPCInferenceServiceGrpc.newBlockingStub(otherChannel.channel()).withDeadlineAfter(30,
          TimeUnit.SECONDS);
      owner.systemSharedMemoryRegister(SystemSharedMemoryRegisterRequest.newBuilder().setName("mine").setKey(key)
          .setByteSize(128).build());
      assertEquals(1, owner.systemSharedMemoryStatus(SystemSharedMemoryStatusRequest.getDefaultInstance())
          .getRegionsCount());
      assertEquals(0, other.systemSharedMemoryStatus(SystemSharedMemoryStatusRequest.getDefaultInstance())
          .getRegionsCount(), "another connection lists none of them");
      fails(Status.Code.NOT_FOUND, "mine", () -> other.systemSharedMemoryUnregister(
          SystemSharedMemoryUnregisterRequest.newBuilder().setName("mine").build()));
      ModelInferRequest.Builder req = ModelInferRequest.newBuilder().setModelName("dense");
      req.addInputsBuilder().setName("x").setDatatype("FP32").addShape(2).addShape(4)
          .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("mine").build())
          .putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(32).build());
      fails(Status.Code.NOT_FOUND, "mine", () -> other.modelInfer(req.build()));
      owner.modelInfer(req.build());

      ownerChannel.shutdown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (regionsMapped(key) && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertFalse(regionsMapped(key), "the closed connection's regions are unmapped");
    } finally {
      otherChannel.shutdown();
      ownerChannel.shutdown();
      Files.deleteIfExists(file);
    }
  }

  /** Whether this process still maps the file (its line in /proc/self/maps). */
  private static boolean regionsMapped(String key) throws Exception {
    return Files.readAllLines(Path.of("/proc/self/maps")).stream().anyMatch(l -> l.endsWith(key.substring(1))
        || l.contains(key.substring(1) + " "));
  }

  @Test
  void tritonFileOverrideNeedsConfig() {
    ModelRepositoryParameter bytes = ModelRepositoryParameter.newBuilder()
        .setBytesParam(ByteString.copyFrom(TestModels.dense())).build();
    fails(Status.Code.INVALID_ARGUMENT, "\"config\"", () -> stub().repositoryModelLoad(
        RepositoryModelLoadRequest.newBuilder().setModelName("uploaded").putParameters("file:1/model.onnx", bytes)
            .build()));
    stub().repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("uploaded")
        .putParameters("config", ModelRepositoryParameter.newBuilder().setStringParam("{}").build())
        .putParameters("file:5/model.onnx", bytes).build());
    ModelInferResponse r = stub().modelInfer(denseRequest(X, 2).setModelName("uploaded").build());
    assertEquals("5", r.getModelVersion());
    assertArrayEquals(TestModels.denseReference(X, 2)[0], floats(r.getRawOutputContents(0)), 1e-5f);
  }

  @Test
  void concurrentClientsEachGetTheirOwnResults() throws Exception {
    load("dense");
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        int client = c;
        results.add(pool.submit(() -> {
          for (int i = 0; i < 10; i++) {
            float[] x = {client, i, -client, 1, i, client, 0.5f, -i};
            ModelInferResponse r = stub().modelInfer(denseRequest(x, 2).setId(client + "-" + i).build());
            if (!r.getId().equals(client + "-" + i)) {
              return false;
            }
            assertArrayEquals(TestModels.denseReference(x, 2)[0], floats(r.getRawOutputContents(0)), 1e-5f);
          }
          return true;
        }));
      }
      for (Future<Boolean> f : results) {
        assertTrue(f.get(60, TimeUnit.SECONDS));
      }
    }
  }

  @Test
  void aDeadlinePassedInTheQueueIsDeadlineExceededAndACancelledCallLeavesNothingQueued() throws Exception {
    load("dense");
    ModelEntry model = runtime.models().all().stream().filter(m -> m.name().equals("dense")).findFirst().orElseThrow();
    CoreGroupScheduler scheduler = runtime.models().scheduler(model);
    try (AutoCloseable held = scheduler.hold()) {
      fails(Status.Code.DEADLINE_EXCEEDED, "", () -> kserve.withDeadlineAfter(200, TimeUnit.MILLISECONDS)
          .modelInfer(denseRequest(X, 2).build()));
      Context.CancellableContext call = Context.current().withCancellation();
      CompletableFuture<ModelInferResponse> pending = new CompletableFuture<>();
      call.run(() -> GRPCInferenceServiceGrpc.newStub(channel.channel()).modelInfer(denseRequest(X, 2).build(),
          new StreamObserver<>() {
            @Override
            public void onNext(ModelInferResponse value) {
              pending.complete(value);
            }

            @Override
            public void onError(Throwable t) {
              pending.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
          }));
      waitFor(() -> scheduler.queued() == 1, "the call is queued behind the hold");
      call.cancel(null);
      waitFor(() -> scheduler.queued() == 0, "the cancelled call left the queue");
    }
    assertArrayEquals(TestModels.denseReference(X, 2)[0],
        floats(stub().modelInfer(denseRequest(X, 2).build()).getRawOutputContents(0)), 1e-5f);
  }

  @Test
  void streamInferAnswersEveryRequestAndSurvivesAFailedOne() throws Exception {
    load("dense");
    List<ModelStreamInferResponse> got = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> requests = GRPCInferenceServiceGrpc.newStub(channel.channel())
        .modelStreamInfer(new StreamObserver<>() {
          @Override
          public void onNext(ModelStreamInferResponse value) {
            got.add(value);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
    for (int i = 0; i < 50; i++) {
      float[] x = {i, 1, 2, 3, 4, 5, 6, -i};
      requests.onNext(denseRequest(x, 2).setId("s" + i).build());
      if (i == 10) {
        requests.onNext(denseRequest(X, 3).setId("bad").build());
      }
    }
    requests.onCompleted();
    done.get(60, TimeUnit.SECONDS);
    assertEquals(51, got.size());
    for (ModelStreamInferResponse r : got) {
      String id = r.getInferResponse().getId();
      if (id.equals("bad")) {
        assertTrue(r.getErrorMessage().startsWith("INVALID_ARGUMENT"), r.getErrorMessage());
        continue;
      }
      assertEquals("", r.getErrorMessage());
      int i = Integer.parseInt(id.substring(1));
      float[] x = {i, 1, 2, 3, 4, 5, 6, -i};
      assertArrayEquals(TestModels.denseReference(x, 2)[0], floats(r.getInferResponse().getRawOutputContents(0)),
          1e-5f);
    }
  }

  static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "timed out waiting until " + what);
      Thread.sleep(5);
    }
  }

  // ---- bad input ----------------------------------------------------------------------------

  @Test
  void badRequestsAreExplainedAndLeaveNothingBehind() {
    // Triton's words, which clients match on (simple_grpc_health_metadata.py), then vnrt's detail
    fails(Status.Code.NOT_FOUND, "Request for unknown model: 'dense' is not found; loaded: ",
        () -> stub().modelInfer(denseRequest(X, 2).build()));
    fails(Status.Code.NOT_FOUND, "Request for unknown model: 'nope' is not found", () -> stub().modelMetadata(
        ModelMetadataRequest.newBuilder().setName("nope").build()));
    fails(Status.Code.NOT_FOUND, "not in the repository", () -> load("nope"));
    fails(Status.Code.INVALID_ARGUMENT, "not a repository name", () -> load("../dense"));
    fails(Status.Code.NOT_FOUND, "unknown repository", () -> stub().repositoryModelLoad(
        RepositoryModelLoadRequest.newBuilder().setRepositoryName("other").setModelName("dense").build()));
    StatusRuntimeException broken = assertThrows(StatusRuntimeException.class, () -> load("broken"));
    assertEquals(Status.Code.INVALID_ARGUMENT, broken.getStatus().getCode(), broken.getStatus().toString());
    assertEquals(usedBefore, pool(), "a failed load leaves nothing in the pool");

    load("dense");
    ModelInferRequest.Builder wrongType = denseRequest(X, 2);
    wrongType.getInputsBuilder(0).setDatatype("INT64");
    fails(Status.Code.INVALID_ARGUMENT, "x", () -> stub().modelInfer(wrongType.build()));
    ModelInferRequest.Builder unknownType = denseRequest(X, 2);
    unknownType.getInputsBuilder(0).setDatatype("FP8");
    fails(Status.Code.INVALID_ARGUMENT, "datatype 'FP8' is not supported", () -> stub().modelInfer(
        unknownType.build()));
    fails(Status.Code.INVALID_ARGUMENT, "shape holds 12 elements but fp32_contents has 8",
        () -> stub().modelInfer(denseRequest(X, 3).build()));
    ModelInferRequest.Builder wrongName = denseRequest(X, 2);
    wrongName.getInputsBuilder(0).setName("input");
    fails(Status.Code.INVALID_ARGUMENT, "x", () -> stub().modelInfer(wrongName.build()));
    ModelInferRequest.Builder shortRaw = ModelInferRequest.newBuilder().setModelName("dense")
        .addRawInputContents(ByteString.copyFrom(new byte[30]));
    shortRaw.addInputsBuilder().setName("x").setDatatype("FP32").addShape(2).addShape(4);
    fails(Status.Code.INVALID_ARGUMENT, "takes 32 bytes, raw_input_contents has 30",
        () -> stub().modelInfer(shortRaw.build()));
    ModelInferRequest.Builder half = ModelInferRequest.newBuilder().setModelName("dense");
    half.addInputsBuilder().setName("x").setDatatype("FP16").addShape(1).addShape(4)
        .setContents(InferTensorContents.newBuilder().addFp32Contents(1));
    fails(Status.Code.INVALID_ARGUMENT, "raw_input_contents", () -> stub().modelInfer(half.build()));
    ModelInferRequest.Builder unregistered = denseRequest(X, 2);
    unregistered.getInputsBuilder(0).clearContents()
        .putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam("ghost").build())
        .putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(32).build());
    fails(Status.Code.NOT_FOUND, "ghost", () -> stub().modelInfer(unregistered.build()));
    fails(Status.Code.INVALID_ARGUMENT, "/dev/shm", () -> stub().systemSharedMemoryRegister(
        SystemSharedMemoryRegisterRequest.newBuilder().setName("r").setKey("/no-such-file-" + UUID.randomUUID())
            .setByteSize(8).build()));
    fails(Status.Code.NOT_FOUND, "dense", () -> stub().modelInfer(denseRequest(X, 2).setModelVersion("9").build()));
  }
}
