package io.vnrt.runtime.server;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.BatchingOptions;
import io.vnrt.proto.v1.CloseSessionRequest;
import io.vnrt.proto.v1.CloseSessionResponse;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.Dimension;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteOutput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.GetModelRequest;
import io.vnrt.proto.v1.InlineTensor;
import io.vnrt.proto.v1.ListModelsRequest;
import io.vnrt.proto.v1.ListSharedMemoryRequest;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.RegisterSharedMemoryRequest;
import io.vnrt.proto.v1.RuntimeGrpc;
import io.vnrt.proto.v1.SharedMemoryRef;
import io.vnrt.proto.v1.UnloadModelRequest;
import io.vnrt.proto.v1.UnregisterSharedMemoryRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.ShrinkingCnn;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.models.ExecutionRequest;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.models.TensorSource;
import io.vnrt.runtime.session.FakeTicker;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Model and Execution services (and shared memory), asserted the same way over every
 * transport through the real daemon with the generated stubs. Every test ends with the pools
 * empty; every bad-input test also checks that the daemon still serves and holds what it held.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractModelEndToEndTest {
  static final long HBM_BYTES = 256L << 20;
  static final int CHUNK = 1000;

  abstract AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception;

  final FakeTicker ticker = new FakeTicker();
  AbstractEndToEndTest.Fixture fixture;
  VnrtClient client;
  Session session;
  final List<Path> shmFiles = new ArrayList<>();

  @BeforeAll
  void startDaemon() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(2), Optional.empty(), Optional.of(HBM_BYTES),
        Optional.empty());
    fixture = start(RuntimeConfig.defaults().withTopology(topology).withHostMemoryBytes(64L << 20)
        .withLeases(Duration.ofSeconds(30), Duration.ofSeconds(60)).withClock(ticker, Duration.ofMillis(50)));
    client = fixture.client();
  }

  @AfterAll
  void stopDaemon() {
    fixture.close();
  }

  @BeforeEach
  void openSession() {
    session = client.openSession("models");
  }

  @AfterEach
  void closeSessionAndCheckNothingLeaks() throws IOException {
    session.close();
    AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0,
        "operations still pin memory");
    assertArrayEquals(new long[3], usedBytes(), "pools (device 0, device 1, host) are not empty after the test");
    assertEquals(List.of(), fixture.runtime().models().all(), "models left loaded");
    for (Path p : shmFiles) {
      Files.deleteIfExists(p);
    }
    shmFiles.clear();
  }

  // ---- models built for the tests -------------------------------------------------------------

  /** z = x + y over float[N, 16]: the batchable tiny model. */
  static byte[] addModel() {
    return new ModelBuilder(13).input("x", FLOAT32, "N", 16L).input("y", FLOAT32, "N", 16L)
        .output("z", FLOAT32, "N", 16L).node("Add", List.of("x", "y"), List.of("z")).bytes();
  }

  /** y = x · W with W a 4×3 weight: weights in HBM. */
  static byte[] matMulModel() {
    float[] w = new float[12];
    for (int i = 0; i < w.length; i++) {
      w[i] = i;
    }
    return new ModelBuilder(13).input("x", FLOAT32, "batch", 4L).output("y", FLOAT32, "batch", 3L)
        .initializer("W", Tensor.ofFloats(new long[] {4, 3}, w))
        .node("MatMul", List.of("x", "W"), List.of("y")).bytes();
  }

  /** Two outputs of one input: relu(x) and -x over float[2, 3]. */
  static byte[] twoOutputModel() {
    return new ModelBuilder(13).input("x", FLOAT32, 2L, 3L).output("r", FLOAT32, 2L, 3L)
        .output("n", FLOAT32, 2L, 3L).node("Relu", List.of("x"), List.of("r")).node("Neg", List.of("x"), List.of("n"))
        .bytes();
  }

  // ---- stubs and helpers -----------------------------------------------------------------------

  static io.grpc.ClientInterceptor withSession(String id) {
    Metadata headers = new Metadata();
    headers.put(Session.SESSION_ID_KEY, id);
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  ModelGrpc.ModelBlockingStub models() {
    return ModelGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(withSession(session.id()));
  }

  ModelGrpc.ModelStub asyncModels() {
    return ModelGrpc.newStub(fixture.rawChannel()).withInterceptors(withSession(session.id()));
  }

  ExecutionGrpc.ExecutionBlockingStub exec() {
    return ExecutionGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(withSession(session.id()));
  }

  ExecutionGrpc.ExecutionStub asyncExec() {
    return ExecutionGrpc.newStub(fixture.rawChannel()).withInterceptors(withSession(session.id()));
  }

  MemoryGrpc.MemoryBlockingStub memory() {
    return MemoryGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(withSession(session.id()));
  }

  static LoadModelHeader.Builder header(String name, long size) {
    return LoadModelHeader.newBuilder().setName(name).setDeviceId(0).setAutoPlace(true).setCoreCount(1)
        .setModelSizeBytes(size);
  }

  /** Streams the messages on LoadModel and waits for its answer. */
  CompletableFuture<ModelInfo> loadStream(List<LoadModelRequest> messages, boolean complete) {
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    StreamObserver<LoadModelRequest> up = asyncModels().loadModel(AbstractEndToEndTest.observer(result));
    messages.forEach(up::onNext);
    if (complete) {
      up.onCompleted();
    }
    return result;
  }

  static List<LoadModelRequest> messages(LoadModelHeader header, byte[] model, int chunk) {
    List<LoadModelRequest> out = new ArrayList<>();
    out.add(LoadModelRequest.newBuilder().setHeader(header).build());
    for (int i = 0; i < model.length; i += chunk) {
      out.add(LoadModelRequest.newBuilder().setChunk(ByteString.copyFrom(model, i, Math.min(chunk, model.length - i)))
          .build());
    }
    return out;
  }

  ModelInfo load(LoadModelHeader.Builder header, byte[] model) throws Exception {
    return loadStream(messages(header.setModelSizeBytes(model.length).build(), model, CHUNK), true)
        .get(30, TimeUnit.SECONDS);
  }

  ModelInfo load(String name, byte[] model) throws Exception {
    return load(header(name, model.length), model);
  }

  static ByteString floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return ByteString.copyFrom(b.flip());
  }

  static float[] floats(ByteString bytes) {
    ByteBuffer b = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[b.remaining() / 4];
    b.asFloatBuffer().get(out);
    return out;
  }

  static ExecuteInput inline(String name, ByteString data, long... shape) {
    InlineTensor.Builder t = InlineTensor.newBuilder().setDtype(DataType.DATA_TYPE_FLOAT32).setData(data);
    for (long d : shape) {
      t.addShape(d);
    }
    return ExecuteInput.newBuilder().setName(name).setInline(t).build();
  }

  static float[] ramp(int n, float start) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = start + i;
    }
    return v;
  }

  static float[] sum(float[] a, float[] b) {
    float[] v = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      v[i] = a[i] + b[i];
    }
    return v;
  }

  static ExecuteRequest addRequest(String modelId, float[] x, float[] y, int rows) {
    return ExecuteRequest.newBuilder().setModelId(modelId).addInputs(inline("x", floats(x), rows, 16))
        .addInputs(inline("y", floats(y), rows, 16)).build();
  }

  long[] usedBytes() {
    List<Device> devices = fixture.runtime().devices().devices();
    return new long[] {devices.get(0).pool().usedBytes(), devices.get(1).pool().usedBytes(),
        fixture.runtime().devices().hostPool().usedBytes()};
  }

  /** The pools hold what they held, and a fresh session can still load and run a model. */
  void assertUnchangedAndServing(long[] before) throws Exception {
    AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0,
        "operations still pin memory");
    assertArrayEquals(before, usedBytes(), "used bytes of device 0, device 1, host");
    try (Session probe = client.openSession("probe")) {
      Metadata h = new Metadata();
      h.put(Session.SESSION_ID_KEY, probe.id());
      byte[] m = addModel();
      CompletableFuture<ModelInfo> r = new CompletableFuture<>();
      StreamObserver<LoadModelRequest> up = ModelGrpc.newStub(fixture.rawChannel())
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h)).loadModel(AbstractEndToEndTest.observer(r));
      messages(header("probe", m.length).build(), m, m.length).forEach(up::onNext);
      up.onCompleted();
      ModelInfo info = r.get(30, TimeUnit.SECONDS);
      ExecuteResponse out = ExecutionGrpc.newBlockingStub(fixture.rawChannel())
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
          .execute(addRequest(info.getModelId(), ramp(16, 0), ramp(16, 1), 1));
      assertArrayEquals(sum(ramp(16, 0), ramp(16, 1)), floats(out.getOutputs(0).getData()));
    }
    assertArrayEquals(before, usedBytes(), "the probe left nothing behind");
  }

  ModelEntry entry(String modelId) {
    return fixture.runtime().models().all().stream().filter(m -> m.id().equals(modelId)).findFirst().orElseThrow();
  }

  AutoCloseable hold(String modelId) {
    return fixture.runtime().models().scheduler(entry(modelId)).hold();
  }

  /** A file under /dev/shm of {@code size} bytes, deleted after the test. */
  Path shmFile(long size) throws IOException {
    Path p = Path.of("/dev/shm", "vnrt-test-" + UUID.randomUUID());
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ch.truncate(size);
      ch.write(ByteBuffer.wrap(new byte[] {0}), size - 1);
    }
    shmFiles.add(p);
    return p;
  }

  static void assertFailure(Throwable thrown, Status.Code code, NrtCode nrt, String messagePart) {
    Throwable t = thrown instanceof ExecutionException ? thrown.getCause() : thrown;
    AbstractEndToEndTest.assertStatus((StatusRuntimeException) t, code, nrt, messagePart);
  }

  // ---- happy paths -----------------------------------------------------------------------------

  @Test
  void loadDescribeListAndUnloadAModelStreamedInChunks() throws Exception {
    byte[] m = matMulModel();
    ModelInfo info = load("mm", m);
    assertTrue(info.getModelId().matches("m-[0-9a-f]{32}"), info.getModelId());
    assertEquals("mm", info.getName());
    assertEquals(0, info.getDeviceId());
    assertEquals(1, info.getCoresCount());
    assertEquals(13, info.getOpset());
    // a panel is as wide as the GEMM's register tile at this vector width (32 columns at 512 bits, 16 at 256)
    int panel = VectorShape.GEMM_COLUMNS;
    assertEquals(4L * panel * 4, info.getWeightsBytes(),
        "the 4x3 weight placed once, as one GEMM panel (k=4 rows of " + panel + " columns)");
    assertTrue(info.getLoadTimeMs() > 0);
    assertEquals("x", info.getInputs(0).getName());
    assertEquals(DataType.DATA_TYPE_FLOAT32, info.getInputs(0).getDtype());
    assertEquals(List.of(Dimension.newBuilder().setSymbol("batch").build(), Dimension.newBuilder().setSize(4).build()),
        info.getInputs(0).getShapeList());
    assertEquals(List.of(Dimension.newBuilder().setSymbol("batch").build(), Dimension.newBuilder().setSize(3).build()),
        info.getOutputs(0).getShapeList());

    assertEquals(info, models().getModel(GetModelRequest.newBuilder().setModelId(info.getModelId()).build()));
    assertEquals(List.of(info.getModelId()), models().listModels(ListModelsRequest.getDefaultInstance())
        .getModelsList().stream().map(ModelInfo::getModelId).toList());
    assertEquals(info.getWeightsBytes(), session.memoryStats().getDevices(0).getByModel(0).getWeightsBytes());

    ExecuteResponse r = exec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId()).setRequestId("r1")
        .addInputs(inline("x", floats(1, 0, 0, 1, 0, 1, 0, 0), 2, 4)).build());
    assertEquals("r1", r.getRequestId());
    assertEquals(List.of(2L, 3L), r.getOutputs(0).getShapeList());
    assertArrayEquals(new float[] {9, 11, 13, 3, 4, 5}, floats(r.getOutputs(0).getData()));
    assertEquals(1, r.getTiming().getBatchSize());
    assertTrue(models().getModel(GetModelRequest.newBuilder().setModelId(info.getModelId()).build())
        .getScratchBytes() >= 0);

    long freed = models().unloadModel(UnloadModelRequest.newBuilder().setModelId(info.getModelId()).build())
        .getBytesFreed();
    assertTrue(freed >= 64, "freed " + freed);
    assertEquals(0, models().listModels(ListModelsRequest.getDefaultInstance()).getModelsCount());
    assertArrayEquals(new long[3], usedBytes());
  }

  @Test
  void explicitCoreGroupOnTheSecondDeviceAndAutoPlacementSpreadsModels() throws Exception {
    byte[] m = addModel();
    ModelInfo a = load(header("a", 0).setAutoPlace(false).setDeviceId(1).setStartCore(2).setCoreCount(2), m);
    assertEquals(1, a.getDeviceId());
    assertEquals(List.of(2, 3), a.getCoresList());
    ModelInfo b = load(header("b", 0), m);
    ModelInfo c = load(header("c", 0), m);
    assertEquals(List.of(List.of(0), List.of(1)), List.of(b.getCoresList(), c.getCoresList()),
        "auto placement takes the least-loaded core");
    ExecuteResponse r = exec().execute(addRequest(a.getModelId(), ramp(32, 0), ramp(32, 5), 2));
    assertArrayEquals(sum(ramp(32, 0), ramp(32, 5)), floats(r.getOutputs(0).getData()));
  }

  @Test
  void everyOutputInlineByDefaultAndANamedSubset() throws Exception {
    ModelInfo info = load("two", twoOutputModel());
    float[] x = {-1, 2, -3, 4, Float.NaN, Float.POSITIVE_INFINITY};
    ExecuteRequest.Builder req = ExecuteRequest.newBuilder().setModelId(info.getModelId())
        .addInputs(inline("x", floats(x), 2, 3));
    ExecuteResponse all = exec().execute(req.build());
    assertEquals(List.of("r", "n"), all.getOutputsList().stream().map(o -> o.getName()).toList());
    float[] relu = floats(all.getOutputs(0).getData());
    assertArrayEquals(new float[] {0, 2, 0, 4}, java.util.Arrays.copyOf(relu, 4));
    assertTrue(Float.isNaN(relu[4]), "NaN computes normally");
    assertEquals(Float.POSITIVE_INFINITY, relu[5]);
    assertEquals(Float.NEGATIVE_INFINITY, floats(all.getOutputs(1).getData())[5]);
    ExecuteResponse one = exec().execute(req.addOutputs(ExecuteOutput.newBuilder().setName("n")).build());
    assertEquals(1, one.getOutputsCount());
    assertEquals("n", one.getOutputs(0).getName());
  }

  @Test
  void inputsAndOutputsByDeviceTensorHandle() throws Exception {
    ModelInfo info = load("add", addModel());
    try (DeviceTensor x = session.allocate(TensorSpec.of(DType.FLOAT32, 2, 16), 0);
        DeviceTensor raw = session.allocate(TensorSpec.of(DType.FLOAT32, 32), 0);
        DeviceTensor z = session.allocate(TensorSpec.of(DType.FLOAT32, 2, 16), 0)) {
      x.write(ramp(32, 1));
      raw.write(ramp(32, 100));
      ExecuteResponse r = exec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
          .addInputs(ExecuteInput.newBuilder().setName("x").setHandle(x.handle()))
          .addInputs(ExecuteInput.newBuilder().setName("y").setHandle(raw.handle()).addShape(2).addShape(16)
              .setDtype(DataType.DATA_TYPE_FLOAT32))
          .addOutputs(ExecuteOutput.newBuilder().setName("z").setHandle(z.handle())).build());
      assertEquals(z.handle(), r.getOutputs(0).getHandle());
      assertTrue(r.getOutputs(0).getData().isEmpty());
      assertEquals(List.of(2L, 16L), r.getOutputs(0).getShapeList());
      assertArrayEquals(sum(ramp(32, 1), ramp(32, 100)), z.readFloats());
    }
  }

  @Test
  void inputsAndOutputsThroughSharedMemory() throws Exception {
    ModelInfo info = load("add", addModel());
    Path file = shmFile(4096);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Arena arena = Arena.ofConfined()) {
      MemorySegment mem = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
      MemorySegment.copy(ramp(16, 0), 0, mem, ValueLayout.JAVA_FLOAT_UNALIGNED, 1024 + 0, 16);
      MemorySegment.copy(ramp(16, 50), 0, mem, ValueLayout.JAVA_FLOAT_UNALIGNED, 1024 + 64, 16);
      memory().registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("io")
          .setKey("/" + file.getFileName()).setOffsetBytes(1024).setSizeBytes(2048).build());
      assertEquals(List.of("io"), memory().listSharedMemory(ListSharedMemoryRequest.getDefaultInstance())
          .getRegionsList().stream().map(r -> r.getName()).toList());
      ExecuteResponse r = exec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
          .addInputs(shmInput("x", "io", 0, 64))
          .addInputs(shmInput("y", "io", 64, 64))
          .addOutputs(ExecuteOutput.newBuilder().setName("z").setSharedMemory(SharedMemoryRef.newBuilder()
              .setRegion("io").setOffsetBytes(512).setLengthBytes(1024)))
          .build());
      assertEquals(SharedMemoryRef.newBuilder().setRegion("io").setOffsetBytes(512).setLengthBytes(64).build(),
          r.getOutputs(0).getSharedMemory());
      float[] z = new float[16];
      MemorySegment.copy(mem, ValueLayout.JAVA_FLOAT_UNALIGNED, 1024 + 512, z, 0, 16);
      assertArrayEquals(sum(ramp(16, 0), ramp(16, 50)), z, "the output is in the client's file");
      memory().unregisterSharedMemory(UnregisterSharedMemoryRequest.newBuilder().setName("io").build());
      assertEquals(0, memory().listSharedMemory(ListSharedMemoryRequest.getDefaultInstance()).getRegionsCount());
    }
  }

  static ExecuteInput shmInput(String name, String region, long offset, long length) {
    return ExecuteInput.newBuilder().setName(name).setSharedMemory(SharedMemoryRef.newBuilder().setRegion(region)
        .setOffsetBytes(offset).setLengthBytes(length)).setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1).addShape(16)
        .build();
  }

  @Test
  void concurrentClientsEachGetTheirOwnResults() throws Exception {
    ModelInfo info = load(header("add", 0).setQueueDepth(64), addModel());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int seed = t;
        done.add(pool.submit(() -> {
          for (int i = 0; i < 25; i++) {
            float[] x = ramp(16, seed * 1000 + i);
            float[] y = ramp(16, -seed);
            ExecuteResponse r = exec().execute(addRequest(info.getModelId(), x, y, 1));
            assertArrayEquals(sum(x, y), floats(r.getOutputs(0).getData()));
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(200, entry(info.getModelId()).executions());
  }

  @Test
  void mlpFromTheSharedModelsRuns() throws Exception {
    Path file = Path.of(System.getProperty("vnrt.shared", "../shared"), "models", "mlp.onnx");
    assumeTrue(Files.exists(file), "mlp.onnx not found at " + file + " (set -Dvnrt.shared)");
    byte[] m = Files.readAllBytes(file);
    ModelInfo info = load(header("mlp", 0).setCoreCount(2), m);
    assertEquals("N", info.getInputs(0).getShape(0).getSymbol());
    float[] x = new float[784];
    for (int i = 0; i < x.length; i++) {
      x[i] = (i % 17) / 17f;
    }
    ExecuteResponse r = exec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
        .addInputs(ExecuteInput.newBuilder().setName(info.getInputs(0).getName()).setInline(InlineTensor.newBuilder()
            .setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1).addShape(784).setData(floats(x)))).build());
    float[] p = floats(r.getOutputs(0).getData());
    assertEquals(10, p.length);
    double total = 0;
    for (float v : p) {
      total += v;
    }
    assertEquals(1.0, total, 1e-4, "softmax output sums to 1");
  }

  @Test
  void executeStreamMatchesResponsesByIdAndSurvivesAFailedExecution() throws Exception {
    ModelInfo info = load(header("add", 0).setQueueDepth(128), addModel());
    int n = 100;
    StreamResponses responses = new StreamResponses();
    StreamObserver<ExecuteRequest> requests = asyncExec().executeStream(responses);
    for (int i = 0; i < n; i++) {
      requests.onNext(addRequest(info.getModelId(), ramp(16, i), ramp(16, 0), 1).toBuilder()
          .setRequestId("r" + i).build());
    }
    requests.onNext(ExecuteRequest.newBuilder().setModelId(info.getModelId()).setRequestId("bad")
        .addInputs(inline("nope", floats(1), 1)).build());
    requests.onNext(addRequest(info.getModelId(), ramp(16, 0), ramp(16, 0), 1));
    requests.onNext(addRequest(info.getModelId(), ramp(16, 7), ramp(16, 7), 1).toBuilder().setRequestId("last")
        .build());
    requests.onCompleted();
    responses.finished.get(60, TimeUnit.SECONDS);
    assertEquals(n + 3, responses.byId.size(), responses.byId.keySet().toString());
    for (int i = 0; i < n; i++) {
      ExecuteResponse r = responses.latest("r" + i);
      assertEquals(0, r.getStatusCode());
      assertArrayEquals(sum(ramp(16, i), ramp(16, 0)), floats(r.getOutputs(0).getData()));
    }
    ExecuteResponse bad = responses.latest("bad");
    assertEquals(Status.Code.INVALID_ARGUMENT.value(), bad.getStatusCode());
    assertEquals(NrtCode.NRT_EXEC_BAD_INPUT, bad.getError().getCode());
    assertTrue(bad.getError().getMessage().contains("unknown input 'nope'"), bad.getError().getMessage());
    assertTrue(responses.latest("").getError().getMessage().contains("request_id is required"));
    assertArrayEquals(sum(ramp(16, 7), ramp(16, 7)), floats(responses.latest("last").getOutputs(0).getData()),
        "the stream stayed open after the failures");
  }

  @Test
  void largeInlineInputsArriveWholeThroughExecuteAndExecuteStream() throws Exception {
    ModelInfo info = load(header("add", 0).setQueueDepth(16), addModel());
    int rows = (1 << 14) + 3; // each input just over 1 MiB: over a network transport, copied into native memory
    float[] x = ramp(16 * rows, 0);
    float[] y = ramp(16 * rows, 0.5f);
    ExecuteRequest r = addRequest(info.getModelId(), x, y, rows);
    assertArrayEquals(sum(x, y), floats(exec().execute(r).getOutputs(0).getData()));
    StreamResponses responses = new StreamResponses();
    StreamObserver<ExecuteRequest> requests = asyncExec().executeStream(responses);
    for (int i = 0; i < 3; i++) {
      requests.onNext(r.toBuilder().setRequestId("r" + i).build());
    }
    requests.onCompleted();
    responses.finished.get(60, TimeUnit.SECONDS);
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(sum(x, y), floats(responses.latest("r" + i).getOutputs(0).getData()), "stream request " + i);
    }
  }

  @Test
  void dynamicBatchingMergesConcurrentRequestsAndSplitsTheResults() throws Exception {
    ModelInfo info = load(header("add", 0).setBatching(BatchingOptions.newBuilder().setEnabled(true)
        .setMaxBatchSize(8).setMaxQueueDelayUs(1_000_000)), addModel());
    assertEquals(8, info.getBatching().getMaxBatchSize());
    List<CompletableFuture<ExecuteResponse>> results = new ArrayList<>();
    try (AutoCloseable held = hold(info.getModelId())) {
      for (int i = 0; i < 4; i++) {
        CompletableFuture<ExecuteResponse> f = new CompletableFuture<>();
        int rows = i == 3 ? 2 : 1;
        asyncExec().execute(addRequest(info.getModelId(), ramp(16 * rows, i * 100), ramp(16 * rows, 1), rows),
            AbstractEndToEndTest.observer(f));
        results.add(f);
      }
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry(info.getModelId())).queued() == 4,
          "four requests queued");
    }
    for (int i = 0; i < 4; i++) {
      int rows = i == 3 ? 2 : 1;
      ExecuteResponse r = results.get(i).get(30, TimeUnit.SECONDS);
      assertEquals(4, r.getTiming().getBatchSize(), "ran as one batch of four requests (five rows)");
      assertEquals(List.of((long) rows, 16L), r.getOutputs(0).getShapeList());
      assertArrayEquals(sum(ramp(16 * rows, i * 100), ramp(16 * rows, 1)), floats(r.getOutputs(0).getData()));
    }
  }

  @Test
  void closingTheSessionUnloadsItsModelsAndUnmapsItsRegions() throws Exception {
    load("a", addModel());
    load("b", matMulModel());
    Path file = shmFile(4096);
    memory().registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("r")
        .setKey("/" + file.getFileName()).setSizeBytes(4096).build());
    CloseSessionResponse closed = RuntimeGrpc.newBlockingStub(fixture.rawChannel())
        .withInterceptors(withSession(session.id())).closeSession(CloseSessionRequest.getDefaultInstance());
    assertEquals(2, closed.getModelsUnloaded());
    assertTrue(closed.getBytesFreed() >= 64);
    assertEquals(List.of(), fixture.runtime().models().all());
  }

  @Test
  void anExpiredSessionsModelsAndRegionsAreReleased() throws Exception {
    Session doomed = client.openSession("doomed", Duration.ofSeconds(60));
    Metadata h = new Metadata();
    h.put(Session.SESSION_ID_KEY, doomed.id());
    byte[] m = matMulModel();
    CompletableFuture<ModelInfo> r = new CompletableFuture<>();
    StreamObserver<LoadModelRequest> up = ModelGrpc.newStub(fixture.rawChannel())
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h)).loadModel(AbstractEndToEndTest.observer(r));
    messages(header("m", m.length).build(), m, 100).forEach(up::onNext);
    up.onCompleted();
    r.get(30, TimeUnit.SECONDS);
    Path file = shmFile(4096);
    MemoryGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
        .registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("r").setKey("/" + file.getFileName())
            .setSizeBytes(4096).build());
    io.vnrt.runtime.session.Session serverSide = fixture.runtime().sessions().byPublicId(doomed.id().substring(0, 8));
    AbstractEndToEndTest.awaitTrue(() -> serverSide.activeCalls() == 0, "the calls have ended on the server");
    assertEquals(1, fixture.runtime().models().all().size());
    ticker.advance(Duration.ofSeconds(61));
    AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().sessions().byPublicId(doomed.id().substring(0, 8)) == null,
        "the reaper expires the idle session");
    assertEquals(List.of(), fixture.runtime().models().all(), "expiry unloaded the model");
    assertEquals(List.of(), serverSide.sharedMemory().list(), "expiry unmapped the region");
    assertArrayEquals(new long[3], usedBytes());
    doomed.close();
  }

  @Test
  void executeStreamReadsNoMoreThanItsInFlightLimitFromAFastClient() throws Exception {
    ModelInfo info = load(header("add", 0).setQueueDepth(4096), addModel());
    int sent = 3 * ExecutionService.MAX_IN_FLIGHT;
    StreamResponses responses = new StreamResponses();
    ModelEntry entry = entry(info.getModelId());
    try (AutoCloseable held = hold(info.getModelId())) {
      StreamObserver<ExecuteRequest> requests = asyncExec().executeStream(responses);
      for (int i = 0; i < sent; i++) {
        requests.onNext(addRequest(info.getModelId(), ramp(16, i), ramp(16, 1), 1).toBuilder().setRequestId("r" + i)
            .build());
      }
      requests.onCompleted();
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry).queued()
          == ExecutionService.MAX_IN_FLIGHT, "the stream's first executions queued");
      Thread.sleep(100);
      assertEquals(ExecutionService.MAX_IN_FLIGHT, fixture.runtime().models().scheduler(entry).queued(),
          "the daemon read no request beyond its in-flight limit");
    }
    responses.finished.get(60, TimeUnit.SECONDS);
    assertEquals(sent, responses.byId.size());
    for (int i = 0; i < sent; i++) {
      assertArrayEquals(sum(ramp(16, i), ramp(16, 1)), floats(responses.latest("r" + i).getOutputs(0).getData()));
    }
  }

  @Test
  void aModelOfManyChunksStreamsInChunks() throws Exception {
    int n = 6 << 20;
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = i % 7;
    }
    byte[] m = new ModelBuilder(13).input("x", FLOAT32, (long) n).output("y", FLOAT32, (long) n)
        .initializer("w", Tensor.ofFloats(new long[] {n}, w)).node("Add", List.of("x", "w"), List.of("y")).bytes();
    assertTrue(m.length > io.vnrt.runtime.RuntimeConfig.MAX_CHUNK_BYTES, "the model is larger than the largest chunk");
    ModelInfo info = loadStream(messages(header("wide", m.length).build(), m, 1 << 20), true)
        .get(60, TimeUnit.SECONDS);
    assertEquals((long) n * 4, info.getWeightsBytes());
    try (DeviceTensor x = session.allocate(TensorSpec.of(DType.FLOAT32, n), 0);
        DeviceTensor y = session.allocate(TensorSpec.of(DType.FLOAT32, n), 0)) {
      x.write(new float[n]);
      exec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
          .addInputs(ExecuteInput.newBuilder().setName("x").setHandle(x.handle()))
          .addOutputs(ExecuteOutput.newBuilder().setName("y").setHandle(y.handle())).build());
      assertArrayEquals(w, y.readFloats());
    }
  }

  @Test
  void aRequestIdAlreadyInFlightOnTheStreamIsRefused() throws Exception {
    ModelInfo info = load("add", addModel());
    StreamResponses responses = new StreamResponses();
    try (AutoCloseable held = hold(info.getModelId())) {
      StreamObserver<ExecuteRequest> requests = asyncExec().executeStream(responses);
      ExecuteRequest r = addRequest(info.getModelId(), ramp(16, 0), ramp(16, 2), 1).toBuilder().setRequestId("dup")
          .build();
      requests.onNext(r);
      requests.onNext(r);
      AbstractEndToEndTest.awaitTrue(() -> responses.byId.containsKey("dup"),
          "the duplicate is answered while the first waits");
      ExecuteResponse refused = responses.byId.get("dup").getFirst();
      assertEquals(Status.Code.INVALID_ARGUMENT.value(), refused.getStatusCode());
      assertTrue(refused.getError().getMessage().contains("already in flight"), refused.getError().getMessage());
      requests.onCompleted();
    }
    responses.finished.get(30, TimeUnit.SECONDS);
    assertEquals(2, responses.byId.get("dup").size());
    assertArrayEquals(sum(ramp(16, 0), ramp(16, 2)),
        floats(responses.byId.get("dup").get(1).getOutputs(0).getData()));
  }

  // ---- warm-up at load ---------------------------------------------------------------------------

  /** y = Reshape(x, [2, -1]): runs only when the symbolic length of x is even. */
  static byte[] evenReshapeModel() {
    return new ModelBuilder(13).input("x", FLOAT32, "len").output("y", FLOAT32, 2L, "half")
        .initializer("shape", Tensor.ofLongs(new long[] {2}, 2, -1))
        .node("Reshape", List.of("x", "shape"), List.of("y")).bytes();
  }

  @Test
  void aWarmUpAtLoadRunsTheModelBeforeTheLoadAnswers() throws Exception {
    byte[] m = matMulModel();
    ModelInfo info = load(header("warm", m.length).setWarmupRuns(7).putWarmupDims("batch", 5), m);
    assertTrue(info.getWarmupTimeMs() > 0, "warm-up time reported: " + info.getWarmupTimeMs());
    assertTrue(info.getScratchBytes() > 0, "the warm-up compiled a plan (batch 5), so the model has scratch");
    assertEquals(0, entry(info.getModelId()).executions(), "warm-up executions are not counted as requests");
  }

  @Test
  void aLoadThatAsksForNoWarmUpGetsTheDaemonsDefaultOneUnlessItSkipsIt() throws Exception {
    byte[] m = matMulModel();
    ModelInfo byDefault = load(header("default", m.length).putWarmupDims("batch", 3), m);
    assertEquals(1, byDefault.getWarmupRuns(), "the daemon's default: one execution at the dims given");
    assertTrue(byDefault.getWarmupTimeMs() > 0, "its time is reported: " + byDefault.getWarmupTimeMs());
    assertEquals("", byDefault.getWarmupNote());
    assertTrue(byDefault.getScratchBytes() > 0, "the default warm-up compiled the plan of batch 3");
    assertEquals(0, entry(byDefault.getModelId()).executions(), "warm-up executions are not counted as requests");
    ModelInfo skipped = load(header("skipped", m.length).setSkipWarmup(true), m);
    assertEquals(0, skipped.getWarmupRuns());
    assertEquals(0.0, skipped.getWarmupTimeMs());
    assertEquals(0, skipped.getScratchBytes(), "no plan compiled yet: the first request compiles it");
    assertFailure(assertThrows(ExecutionException.class,
        () -> load(header("both", m.length).setSkipWarmup(true).setWarmupRuns(3), m)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "skip_warmup contradicts warmup_runs 3");
  }

  @Test
  void aModelTheDefaultWarmUpCannotRunStillLoadsAndSaysWhy() throws Exception {
    byte[] m = evenReshapeModel();
    ModelInfo info = load(header("odd", m.length), m);
    assertEquals(0, info.getWarmupRuns());
    assertTrue(info.getWarmupNote().contains("the default warm-up could not run the model on generated inputs"),
        info.getWarmupNote());
    assertTrue(info.getWarmupNote().contains("give warmup_dims the sizes of real requests"), info.getWarmupNote());
  }

  /**
   * A load whose warm-up would run for a minute, on a stub made by {@code call} in {@code context}
   * (on a thread of its own: the in-process transport runs the load on the caller's thread); once
   * its weights are in HBM, {@code giveUp} (when given) ends the client's call. The daemon must stop
   * the warm-up and free everything well before the minute is over (the wait gives up after 10 s).
   */
  private void assertAnAbandonedLoadKeepsNothing(Context context,
      Function<ModelGrpc.ModelStub, ModelGrpc.ModelStub> call, Optional<Runnable> giveUp, Status.Code expected)
      throws Exception {
    long[] before = usedBytes();
    byte[] m = matMulModel();
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    ModelGrpc.ModelStub stub = asyncModels();
    Thread caller = Thread.ofVirtual().start(context.wrap(() -> {
      StreamObserver<LoadModelRequest> up = call.apply(stub).loadModel(AbstractEndToEndTest.observer(result));
      messages(header("abandoned", m.length).setWarmupMs(60_000).putWarmupDims("batch", 2).build(), m, CHUNK)
          .forEach(up::onNext);
      up.onCompleted();
    }));
    if (giveUp.isPresent()) {
      AbstractEndToEndTest.awaitTrue(() -> usedBytes()[0] > before[0], "the load placed its weights in HBM");
      giveUp.get().run();
    }
    ExecutionException failed = assertThrows(ExecutionException.class, () -> result.get(30, TimeUnit.SECONDS));
    assertEquals(expected, ((StatusRuntimeException) failed.getCause()).getStatus().getCode(), failed.toString());
    // the client's answer comes from its own side; what matters is the daemon's: it stops and keeps nothing
    AbstractEndToEndTest.awaitTrue(() -> !fixture.runtime().models().busy(), "the daemon stopped the warm-up");
    assertTrue(caller.join(Duration.ofSeconds(10)), "the call returned");
    assertEquals(List.of(), fixture.runtime().models().all(), "no model registered");
    assertUnchangedAndServing(before);
  }

  @Test
  void aLoadWhoseDeadlinePassesDuringItsWarmUpKeepsNothing() throws Exception {
    assertAnAbandonedLoadKeepsNothing(Context.current(), stub -> stub.withDeadlineAfter(1500, TimeUnit.MILLISECONDS),
        Optional.empty(), Status.Code.DEADLINE_EXCEEDED);
  }

  /**
   * True where the server runs a call on the client's own thread (the embedded runtime's
   * in-process channel runs it directly): a cancel from another thread then reaches the call only
   * once it has returned, so only its deadline can stop a load there.
   */
  boolean callsRunOnTheClientsThread() {
    return false;
  }

  @Test
  void aLoadCancelledDuringItsWarmUpKeepsNothing() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(callsRunOnTheClientsThread(),
        "the in-process channel runs the load on the client's thread; a cancel reaches it after it returns");
    try (Context.CancellableContext cancellable = Context.current().withCancellation()) {
      assertAnAbandonedLoadKeepsNothing(cancellable, stub -> stub, Optional.of(() -> cancellable.cancel(null)),
          Status.Code.CANCELLED);
    }
  }

  @Test
  void aWarmUpThatFailsFailsTheLoadAndLeavesNothing() throws Exception {
    long[] before = usedBytes();
    byte[] m = evenReshapeModel();
    assertFailure(assertThrows(ExecutionException.class,
        () -> load(header("odd", m.length).setWarmupRuns(1), m)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "warm-up execution 1 of model 'odd' failed");
    assertUnchangedAndServing(before);
    ModelInfo ok = load(header("even", m.length).setWarmupRuns(2).putWarmupDims("len", 6), m);
    assertTrue(ok.getWarmupTimeMs() > 0, "warmed up with len = 6");
  }

  @Test
  void warmUpLimitsAreChecked() throws Exception {
    long[] before = usedBytes();
    byte[] m = addModel();
    assertFailure(assertThrows(ExecutionException.class,
        () -> load(header("long", m.length).setWarmupMs(60_001), m)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "warmup_ms must be between 0 and 60000, got 60001");
    assertFailure(assertThrows(ExecutionException.class,
        () -> load(header("dims", m.length).setWarmupRuns(1).putWarmupDims("n", 0), m)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "warmup_dims['n'] must be at least 1, got 0");
    assertUnchangedAndServing(before);
  }

  static ExecuteRequest imageRequest(String modelId, int size) {
    float[] ones = new float[3 * size * size];
    java.util.Arrays.fill(ones, 1f);
    return ExecuteRequest.newBuilder().setModelId(modelId).addInputs(inline("x", floats(ones), 1, 3, size, size))
        .build();
  }

  @Test
  void aCnnWhoseSymbolicSpatialDimsShrinkBelowAPoolWindowLoadsRunsAndRefusesTooSmallImages() throws Exception {
    ModelInfo info = load("cnn", ShrinkingCnn.model());
    for (int size : new int[] {224, 64}) {
      ExecuteResponse out = exec().execute(imageRequest(info.getModelId(), size));
      // ones through the convolution give 27·(c + 1) everywhere, which pooling keeps
      assertArrayEquals(ShrinkingCnn.ONES_OUTPUT, floats(out.getOutputs(0).getData()), "size " + size);
    }
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(imageRequest(info.getModelId(), 32))),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_EXEC_BAD_INPUT,
        "model 'cnn': cannot run with these input shapes: MaxPool 'maxpool6' (opset 9): window of 2 does not fit axis 0 of "
            + "size 1 with pads 0+0 (input 'x' is float32[1, 3, 32, 32]; N=1, H=32, W=32)");
    assertUnchangedAndServing(before);
    ExecuteResponse again = exec().execute(imageRequest(info.getModelId(), 224));
    assertArrayEquals(ShrinkingCnn.ONES_OUTPUT, floats(again.getOutputs(0).getData()), "still runs after the refusal");
  }

  // ---- bad model streams -----------------------------------------------------------------------

  @Test
  void aTruncatedModelStreamIsInvalid() throws Exception {
    long[] before = usedBytes();
    byte[] m = addModel();
    List<LoadModelRequest> msgs = messages(header("t", m.length + 10L).build(), m, CHUNK);
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(msgs, true).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "ended after " + m.length + " bytes");
    assertUnchangedAndServing(before);
  }

  @Test
  void anOversizedModelStreamIsInvalid() throws Exception {
    long[] before = usedBytes();
    byte[] m = addModel();
    List<LoadModelRequest> msgs = messages(header("o", m.length - 1L).build(), m, 10);
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(msgs, true).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "more than the " + (m.length - 1) + " bytes");
    assertUnchangedAndServing(before);
  }

  @Test
  void aModelStreamWithoutHeaderIsInvalid() throws Exception {
    long[] before = usedBytes();
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(List.of(), true).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "ended without a header");
    List<LoadModelRequest> chunkFirst = List.of(LoadModelRequest.newBuilder().setChunk(ByteString.copyFromUtf8("x"))
        .build());
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(chunkFirst, true).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "must start with its header");
    byte[] m = addModel();
    List<LoadModelRequest> twoHeaders = new ArrayList<>(messages(header("h", m.length).build(), m, 50));
    twoHeaders.add(2, twoHeaders.getFirst());
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(twoHeaders, true).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "a second header");
    assertUnchangedAndServing(before);
  }

  @Test
  void aModelOverTheMaximumSizeIsRefusedFromItsHeader() throws Exception {
    long[] before = usedBytes();
    List<LoadModelRequest> huge = List.of(LoadModelRequest.newBuilder().setHeader(header("big", HBM_BYTES + 1))
        .build());
    assertFailure(assertThrows(ExecutionException.class, () -> loadStream(huge, false).get(30, TimeUnit.SECONDS)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "max model size");
    assertUnchangedAndServing(before);
  }

  @Test
  void aClientCancellingMidStreamLeavesNothing() throws Exception {
    long[] before = usedBytes();
    byte[] m = addModel();
    Context.CancellableContext ctx = Context.current().withCancellation();
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    ctx.run(() -> {
      StreamObserver<LoadModelRequest> up = asyncModels().loadModel(AbstractEndToEndTest.observer(result));
      messages(header("c", m.length).build(), m, 20).subList(0, 3).forEach(up::onNext);
    });
    ctx.cancel(null);
    assertFailure(assertThrows(ExecutionException.class, () -> result.get(30, TimeUnit.SECONDS)),
        Status.Code.CANCELLED, NrtCode.NRT_CODE_UNSPECIFIED, "");
    assertEquals(0, models().listModels(ListModelsRequest.getDefaultInstance()).getModelsCount());
    assertUnchangedAndServing(before);
  }

  @Test
  void malformedAndUnsupportedModelsNameTheirProblems() throws Exception {
    long[] before = usedBytes();
    assertFailure(assertThrows(ExecutionException.class,
        () -> load("junk", "not an onnx model at all".getBytes())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
        "cannot be loaded");
    byte[] unsupported = new ModelBuilder(13).input("x", FLOAT32, 2L).output("y", FLOAT32, 2L)
        .node("NoSuchOp", List.of("x"), List.of("t")).node("AlsoMissing", List.of("t"), List.of("y")).bytes();
    ExecutionException e = assertThrows(ExecutionException.class, () -> load("u", unsupported));
    assertFailure(e, Status.Code.UNIMPLEMENTED, NrtCode.NRT_UNSUPPORTED, "NoSuchOp");
    io.vnrt.client.VnrtException mapped = (io.vnrt.client.VnrtException) io.vnrt.client.internal.Errors
        .translate(e.getCause());
    assertEquals("AlsoMissing,NoSuchOp", mapped.context().get("unsupported_ops"));
    assertUnchangedAndServing(before);
  }

  @Test
  void badCoreGroupsAreRefused() throws Exception {
    long[] before = usedBytes();
    byte[] m = addModel();
    assertFailure(assertThrows(ExecutionException.class, () -> load(header("x", 0).setAutoPlace(false)
        .setStartCore(1).setCoreCount(2), m)), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "cannot span devices");
    assertFailure(assertThrows(ExecutionException.class, () -> load(header("x", 0).setAutoPlace(false)
        .setStartCore(9), m)), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "not within device 0");
    assertFailure(assertThrows(ExecutionException.class, () -> load(header("x", 0).setDeviceId(5), m)),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "unknown device 5");
    assertFailure(assertThrows(ExecutionException.class, () -> load(header("x", 0).setCoreCount(3), m)),
        Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_LOAD_NOT_ENOUGH_NC, "asks for 3 cores");
    assertUnchangedAndServing(before);
  }

  @Test
  void aModelThatDoesNotFitIsRefusedAndLeavesNothing() throws Exception {
    try (DeviceTensor filler = session.allocate(TensorSpec.of(DType.RAW, HBM_BYTES - (1 << 20)), 0)) {
      long[] before = usedBytes();
      float[] w = new float[1 << 19];
      byte[] big = new ModelBuilder(13).input("x", FLOAT32, 1L, 1024L).output("y", FLOAT32, 1L, 512L)
          .initializer("W", Tensor.ofFloats(new long[] {1024, 512}, w))
          .node("MatMul", List.of("x", "W"), List.of("y")).bytes();
      assertFailure(assertThrows(ExecutionException.class, () -> load("big", big)), Status.Code.RESOURCE_EXHAUSTED,
          NrtCode.NRT_RESOURCE, "does not fit on device 0");
      assertUnchangedAndServing(before);
    }
  }

  // ---- bad executions --------------------------------------------------------------------------

  @Test
  void unknownAndForeignModelIdsAreNotFound() throws Exception {
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(addRequest("m-nope", ramp(16, 0),
        ramp(16, 0), 1))), Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE, "no model with id 'm-nope'");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> models().getModel(GetModelRequest.newBuilder()
        .setModelId("m-nope").build())), Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE, "m-nope");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> models().unloadModel(UnloadModelRequest
        .newBuilder().setModelId("m-nope").build())), Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE, "m-nope");
    ModelInfo mine = load("add", addModel());
    try (Session other = client.openSession("other")) {
      ExecutionGrpc.ExecutionBlockingStub theirs = ExecutionGrpc.newBlockingStub(fixture.rawChannel())
          .withInterceptors(withSession(other.id()));
      assertFailure(assertThrows(StatusRuntimeException.class, () -> theirs.execute(addRequest(mine.getModelId(),
          ramp(16, 0), ramp(16, 0), 1))), Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE, "another session");
    }
    models().unloadModel(UnloadModelRequest.newBuilder().setModelId(mine.getModelId()).build());
    assertUnchangedAndServing(before);
  }

  @Test
  void wrongInputNamesListTheExpectedInputs() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(inline("x", floats(ramp(16, 0)), 1, 16))
        .addInputs(inline("why", floats(ramp(16, 0)), 1, 16)).build())), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "unknown input 'why'; missing input 'y' (float32[N,16])");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(addRequest(info.getModelId(),
        ramp(16, 0), ramp(16, 0), 1).toBuilder().addOutputs(ExecuteOutput.newBuilder().setName("zz")).build())),
        Status.Code.INVALID_ARGUMENT, NrtCode.NRT_EXEC_BAD_INPUT, "has no output 'zz'");
    assertUnchangedAndServing(before);
  }

  @Test
  void wrongInputDtypesAreRefused() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    ExecuteRequest r = addRequest(info.getModelId(), ramp(16, 0), ramp(16, 0), 1);
    ExecuteRequest wrong = r.toBuilder().setInputs(1, r.getInputs(1).toBuilder().setInline(r.getInputs(1).getInline()
        .toBuilder().setDtype(DataType.DATA_TYPE_INT32))).build();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(wrong)), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "input 'y' must be float32, got int32");
    assertUnchangedAndServing(before);
  }

  @Test
  void wrongShapesNameTheSymbolsAndTheExpectedDims() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(inline("x", floats(ramp(16, 0)), 16))
        .addInputs(inline("y", floats(ramp(16, 0)), 1, 16)).build())), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "input 'x' must have rank 2 (float32[N,16])");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(inline("x", floats(ramp(32, 0)), 2, 16))
        .addInputs(inline("y", floats(ramp(16, 0)), 1, 16)).build())), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "('N') is 1 but input 'x' binds 'N' to 2");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(inline("x", floats(ramp(8, 0)), 1, 8))
        .addInputs(inline("y", floats(ramp(8, 0)), 1, 8)).build())), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "dimension 1 must be 16");
    assertUnchangedAndServing(before);
  }

  @Test
  void byteCountsThatDoNotMatchDtypeAndShapeAreRefused() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(inline("x", floats(ramp(15, 0)), 1, 16))
        .addInputs(inline("y", floats(ramp(16, 0)), 1, 16)).build())), Status.Code.INVALID_ARGUMENT,
        NrtCode.NRT_EXEC_BAD_INPUT, "takes 64 bytes, but 60 bytes were given");
    try (DeviceTensor small = session.allocate(TensorSpec.of(DType.FLOAT32, 8), 0);
        DeviceTensor out = session.allocate(TensorSpec.of(DType.INT32, 16), 0)) {
      assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
          .setModelId(info.getModelId()).addInputs(ExecuteInput.newBuilder().setName("x").setHandle(small.handle())
              .setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1).addShape(16))
          .addInputs(inline("y", floats(ramp(16, 0)), 1, 16)).build())), Status.Code.INVALID_ARGUMENT,
          NrtCode.NRT_EXEC_BAD_INPUT, "holds 32");
      assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(addRequest(info.getModelId(),
          ramp(16, 0), ramp(16, 0), 1).toBuilder().addOutputs(ExecuteOutput.newBuilder().setName("z")
              .setHandle(out.handle())).build())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_EXEC_BAD_INPUT,
          "tensor 't-");
    }
    assertUnchangedAndServing(before);
  }

  @Test
  void sharedMemoryReferencesOutsideTheRegionOrToNoRegionAreRefused() throws Exception {
    ModelInfo info = load("add", addModel());
    Path file = shmFile(256);
    memory().registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("small")
        .setKey("/" + file.getFileName()).setSizeBytes(100).build());
    long[] before = usedBytes();
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(shmInput("x", "small", 64, 64))
        .addInputs(shmInput("y", "small", 0, 64)).build())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
        "64 bytes at offset 64 are outside shared-memory region 'small'");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(ExecuteRequest.newBuilder()
        .setModelId(info.getModelId()).addInputs(shmInput("x", "nowhere", 0, 64))
        .addInputs(shmInput("y", "small", 0, 64)).build())), Status.Code.NOT_FOUND, NrtCode.NRT_INVALID_HANDLE,
        "no shared-memory region named 'nowhere'");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> memory().registerSharedMemory(
        RegisterSharedMemoryRequest.newBuilder().setName("r").setKey("/" + file.getFileName()).setOffsetBytes(200)
            .setSizeBytes(100).build())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "goes past the end");
    for (String key : List.of("/../etc/passwd", "/a/b", "noslash", "/..")) {
      assertFailure(assertThrows(StatusRuntimeException.class, () -> memory().registerSharedMemory(
          RegisterSharedMemoryRequest.newBuilder().setName("r").setKey(key).setSizeBytes(1).build())),
          Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "must be '/name'");
    }
    assertFailure(assertThrows(StatusRuntimeException.class, () -> memory().registerSharedMemory(
        RegisterSharedMemoryRequest.newBuilder().setName("r").setKey("/vnrt-test-missing-" + UUID.randomUUID())
            .setSizeBytes(1).build())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "does not exist");
    Path dir = Files.createDirectory(Path.of("/dev/shm", "vnrt-test-dir-" + UUID.randomUUID()));
    shmFiles.add(dir);
    assertFailure(assertThrows(StatusRuntimeException.class, () -> memory().registerSharedMemory(
        RegisterSharedMemoryRequest.newBuilder().setName("r").setKey("/" + dir.getFileName()).setSizeBytes(1)
            .build())), Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID, "is not a regular file");
    assertFailure(assertThrows(StatusRuntimeException.class, () -> memory().unregisterSharedMemory(
        UnregisterSharedMemoryRequest.newBuilder().setName("nowhere").build())), Status.Code.NOT_FOUND,
        NrtCode.NRT_INVALID_HANDLE, "nowhere");
    assertUnchangedAndServing(before);
  }

  @Test
  void aFullQueueIsRefusedAtOnce() throws Exception {
    ModelInfo info = load(header("add", 0).setQueueDepth(1), addModel());
    exec().execute(addRequest(info.getModelId(), ramp(16, 0), ramp(16, 1), 1));
    long[] before = usedBytes();
    CompletableFuture<ExecuteResponse> queued = new CompletableFuture<>();
    try (AutoCloseable held = hold(info.getModelId())) {
      asyncExec().execute(addRequest(info.getModelId(), ramp(16, 0), ramp(16, 1), 1),
          AbstractEndToEndTest.observer(queued));
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry(info.getModelId()))
          .queued() == 1, "one execution queued");
      assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().execute(addRequest(info.getModelId(),
          ramp(16, 0), ramp(16, 0), 1))), Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_QUEUE_FULL,
          "already holds 1 executions of model 'add'");
    }
    assertArrayEquals(sum(ramp(16, 0), ramp(16, 1)), floats(queued.get(30, TimeUnit.SECONDS).getOutputs(0).getData()),
        "the queued execution ran once the group was free");
    assertUnchangedAndServing(before);
  }

  @Test
  void aDeadlinePassedInTheQueueNeverStarts() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    ModelEntry entry = entry(info.getModelId());
    try (AutoCloseable held = hold(info.getModelId())) {
      assertFailure(assertThrows(StatusRuntimeException.class, () -> exec().withDeadlineAfter(100,
          TimeUnit.MILLISECONDS).execute(addRequest(info.getModelId(), ramp(16, 0), ramp(16, 0), 1))),
          Status.Code.DEADLINE_EXCEEDED, NrtCode.NRT_CODE_UNSPECIFIED, "");
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry).queued() == 0,
          "the expired execution left the queue");
      // through the runtime API, a deadline found passed when the group frees up answers NRT_TIMEOUT
      var direct = fixture.runtime().models().submit(fixture.runtime().sessions().sessions().stream()
          .filter(s -> session.id().equals(s.id())).findFirst().orElseThrow(), new ExecutionRequest(
              info.getModelId(), Map.of("x", floatsSource(ramp(16, 0)), "y", floatsSource(ramp(16, 0))), Map.of(),
              System.nanoTime() + 1));
      held.close();
      ExecutionException e = assertThrows(ExecutionException.class, () -> direct.get(30, TimeUnit.SECONDS));
      StatusRuntimeException s = Statuses.toStatus(e.getCause());
      assertFailure(s, Status.Code.DEADLINE_EXCEEDED, NrtCode.NRT_TIMEOUT, "was not started");
    }
    assertEquals(0, entry.executions(), "neither execution started");
    assertUnchangedAndServing(before);
  }

  static TensorSource floatsSource(float[] v) {
    MemorySegment s = MemorySegment.ofArray(v);
    return new TensorSource.Inline(FLOAT32, new long[] {1, 16}, s);
  }

  @Test
  void aClientThatDisconnectsWhileQueuedLeavesNothingQueued() throws Exception {
    ModelInfo info = load("add", addModel());
    long[] before = usedBytes();
    ModelEntry entry = entry(info.getModelId());
    try (DeviceTensor in = session.allocate(TensorSpec.of(DType.FLOAT32, 1, 16), 0);
        AutoCloseable held = hold(info.getModelId())) {
      in.write(ramp(16, 3));
      Context.CancellableContext ctx = Context.current().withCancellation();
      CompletableFuture<ExecuteResponse> gone = new CompletableFuture<>();
      ctx.run(() -> asyncExec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
          .addInputs(ExecuteInput.newBuilder().setName("x").setHandle(in.handle()))
          .addInputs(inline("y", floats(ramp(16, 0)), 1, 16)).build(), AbstractEndToEndTest.observer(gone)));
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry).queued() == 1, "queued");
      ctx.cancel(null);
      assertThrows(ExecutionException.class, () -> gone.get(30, TimeUnit.SECONDS));
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry).queued() == 0,
          "the cancelled execution left the queue");
    }
    assertEquals(0, entry.executions(), "the cancelled execution never ran");
    assertUnchangedAndServing(before);
  }

  @Test
  void unregisteringARegionInUseByAQueuedExecutionIsSafe() throws Exception {
    ModelInfo info = load("add", addModel());
    Path file = shmFile(4096);
    memory().registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("io")
        .setKey("/" + file.getFileName()).setSizeBytes(4096).build());
    CompletableFuture<ExecuteResponse> result = new CompletableFuture<>();
    try (AutoCloseable held = hold(info.getModelId())) {
      asyncExec().execute(ExecuteRequest.newBuilder().setModelId(info.getModelId())
          .addInputs(shmInput("x", "io", 0, 64)).addInputs(shmInput("y", "io", 64, 64))
          .addOutputs(ExecuteOutput.newBuilder().setName("z").setSharedMemory(SharedMemoryRef.newBuilder()
              .setRegion("io").setOffsetBytes(128).setLengthBytes(64))).build(), AbstractEndToEndTest.observer(result));
      AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().models().scheduler(entry(info.getModelId())).queued() == 1,
          "queued");
      memory().unregisterSharedMemory(UnregisterSharedMemoryRequest.newBuilder().setName("io").build());
    }
    ExecuteResponse r = result.get(30, TimeUnit.SECONDS);
    assertEquals(64, r.getOutputs(0).getSharedMemory().getLengthBytes(), "the mapping stayed until the run ended");
    assertFalse(fixture.runtime().models().all().isEmpty());
  }

  /** Collects an ExecuteStream's responses by request id, and its end. */
  static final class StreamResponses implements StreamObserver<ExecuteResponse> {
    final Map<String, List<ExecuteResponse>> byId = new java.util.concurrent.ConcurrentHashMap<>();
    final CompletableFuture<Void> finished = new CompletableFuture<>();

    /** The last response with this id, or null. */
    ExecuteResponse latest(String id) {
      List<ExecuteResponse> all = byId.get(id);
      return all == null ? null : all.getLast();
    }

    @Override
    public void onNext(ExecuteResponse r) {
      byId.computeIfAbsent(r.getRequestId(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(r);
    }

    @Override
    public void onError(Throwable t) {
      finished.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      finished.complete(null);
    }
  }
}
