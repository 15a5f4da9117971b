package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import inference.GRPCInferenceServiceGrpc;
import inference.GrpcService;
import inference.ModelConfigOuterClass;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.inference.GrpcServiceProto;
import io.vnrt.proto.inference.ModelConfigProto;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.logging.LogFormat;
import io.vnrt.runtime.logging.LogSettings;
import io.vnrt.runtime.models.ModelEntry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

/**
 * The daemon as a Triton client sees it: stubs generated from Triton's own grpc_service.proto and
 * model_config.proto (../shared/protocols/triton, compiled in test scope into the Java package
 * "inference", apart from the project's copy) call every RPC a Triton client calls, over TCP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TritonProtocolCompatibilityTest {
  private static final String DENSE_CONFIG = """
      name: "configured"
      backend: "onnxruntime"
      max_batch_size: 8
      input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
      output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] } ]
      dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }
      instance_group [ { count: 2 kind: KIND_CPU } ]
      """;

  VnrtRuntime runtime;
  DaemonServer server;
  ManagedChannel channel;
  GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub triton;

  @BeforeAll
  void start(@TempDir Path repository) throws Exception {
    model(repository, "plain", null);
    model(repository, "configured", DENSE_CONFIG);
    model(repository, "unparsable", "name: \"unparsable\"\nmax_batch_size: 8\ninputs [ { name: \"x\" } ]\n");
    model(repository, "contradicts", DENSE_CONFIG.replace("\"configured\"", "\"contradicts\"")
        .replace("data_type: TYPE_FP32 dims: [ 4 ]", "data_type: TYPE_INT32 dims: [ 4 ]"));
    model(repository, "wrongdims", DENSE_CONFIG.replace("\"configured\"", "\"wrongdims\"")
        .replace("dims: [ 4 ]", "dims: [ 5 ]"));
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(
        new java.net.InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()), Security.NONE,
        Optional.of(repository));
    channel = NettyChannelBuilder.forTarget(server.targets().getFirst()).usePlaintext().build();
    triton = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    triton.repositoryModelLoad(GrpcService.RepositoryModelLoadRequest.newBuilder().setModelName("plain").build());
    triton.repositoryModelLoad(GrpcService.RepositoryModelLoadRequest.newBuilder().setModelName("configured").build());
  }

  private static void model(Path repository, String name, String config) throws Exception {
    Files.createDirectories(repository.resolve(name).resolve("1"));
    Files.write(repository.resolve(name).resolve("1/model.onnx"), TestModels.dense());
    if (config != null) {
      Files.writeString(repository.resolve(name).resolve("config.pbtxt"), config);
    }
  }

  @AfterAll
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
    runtime.close();
  }

  /** Every message, field and enum value of Triton's protos is in the project's, with the same number and type. */
  @Test
  void theProjectsContractHasTritonsFieldNumbers() {
    Map<String, Descriptors.Descriptor> ours = new java.util.HashMap<>();
    for (Descriptors.FileDescriptor f : List.of(GrpcServiceProto.getDescriptor(), ModelConfigProto.getDescriptor())) {
      f.getMessageTypes().forEach(m -> collect(m, ours));
    }
    Map<String, Descriptors.EnumDescriptor> ourEnums = new java.util.HashMap<>();
    ours.values().forEach(m -> m.getEnumTypes().forEach(e -> ourEnums.put(e.getFullName(), e)));
    ModelConfigProto.getDescriptor().getEnumTypes().forEach(e -> ourEnums.put(e.getFullName(), e));
    List<String> problems = new ArrayList<>();
    int fields = 0;
    Map<String, Descriptors.Descriptor> upstream = new java.util.HashMap<>();
    for (Descriptors.FileDescriptor f : List.of(GrpcService.getDescriptor(), ModelConfigOuterClass.getDescriptor())) {
      f.getMessageTypes().forEach(m -> collect(m, upstream));
    }
    for (Descriptors.Descriptor theirs : upstream.values()) {
      Descriptors.Descriptor mine = ours.get(theirs.getFullName());
      if (mine == null) {
        problems.add("missing message " + theirs.getFullName());
        continue;
      }
      for (Descriptors.FieldDescriptor tf : theirs.getFields()) {
        fields++;
        Descriptors.FieldDescriptor mf = mine.findFieldByNumber(tf.getNumber());
        if (mf == null || !mf.getName().equals(tf.getName()) || mf.getType() != tf.getType()
            || mf.isRepeated() != tf.isRepeated() || !typeName(mf).equals(typeName(tf))
            || !oneof(mf).equals(oneof(tf))) {
          problems.add(theirs.getFullName() + " field " + tf.getNumber() + " " + tf.getName() + ": ours is "
              + (mf == null ? "missing" : mf.getName() + " " + mf.getType() + " " + typeName(mf)));
        }
      }
      if (mine.getFields().size() != theirs.getFields().size()) {
        problems.add(theirs.getFullName() + " has " + theirs.getFields().size() + " fields, ours "
            + mine.getFields().size());
      }
      for (Descriptors.EnumDescriptor te : theirs.getEnumTypes()) {
        compareEnum(te, ourEnums.get(te.getFullName()), problems);
      }
    }
    for (Descriptors.EnumDescriptor te : ModelConfigOuterClass.getDescriptor().getEnumTypes()) {
      compareEnum(te, ourEnums.get(te.getFullName()), problems);
    }
    Set<String> theirMethods = GrpcService.getDescriptor().findServiceByName("GRPCInferenceService").getMethods()
        .stream().map(m -> m.getName() + "(" + m.getInputType().getFullName() + ")" + m.getOutputType().getFullName()
            + m.isClientStreaming() + m.isServerStreaming()).collect(Collectors.toSet());
    Set<String> ourMethods = GrpcServiceProto.getDescriptor().findServiceByName("GRPCInferenceService").getMethods()
        .stream().map(m -> m.getName() + "(" + m.getInputType().getFullName() + ")" + m.getOutputType().getFullName()
            + m.isClientStreaming() + m.isServerStreaming()).collect(Collectors.toSet());
    assertEquals(theirMethods, ourMethods, "the RPCs of GRPCInferenceService");
    assertEquals(List.of(), problems);
    assertTrue(upstream.size() > 90 && fields > 300, "compared " + upstream.size() + " messages, " + fields + " fields");
  }

  private static void collect(Descriptors.Descriptor m, Map<String, Descriptors.Descriptor> into) {
    into.put(m.getFullName(), m);
    m.getNestedTypes().forEach(n -> collect(n, into));
  }

  private static String typeName(Descriptors.FieldDescriptor f) {
    return switch (f.getJavaType()) {
      case MESSAGE -> f.getMessageType().getFullName();
      case ENUM -> f.getEnumType().getFullName();
      default -> "";
    };
  }

  private static String oneof(Descriptors.FieldDescriptor f) {
    return f.getRealContainingOneof() == null ? "" : f.getRealContainingOneof().getName();
  }

  private static void compareEnum(Descriptors.EnumDescriptor theirs, Descriptors.EnumDescriptor mine,
      List<String> problems) {
    if (mine == null) {
      problems.add("missing enum " + theirs.getFullName());
      return;
    }
    for (Descriptors.EnumValueDescriptor v : theirs.getValues()) {
      Descriptors.EnumValueDescriptor m = mine.findValueByNumber(v.getNumber());
      if (m == null || !m.getName().equals(v.getName())) {
        problems.add(theirs.getFullName() + " value " + v.getNumber() + " " + v.getName());
      }
    }
  }

  @Test
  void healthAndMetadataAsTritonClientsReadThem() {
    assertTrue(triton.serverLive(GrpcService.ServerLiveRequest.getDefaultInstance()).getLive());
    assertTrue(triton.serverReady(GrpcService.ServerReadyRequest.getDefaultInstance()).getReady());
    GrpcService.ServerMetadataResponse meta = triton.serverMetadata(
        GrpcService.ServerMetadataRequest.getDefaultInstance());
    assertEquals("vnrt", meta.getName());
    assertTrue(meta.getExtensionsList().containsAll(List.of("statistics", "model_configuration", "model_repository",
        "system_shared_memory", "trace", "logging")), meta.getExtensionsList().toString());
    assertTrue(triton.modelReady(GrpcService.ModelReadyRequest.newBuilder().setName("plain").build()).getReady());
    assertFalse(triton.modelReady(GrpcService.ModelReadyRequest.newBuilder().setName("nope").build()).getReady());
    GrpcService.ModelMetadataResponse m = triton.modelMetadata(GrpcService.ModelMetadataRequest.newBuilder()
        .setName("plain").build());
    assertEquals(List.of("1"), m.getVersionsList());
    assertEquals("x", m.getInputs(0).getName());
    assertEquals("FP32", m.getInputs(0).getDatatype());
    assertEquals(List.of(-1L, 4L), m.getInputs(0).getShapeList());

    // the texts tritonclient's examples match on, vnrt's detail after them
    StatusRuntimeException unknown = fails(Status.Code.NOT_FOUND, () -> triton.modelMetadata(
        GrpcService.ModelMetadataRequest.newBuilder().setName("nope").build()));
    assertTrue(unknown.getStatus().getDescription().startsWith("Request for unknown model: 'nope' is not found"),
        unknown.getStatus().getDescription());
    StatusRuntimeException version = fails(Status.Code.NOT_FOUND, () -> triton.modelMetadata(
        GrpcService.ModelMetadataRequest.newBuilder().setName("plain").setVersion("7").build()));
    assertTrue(version.getStatus().getDescription().startsWith("Request for unknown model: 'plain' version 7 is not "
        + "found"), version.getStatus().getDescription());
  }

  @Test
  void modelConfigIsCompletedFromTheModelWithoutConfigPbtxt() {
    ModelConfigOuterClass.ModelConfig c = triton.modelConfig(GrpcService.ModelConfigRequest.newBuilder()
        .setName("plain").build()).getConfig();
    assertEquals("plain", c.getName());
    assertEquals("onnxruntime_onnx", c.getPlatform());
    assertEquals("onnxruntime", c.getBackend());
    // every input and output has a symbolic first dimension: Triton's ONNX backend batches up to 4
    assertEquals(4, c.getMaxBatchSize());
    assertTrue(c.hasDynamicBatching());
    assertEquals(1, c.getInputCount());
    assertEquals("x", c.getInput(0).getName());
    assertEquals(ModelConfigOuterClass.DataType.TYPE_FP32, c.getInput(0).getDataType());
    assertEquals(List.of(4L), c.getInput(0).getDimsList());
    assertEquals(List.of("y", "xw"), c.getOutputList().stream().map(ModelConfigOuterClass.ModelOutput::getName)
        .toList());
    assertEquals(List.of(3L), c.getOutput(0).getDimsList());
    assertEquals(ModelConfigOuterClass.ModelInstanceGroup.Kind.KIND_CPU, c.getInstanceGroup(0).getKind());
    assertEquals(1, c.getInstanceGroup(0).getCount());
  }

  @Test
  void configPbtxtIsReportedAndApplied() {
    ModelConfigOuterClass.ModelConfig c = triton.modelConfig(GrpcService.ModelConfigRequest.newBuilder()
        .setName("configured").build()).getConfig();
    assertEquals(8, c.getMaxBatchSize());
    assertEquals(List.of(2, 4), c.getDynamicBatching().getPreferredBatchSizeList());
    assertEquals(100, c.getDynamicBatching().getMaxQueueDelayMicroseconds());
    assertEquals(List.of("y"), c.getOutputList().stream().map(ModelConfigOuterClass.ModelOutput::getName).toList());
    assertEquals(2, c.getInstanceGroup(0).getCount());
    assertEquals("onnxruntime_onnx", c.getPlatform());

    // instance_group count 2: two core groups, each with the model's batching
    List<ModelEntry> instances = runtime.models().all().stream()
        .filter(m -> m.name().equals("configured") || m.name().startsWith("configured#")).toList();
    assertEquals(2, instances.size(), instances.toString());
    assertNotEquals(instances.get(0).cores(), instances.get(1).cores());
    instances.forEach(m -> assertEquals(8, m.batching().maxBatchSize()));
    instances.forEach(m -> assertEquals(List.of(2, 4), m.batching().preferredBatchSizes()));

    // max_batch_size is enforced as Triton enforces it
    StatusRuntimeException tooBig = fails(Status.Code.INVALID_ARGUMENT, () -> triton.modelInfer(
        infer("configured", 9)));
    assertTrue(tooBig.getStatus().getDescription().startsWith(
        "inference request batch-size must be <= 8 for 'configured'"), tooBig.getStatus().getDescription());
    GrpcService.ModelInferResponse r = triton.modelInfer(infer("configured", 8));
    assertEquals(List.of(8L, 3L), r.getOutputs(0).getShapeList());
  }

  @Test
  void configPbtxtThatDoesNotParseOrContradictsTheModelIsRefusedNamingTheField() {
    StatusRuntimeException syntax = fails(Status.Code.INVALID_ARGUMENT, () -> load("unparsable", Map.of()));
    assertTrue(syntax.getStatus().getDescription().contains("config.pbtxt:3:")
        && syntax.getStatus().getDescription().contains("inputs"), syntax.getStatus().getDescription());
    StatusRuntimeException type = fails(Status.Code.INVALID_ARGUMENT, () -> load("contradicts", Map.of()));
    assertTrue(type.getStatus().getDescription().contains("input[0].data_type is TYPE_INT32")
        && type.getStatus().getDescription().contains("TYPE_FP32"), type.getStatus().getDescription());
    StatusRuntimeException dims = fails(Status.Code.INVALID_ARGUMENT, () -> load("wrongdims", Map.of()));
    assertTrue(dims.getStatus().getDescription().contains("input[0].dims[0] is 5")
        && dims.getStatus().getDescription().contains("fixes it at 4"), dims.getStatus().getDescription());
    // an invalid "config" override is refused as Triton refuses it
    StatusRuntimeException json = fails(Status.Code.INVALID_ARGUMENT, () -> load("plain", Map.of("config",
        GrpcService.ModelRepositoryParameter.newBuilder().setStringParam("{\"max_batch_size\": \"eight\"").build())));
    assertTrue(json.getStatus().getDescription().startsWith("Invalid config override: "),
        json.getStatus().getDescription());
    for (String name : List.of("unparsable", "contradicts", "wrongdims")) {
      assertFalse(triton.modelReady(GrpcService.ModelReadyRequest.newBuilder().setName(name).build()).getReady());
    }
    // the refused reload left the loaded version serving
    assertTrue(triton.modelReady(GrpcService.ModelReadyRequest.newBuilder().setName("plain").build()).getReady());
  }

  @Test
  void aConfigOverrideWithTheModelsBytesLoadsAndUnloads() {
    load("sent", Map.of("config", GrpcService.ModelRepositoryParameter.newBuilder()
            .setStringParam("{\"max_batch_size\": 2, \"input\": [{\"name\": \"x\", \"data_type\": \"TYPE_FP32\", "
                + "\"dims\": [4]}]}").build(),
        "file:3/model.onnx", GrpcService.ModelRepositoryParameter.newBuilder()
            .setBytesParam(ByteString.copyFrom(TestModels.dense())).build()));
    ModelConfigOuterClass.ModelConfig c = triton.modelConfig(GrpcService.ModelConfigRequest.newBuilder()
        .setName("sent").setVersion("3").build()).getConfig();
    assertEquals(2, c.getMaxBatchSize());
    assertEquals("sent", c.getName());
    GrpcService.RepositoryIndexResponse index = triton.repositoryIndex(GrpcService.RepositoryIndexRequest.newBuilder()
        .setReady(true).build());
    assertTrue(index.getModelsList().stream().anyMatch(m -> m.getName().equals("sent") && m.getVersion().equals("3")
        && m.getState().equals("READY")), index.toString());
    triton.repositoryModelUnload(GrpcService.RepositoryModelUnloadRequest.newBuilder().setModelName("sent").build());
    assertFalse(triton.modelReady(GrpcService.ModelReadyRequest.newBuilder().setName("sent").build()).getReady());
  }

  @Test
  void statisticsCountTheExecutionsDone() throws Exception {
    load("counted", Map.of("config", GrpcService.ModelRepositoryParameter.newBuilder().setStringParam("{}").build(),
        "file:1/model.onnx", GrpcService.ModelRepositoryParameter.newBuilder()
            .setBytesParam(ByteString.copyFrom(TestModels.dense())).build()));
    try {
      triton.modelInfer(infer("counted", 1));
      triton.modelInfer(infer("counted", 3));
      triton.modelInfer(infer("counted", 2));
      // the request's bytes agree with its shape, the model's dims do not: refused when bound, a failure
      GrpcService.ModelInferRequest.Builder bad = GrpcService.ModelInferRequest.newBuilder().setModelName("counted");
      bad.addInputsBuilder().setName("x").setDatatype("FP32").addShape(2).addShape(2);
      bad.addRawInputContents(ByteString.copyFrom(floats(new float[4])));
      fails(Status.Code.INVALID_ARGUMENT, () -> triton.modelInfer(bad.build()));
      List<GrpcService.ModelInferResponse> streamed = stream(List.of(infer("counted", 1), infer("counted", 4)));
      assertEquals(2, streamed.size());

      GrpcService.ModelStatisticsResponse all = triton.modelStatistics(
          GrpcService.ModelStatisticsRequest.getDefaultInstance());
      assertTrue(all.getModelStatsList().stream().map(GrpcService.ModelStatistics::getName).toList()
          .containsAll(List.of("plain", "configured", "counted")));
      GrpcService.ModelStatistics s = triton.modelStatistics(GrpcService.ModelStatisticsRequest.newBuilder()
          .setName("counted").setVersion("1").build()).getModelStats(0);
      assertEquals("counted", s.getName());
      assertEquals("1", s.getVersion());
      assertEquals(5, s.getInferenceStats().getSuccess().getCount());
      assertEquals(1, s.getInferenceStats().getFail().getCount());
      assertEquals(5, s.getExecutionCount(), "one execution per request: they came one after another");
      assertEquals(1 + 3 + 2 + 1 + 4, s.getInferenceCount(), "max_batch_size > 0: each row is an inference");
      assertEquals(5, s.getInferenceStats().getComputeInfer().getCount());
      assertTrue(s.getInferenceStats().getSuccess().getNs() >= s.getInferenceStats().getComputeInfer().getNs());
      assertTrue(s.getInferenceStats().getComputeInfer().getNs() > 0);
      assertTrue(s.getLastInference() > 0);
      Map<Long, Long> byBatch = s.getBatchStatsList().stream().collect(Collectors.toMap(
          GrpcService.InferBatchStatistics::getBatchSize, b -> b.getComputeInfer().getCount()));
      assertEquals(Map.of(1L, 2L, 2L, 1L, 3L, 1L, 4L, 1L), byBatch);
      assertTrue(s.getMemoryUsage(0).getByteSize() > 0);
      fails(Status.Code.NOT_FOUND, () -> triton.modelStatistics(GrpcService.ModelStatisticsRequest.newBuilder()
          .setName("nope").build()));
    } finally {
      triton.repositoryModelUnload(GrpcService.RepositoryModelUnloadRequest.newBuilder().setModelName("counted")
          .build());
    }
  }

  @Test
  void inferAndStreamInferAnswerEveryRequest() throws Exception {
    GrpcService.ModelInferResponse r = triton.modelInfer(infer("plain", 2));
    assertEquals("plain", r.getModelName());
    assertEquals(List.of("y", "xw"), r.getOutputsList().stream()
        .map(GrpcService.ModelInferResponse.InferOutputTensor::getName).toList());
    float[][] expected = TestModels.denseReference(rows(2), 2);
    ByteBuffer y = r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    for (float v : expected[0]) {
      assertEquals(v, y.getFloat(), 1e-6f);
    }
    List<GrpcService.ModelInferResponse> responses = stream(List.of(infer("plain", 1), infer("plain", 3),
        infer("configured", 2)));
    assertEquals(3, responses.size());
  }

  @Test
  void sharedMemoryExtensionsAsTritonsShmClientCallsThem() throws Exception {
    // simple_grpc_shm_client.py starts by clearing both kinds of regions
    triton.cudaSharedMemoryUnregister(GrpcService.CudaSharedMemoryUnregisterRequest.getDefaultInstance());
    triton.systemSharedMemoryUnregister(GrpcService.SystemSharedMemoryUnregisterRequest.getDefaultInstance());
    assertEquals(0, triton.cudaSharedMemoryStatus(GrpcService.CudaSharedMemoryStatusRequest.getDefaultInstance())
        .getRegionsCount());
    StatusRuntimeException cuda = fails(Status.Code.FAILED_PRECONDITION, () -> triton.cudaSharedMemoryRegister(
        GrpcService.CudaSharedMemoryRegisterRequest.newBuilder().setName("gpu0").setByteSize(64).build()));
    assertTrue(cuda.getStatus().getDescription().contains("no CUDA device"), cuda.getStatus().getDescription());

    String key = "/vnrt-triton-test-" + ProcessHandle.current().pid();
    Path file = Path.of("/dev/shm").resolve(key.substring(1));
    Files.write(file, new byte[4096]);
    try {
      triton.systemSharedMemoryRegister(GrpcService.SystemSharedMemoryRegisterRequest.newBuilder().setName("in")
          .setKey(key).setByteSize(4096).build());
      GrpcService.SystemSharedMemoryStatusResponse status = triton.systemSharedMemoryStatus(
          GrpcService.SystemSharedMemoryStatusRequest.getDefaultInstance());
      assertEquals(4096, status.getRegionsOrThrow("in").getByteSize());
      triton.systemSharedMemoryUnregister(GrpcService.SystemSharedMemoryUnregisterRequest.newBuilder().setName("in")
          .build());
      assertEquals(0, triton.systemSharedMemoryStatus(GrpcService.SystemSharedMemoryStatusRequest.getDefaultInstance())
          .getRegionsCount());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void logSettingsChangeTheDaemonsLogging() {
    Level levelBefore = LogSettings.threshold();
    LogFormat formatBefore = LogSettings.format();
    ByteArrayOutputStream lines = new ByteArrayOutputStream();
    PrintStream previous = LogSettings.redirect(new PrintStream(lines, true, StandardCharsets.UTF_8));
    try {
      GrpcService.LogSettingsResponse now = triton.logSettings(GrpcService.LogSettingsRequest.getDefaultInstance());
      assertEquals(Set.of("log_file", "log_info", "log_warning", "log_error", "log_verbose_level", "log_format"),
          now.getSettingsMap().keySet());
      GrpcService.LogSettingsResponse verbose = triton.logSettings(GrpcService.LogSettingsRequest.newBuilder()
          .putSettings("log_verbose_level", GrpcService.LogSettingsRequest.SettingValue.newBuilder().setUint32Param(1)
              .build())
          .putSettings("log_format", GrpcService.LogSettingsRequest.SettingValue.newBuilder().setStringParam("json")
              .build()).build());
      assertEquals(1, verbose.getSettingsOrThrow("log_verbose_level").getUint32Param());
      assertEquals("json", verbose.getSettingsOrThrow("log_format").getStringParam());
      assertEquals(Level.DEBUG, LogSettings.threshold());
      triton.serverLive(GrpcService.ServerLiveRequest.getDefaultInstance());
      // a DEBUG line about that call, as JSON
      assertTrue(lines.toString(StandardCharsets.UTF_8).lines().anyMatch(l -> l.startsWith("{")
          && l.contains("\"level\":\"DEBUG\"") && l.contains("ServerLive")), lines.toString(StandardCharsets.UTF_8));
      StatusRuntimeException file = fails(Status.Code.INVALID_ARGUMENT, () -> triton.logSettings(
          GrpcService.LogSettingsRequest.newBuilder().putSettings("log_file", GrpcService.LogSettingsRequest
              .SettingValue.newBuilder().setStringParam("/tmp/x.log").build()).build()));
      assertTrue(file.getStatus().getDescription().contains("standard error"));
    } finally {
      LogSettings.redirect(previous);
      LogSettings.configure(formatBefore, levelBefore);
    }
  }

  @Test
  void traceSettingsAreStoredAndReturned() {
    GrpcService.TraceSettingResponse global = triton.traceSetting(GrpcService.TraceSettingRequest.newBuilder()
        .putSettings("trace_rate", GrpcService.TraceSettingRequest.SettingValue.newBuilder().addValue("50").build())
        .build());
    assertEquals(List.of("50"), global.getSettingsOrThrow("trace_rate").getValueList());
    GrpcService.TraceSettingResponse model = triton.traceSetting(GrpcService.TraceSettingRequest.newBuilder()
        .setModelName("plain").putSettings("trace_level", GrpcService.TraceSettingRequest.SettingValue.newBuilder()
            .addValue("TIMESTAMPS").build()).build());
    assertEquals(List.of("TIMESTAMPS"), model.getSettingsOrThrow("trace_level").getValueList());
    assertEquals(List.of("50"), model.getSettingsOrThrow("trace_rate").getValueList());
    assertEquals(List.of("OFF"), triton.traceSetting(GrpcService.TraceSettingRequest.getDefaultInstance())
        .getSettingsOrThrow("trace_level").getValueList());
    fails(Status.Code.INVALID_ARGUMENT, () -> triton.traceSetting(GrpcService.TraceSettingRequest.newBuilder()
        .putSettings("trace_level", GrpcService.TraceSettingRequest.SettingValue.newBuilder().addValue("LOUD").build())
        .build()));
    triton.traceSetting(GrpcService.TraceSettingRequest.newBuilder().putSettings("trace_rate",
        GrpcService.TraceSettingRequest.SettingValue.getDefaultInstance()).build());
  }

  private GrpcService.RepositoryModelLoadResponse load(String name,
      Map<String, GrpcService.ModelRepositoryParameter> parameters) {
    return triton.repositoryModelLoad(GrpcService.RepositoryModelLoadRequest.newBuilder().setModelName(name)
        .putAllParameters(parameters).build());
  }

  private static float[] rows(int n) {
    float[] x = new float[n * 4];
    for (int i = 0; i < x.length; i++) {
      x[i] = (i % 7) - 3.5f;
    }
    return x;
  }

  private static GrpcService.ModelInferRequest infer(String model, int n) {
    GrpcService.ModelInferRequest.Builder r = GrpcService.ModelInferRequest.newBuilder().setModelName(model);
    r.addInputsBuilder().setName("x").setDatatype("FP32").addShape(n).addShape(4);
    r.addRawInputContents(ByteString.copyFrom(floats(rows(n))));
    return r.build();
  }

  private static byte[] floats(float[] x) {
    ByteBuffer b = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(x);
    return b.array();
  }

  private List<GrpcService.ModelInferResponse> stream(List<GrpcService.ModelInferRequest> requests) throws Exception {
    CompletableFuture<List<GrpcService.ModelInferResponse>> done = new CompletableFuture<>();
    List<GrpcService.ModelInferResponse> got = new ArrayList<>();
    StreamObserver<GrpcService.ModelInferRequest> out = GRPCInferenceServiceGrpc.newStub(channel).modelStreamInfer(
        new StreamObserver<>() {
          @Override
          public void onNext(GrpcService.ModelStreamInferResponse r) {
            assertEquals("", r.getErrorMessage());
            got.add(r.getInferResponse());
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(got);
          }
        });
    requests.forEach(out::onNext);
    out.onCompleted();
    return done.get(60, TimeUnit.SECONDS);
  }

  private static StatusRuntimeException fails(Status.Code code, Supplier<?> call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertNotNull(e.getStatus().getDescription());
    return e;
  }
}
