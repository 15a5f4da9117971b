package io.vnrt.runtime.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.vnrt.proto.inference.CudaSharedMemoryStatusResponse;
import io.vnrt.proto.inference.InferBatchStatistics;
import io.vnrt.proto.inference.InferParameter;
import io.vnrt.proto.inference.InferStatistics;
import io.vnrt.proto.inference.MemoryUsage;
import io.vnrt.proto.inference.ModelConfig;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelMetadataResponse;
import io.vnrt.proto.inference.ModelRepositoryParameter;
import io.vnrt.proto.inference.ModelStatistics;
import io.vnrt.proto.inference.ModelStatisticsResponse;
import io.vnrt.proto.inference.RepositoryIndexResponse;
import io.vnrt.proto.inference.ServerMetadataResponse;
import io.vnrt.proto.inference.StatisticDuration;
import io.vnrt.proto.inference.SystemSharedMemoryStatusResponse;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.memory.SharedMemoryAccess;
import io.vnrt.runtime.memory.SharedMemoryRegion;
import io.vnrt.runtime.models.Batching;
import io.vnrt.runtime.models.ExecutionRequest;
import io.vnrt.runtime.models.ExecutionResult;
import io.vnrt.runtime.models.InferenceStats;
import io.vnrt.runtime.models.LoadSpec;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.models.OutputTarget;
import io.vnrt.runtime.models.TensorSource;
import io.vnrt.runtime.models.Warmup;
import io.vnrt.runtime.onnx.OnnxReader;
import io.vnrt.runtime.session.Session;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What KServe v2 / Triton clients see of the runtime, whatever the protocol (gRPC's
 * {@link KServeService} and the REST binding {@link KServeRest} both translate to and from these
 * calls, so both answer alike, errors included). Its calls need no vnrt session: models it loads
 * belong to one daemon-owned "kserve" session that never expires; shared-memory regions belong to
 * the connection that registered them (a daemon session per connection, closed with it), so one
 * KServe client neither sees nor uses another's. A model a vnrt.v1 session loaded {@code shared} is
 * ready, described and executable here too (version "1"; the kserve session's own model wins when
 * names clash); KServe never finds, nor names in an error, a session's private model. Repository loads read {@code <repository>/<name>/<version>/model.onnx} (the highest
 * numeric version) with {@code <repository>/<name>/config.pbtxt} when present, or Triton's override
 * convention: a "config" parameter (JSON), with "file:<version>/model.onnx" bytes or without.
 */
final class KServeFrontEnd {
  /** Extensions served, reported by ServerMetadata (Triton's names). */
  static final List<String> EXTENSIONS = List.of("model_repository", "model_configuration", "system_shared_memory",
      "binary_tensor_data", "statistics", "trace", "logging");
  /** Model names accepted for repository loads: no path separators, not "." or "..". */
  private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern FILE_PARAMETER = Pattern.compile("file:([0-9]+)/(.+)");
  private static final String CONFIG_FILE = "config.pbtxt";
  private static final String DEFAULT_MODEL_FILE = "model.onnx";

  /**
   * A model as KServe clients see it.
   *
   * @param name its name
   * @param version its version ("1" for models loaded through vnrt.v1)
   * @param config its configuration, completed from the model
   * @param maxBatchSize largest batch a request may carry; 0: no batch dimension (nothing checked)
   * @param instances where it is loaded: one entry per core group, the first named as the model
   */
  record Served(String name, String version, ModelConfig config, int maxBatchSize, List<ModelEntry> instances) {
    /** Copies the instances. */
    Served {
      instances = List.copyOf(instances);
    }

    ModelEntry first() {
      return instances.getFirst();
    }
  }

  private final VnrtRuntime runtime;
  private final Session session;
  private final Optional<Path> repository;
  private final Warmup repositoryWarmup;
  /** Models loaded through KServe, by name. */
  private final Map<String, Served> served = new ConcurrentHashMap<>();
  /** Serialises repository loads and unloads (never held across an execution). */
  private final ReentrantLock repositoryLock = new ReentrantLock();
  private final AtomicInteger nextInstance = new AtomicInteger();
  private final TraceSettings traces = new TraceSettings();
  /** The session holding each KServe connection's shared-memory regions, by connection. */
  private final Map<Object, Session> connectionSessions = new ConcurrentHashMap<>();

  /**
   * Who calls, as far as regions go.
   *
   * @param connection the client connection, unique among live ones across both protocols (gRPC's
   *     {@link Connections#ID}, a Netty channel id for REST); equal for every call it carries
   * @param access which files the caller may map, worked out when asked (for a loopback TCP caller that means
   *     reading the kernel's socket tables, which only registering a region needs)
   */
  record Caller(Object connection, Supplier<SharedMemoryAccess> access) {
  }

  KServeFrontEnd(VnrtRuntime runtime, Optional<Path> repository, Duration repositoryWarmup) {
    this.runtime = runtime;
    this.repository = repository.map(p -> p.toAbsolutePath().normalize());
    this.repositoryWarmup = repositoryWarmup.isZero() ? Warmup.DEFAULT : new Warmup(0, repositoryWarmup, Map.of());
    this.session = runtime.sessions().openDaemonSession("kserve");
  }

  /** The daemon-owned session KServe's models belong to. */
  Session session() {
    return session;
  }

  /** Closes the session of a connection that ended, unmapping its regions. */
  void connectionClosed(Object connection) {
    Session regions = connectionSessions.remove(connection);
    if (regions != null) {
      runtime.sessions().close(regions);
    }
  }

  /**
   * The session of the caller's shared-memory regions; created on first use when {@code create}, else the kserve
   * session when the connection has none (it then references no region).
   */
  private Session regions(Caller caller, boolean create) {
    if (!create) {
      Session existing = connectionSessions.get(caller.connection());
      return existing == null ? session : existing;
    }
    return connectionSessions.computeIfAbsent(caller.connection(),
        c -> runtime.sessions().openDaemonSession("kserve-connection-" + c));
  }

  /** A model another session loaded that KServe may see: loaded shared. */
  private boolean foreignVisible(ModelEntry m) {
    return m.isLoaded() && m.owner() != session && m.isShared();
  }

  boolean live() {
    return true;
  }

  boolean ready() {
    return !session.isClosed();
  }

  ServerMetadataResponse serverMetadata() {
    return ServerMetadataResponse.newBuilder().setName("vnrt").setVersion(VnrtRuntime.VERSION)
        .addAllExtensions(EXTENSIONS).build();
  }

  /** True when the model (version) is loaded; false, never an error, for unknown ones. */
  boolean modelReady(String name, String version) {
    try {
      return require(name, version).first().isLoaded();
    } catch (VnrtRuntimeException e) {
      return false;
    }
  }

  ModelMetadataResponse modelMetadata(String name, String version) {
    Served m = require(name, version);
    ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder().setName(m.name()).addVersions(m.version())
        .setPlatform(ModelConfigs.PLATFORM);
    for (ValueInfo v : m.first().inputs()) {
      b.addInputs(metadata(v));
    }
    for (ValueInfo v : m.first().outputs()) {
      b.addOutputs(metadata(v));
    }
    return b.build();
  }

  private static ModelMetadataResponse.TensorMetadata metadata(ValueInfo v) {
    ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
        .setName(v.name()).setDatatype(v.dtype() == null ? "" : KServeTypes.name(v.dtype()));
    if (v.dims() != null) {
      for (Dim d : v.dims()) {
        t.addShape(d.isFixed() ? d.value() : -1);
      }
    }
    return t.build();
  }

  ModelConfig modelConfig(String name, String version) {
    return require(name, version).config();
  }

  /** Statistics of one model (all versions when {@code version} is empty), or of every model when the name is empty. */
  ModelStatisticsResponse statistics(String name, String version) {
    List<Served> models = new ArrayList<>();
    if (name.isEmpty()) {
      models.addAll(allServed().values());
    } else {
      models.add(require(name, version));
    }
    ModelStatisticsResponse.Builder b = ModelStatisticsResponse.newBuilder();
    for (Served m : models) {
      b.addModelStats(statistics(m));
    }
    return b.build();
  }

  private static ModelStatistics statistics(Served m) {
    long success = 0;
    long successNs = 0;
    long fail = 0;
    long failNs = 0;
    long queueNs = 0;
    long inputNs = 0;
    long inferNs = 0;
    long outputNs = 0;
    long rows = 0;
    long executions = 0;
    long last = 0;
    Map<Long, InferenceStats.BatchStat> batches = new TreeMap<>();
    ModelStatistics.Builder out = ModelStatistics.newBuilder().setName(m.name()).setVersion(m.version());
    for (ModelEntry e : m.instances()) {
      InferenceStats.Snapshot s = e.statistics();
      success += s.successCount();
      successNs += s.successNanos();
      fail += s.failCount();
      failNs += s.failNanos();
      queueNs += s.queueNanos();
      inputNs += s.inputNanos();
      inferNs += s.inferNanos();
      outputNs += s.outputNanos();
      rows += s.rows();
      executions += s.executions();
      last = Math.max(last, s.lastInferenceMillis());
      // without a batch dimension every execution is of batch size 1, as Triton counts it
      for (InferenceStats.BatchStat b : s.batches().values()) {
        long size = m.maxBatchSize() > 0 ? b.rows() : 1;
        batches.merge(size, new InferenceStats.BatchStat(size, b.executions(), b.inputNanos(), b.inferNanos(),
            b.outputNanos()), (x, y) -> new InferenceStats.BatchStat(size, x.executions() + y.executions(),
                x.inputNanos() + y.inputNanos(), x.inferNanos() + y.inferNanos(), x.outputNanos() + y.outputNanos()));
      }
      out.addMemoryUsage(MemoryUsage.newBuilder().setType("CPU").setId(e.deviceId())
          .setByteSize(e.weightsBytes() + e.scratchBytes()));
    }
    out.setLastInference(last).setInferenceCount(m.maxBatchSize() > 0 ? rows : success).setExecutionCount(executions)
        .setInferenceStats(InferStatistics.newBuilder()
            .setSuccess(duration(success, successNs)).setFail(duration(fail, failNs))
            .setQueue(duration(success, queueNs)).setComputeInput(duration(success, inputNs))
            .setComputeInfer(duration(success, inferNs)).setComputeOutput(duration(success, outputNs))
            .setCacheHit(duration(0, 0)).setCacheMiss(duration(0, 0)));
    for (InferenceStats.BatchStat b : batches.values()) {
      out.addBatchStats(InferBatchStatistics.newBuilder().setBatchSize(b.rows())
          .setComputeInput(duration(b.executions(), b.inputNanos()))
          .setComputeInfer(duration(b.executions(), b.inferNanos()))
          .setComputeOutput(duration(b.executions(), b.outputNanos())));
    }
    return out.build();
  }

  private static StatisticDuration duration(long count, long ns) {
    return StatisticDuration.newBuilder().setCount(count).setNs(Math.max(0, ns)).build();
  }

  /**
   * Validates and submits one inference request; the future completes with the response, or with
   * the failure. Cancelling the future cancels the execution if it has not started.
   */
  CompletableFuture<ModelInferResponse> infer(Caller caller, ModelInferRequest request, long deadlineNanos) {
    Served model = require(request.getModelName(), request.getModelVersion());
    ExecutionRequest exec = executionRequest(model, request, deadlineNanos);
    ModelEntry instance = pick(model);
    CompletableFuture<ExecutionResult> execution = runtime.models().submit(regions(caller, false), instance, exec);
    CompletableFuture<ModelInferResponse> response = execution.thenApply(r -> inferResponse(model, request, r));
    response.whenComplete((r, e) -> {
      if (response.isCancelled()) {
        execution.cancel(false);
      }
    });
    return response;
  }

  /** The instance with the fewest executions waiting; ties go round-robin. */
  private ModelEntry pick(Served model) {
    List<ModelEntry> instances = model.instances();
    if (instances.size() == 1) {
      return instances.getFirst();
    }
    int start = Math.floorMod(nextInstance.getAndIncrement(), instances.size());
    ModelEntry best = null;
    int bestQueued = Integer.MAX_VALUE;
    for (int i = 0; i < instances.size(); i++) {
      ModelEntry m = instances.get((start + i) % instances.size());
      int queued = runtime.models().scheduler(m).queued();
      if (queued < bestQueued) {
        best = m;
        bestQueued = queued;
      }
    }
    return best;
  }

  /** The registry's request for a KServe one: inputs from typed contents, raw contents or shared memory. */
  private static ExecutionRequest executionRequest(Served model, ModelInferRequest request, long deadlineNanos) {
    int raw = request.getRawInputContentsCount();
    if (raw != 0 && raw != request.getInputsCount()) {
      throw VnrtRuntimeException.invalid("raw_input_contents has " + raw + " entries for " + request.getInputsCount()
          + " inputs: when used, it must hold one entry per input, in input order", "model", model.name());
    }
    Map<String, TensorSource> inputs = new LinkedHashMap<>();
    for (int i = 0; i < request.getInputsCount(); i++) {
      ModelInferRequest.InferInputTensor in = request.getInputs(i);
      DType dtype = inputType(model, in);
      long[] shape = in.getShapeList().stream().mapToLong(Long::longValue).toArray();
      long elements = elements(in.getName(), shape);
      if (inputs.containsKey(in.getName())) {
        throw VnrtRuntimeException.invalid("input '" + in.getName() + "' is given twice", "input", in.getName());
      }
      checkBatchSize(model, in.getName(), shape);
      Map<String, InferParameter> p = in.getParametersMap();
      if (p.containsKey("shared_memory_region")) {
        long offset = number(p, "shared_memory_offset", 0, in.getName());
        long size = number(p, "shared_memory_byte_size", -1, in.getName());
        if (size < 0) {
          throw VnrtRuntimeException.invalid("input '" + in.getName() + "': shared_memory_byte_size is required with "
              + "shared_memory_region", "input", in.getName());
        }
        inputs.put(in.getName(), new TensorSource.SharedMemory(p.get("shared_memory_region").getStringParam(),
            offset, size, dtype, shape));
        continue;
      }
      ByteString data;
      if (raw != 0) {
        data = request.getRawInputContents(i);
      } else if (in.hasContents()) {
        data = UnsafeByteOperations.unsafeWrap(KServeTensors.toBytes(in.getName(), dtype, elements, in.getContents()));
      } else {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName()
            + "' carries no data: give " + KServeTensors.field(dtype)
            + ", raw_input_contents or a shared_memory_region", "input", in.getName());
      }
      long expected = elements * dtype.byteSize();
      if (data.size() != expected) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName() + "': "
            + in.getDatatype() + Arrays.toString(shape) + " takes " + expected + " bytes, raw_input_contents has "
            + data.size(), "input", in.getName(), "expected_bytes", expected, "given_bytes", data.size());
      }
      inputs.put(in.getName(), TransportBytes.input(dtype, shape, data));
    }
    Map<String, OutputTarget> outputs = new LinkedHashMap<>();
    for (ModelInferRequest.InferRequestedOutputTensor out : request.getOutputsList()) {
      Map<String, InferParameter> p = out.getParametersMap();
      if (p.containsKey("shared_memory_region")) {
        long size = number(p, "shared_memory_byte_size", -1, out.getName());
        if (size < 0) {
          throw VnrtRuntimeException.invalid("output '" + out.getName() + "': shared_memory_byte_size is required "
              + "with shared_memory_region", "output", out.getName());
        }
        outputs.put(out.getName(), new OutputTarget.SharedMemory(p.get("shared_memory_region").getStringParam(),
            number(p, "shared_memory_offset", 0, out.getName()), size));
      } else {
        outputs.put(out.getName(), OutputTarget.INLINE);
      }
    }
    return new ExecutionRequest(model.first().id(), inputs, outputs, deadlineNanos);
  }

  /** The engine type of an input's datatype; BYTES gets its own explanation (strings are not supported). */
  private static DType inputType(Served model, ModelInferRequest.InferInputTensor in) {
    DType dtype = KServeTypes.fromName(in.getDatatype());
    if (dtype != null) {
      return dtype;
    }
    String declared = model.first().inputs().stream().filter(v -> v.name().equals(in.getName())).findFirst()
        .map(v -> "; model '" + model.name() + "' declares " + v).orElse("");
    if (in.getDatatype().equals("BYTES")) {
      throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName() + "' is a "
          + "BYTES (string) tensor: vnrt does not support string tensors" + declared, "input", in.getName(),
          "datatype", "BYTES");
    }
    throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName()
        + "': datatype '" + in.getDatatype() + "' is not supported; expected one of " + KServeTypes.accepted()
        + declared, "input", in.getName());
  }

  /** Triton's check of a request's batch size against max_batch_size (a batch of 1 always passes). */
  private static void checkBatchSize(Served model, String input, long[] shape) {
    if (model.maxBatchSize() > 0 && shape.length > 0 && shape[0] != 1 && shape[0] > model.maxBatchSize()) {
      throw VnrtRuntimeException.invalid("inference request batch-size must be <= " + model.maxBatchSize()
          + " for '" + model.name() + "' (input '" + input + "' has " + shape[0] + " rows; the model's configuration "
          + "says max_batch_size " + model.maxBatchSize() + ")", "input", input, "max_batch_size",
          model.maxBatchSize());
    }
  }

  private static long elements(String input, long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + input + "': shape "
            + Arrays.toString(shape) + " has a negative dimension; give the actual extents", "input", input);
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + input + "': shape "
            + Arrays.toString(shape) + " is too large", "input", input);
      }
    }
    return n;
  }

  /** An integer parameter (int64 or uint64), {@code absent} when missing. */
  private static long number(Map<String, InferParameter> p, String key, long absent, String tensor) {
    InferParameter v = p.get(key);
    if (v == null) {
      return absent;
    }
    return switch (v.getParameterChoiceCase()) {
      case INT64_PARAM -> v.getInt64Param();
      case UINT64_PARAM -> v.getUint64Param();
      default -> throw VnrtRuntimeException.invalid("'" + tensor + "': parameter " + key
          + " must be an int64 or uint64, got " + v.getParameterChoiceCase(), "parameter", key);
    };
  }

  private static ModelInferResponse inferResponse(Served model, ModelInferRequest request, ExecutionResult result) {
    Map<String, Boolean> binary = new TreeMap<>();
    for (ModelInferRequest.InferRequestedOutputTensor out : request.getOutputsList()) {
      InferParameter b = out.getParametersMap().get("binary_data");
      binary.put(out.getName(), b == null || !b.hasBoolParam() || b.getBoolParam());
    }
    ModelInferResponse.Builder r = ModelInferResponse.newBuilder().setModelName(model.name())
        .setModelVersion(model.version()).setId(request.getId());
    List<ByteString> raw = new ArrayList<>();
    boolean anyRaw = false;
    for (ExecutionResult.OutputValue v : result.outputs()) {
      ModelInferResponse.InferOutputTensor.Builder t = r.addOutputsBuilder().setName(v.name())
          .setDatatype(KServeTypes.name(v.dtype()));
      for (long d : v.shape()) {
        t.addShape(d);
      }
      if (v.target() instanceof OutputTarget.SharedMemory shm) {
        t.putParameters("shared_memory_region", InferParameter.newBuilder().setStringParam(shm.region()).build());
        t.putParameters("shared_memory_byte_size", InferParameter.newBuilder().setInt64Param(v.byteSize()).build());
        if (shm.offsetBytes() != 0) {
          t.putParameters("shared_memory_offset", InferParameter.newBuilder().setInt64Param(shm.offsetBytes()).build());
        }
        raw.add(ByteString.EMPTY);
      } else if (!binary.getOrDefault(v.name(), true) && KServeTensors.hasTypedField(v.dtype())) {
        t.setContents(KServeTensors.fromBytes(v.dtype(), v.data()));
        raw.add(ByteString.EMPTY);
      } else {
        raw.add(UnsafeByteOperations.unsafeWrap(v.data()));
        anyRaw = true;
      }
    }
    if (anyRaw) {
      // raw_output_contents is indexed like outputs: entries of outputs sent otherwise stay empty
      r.addAllRawOutputContents(raw);
    }
    return r.build();
  }

  // ---- model repository ----

  RepositoryIndexResponse repositoryIndex(String repositoryName, boolean readyOnly) {
    checkRepositoryName(repositoryName);
    Map<String, RepositoryIndexResponse.ModelIndex> index = new TreeMap<>();
    for (String name : repositoryModels()) {
      Optional<String> v = latestVersion(name, DEFAULT_MODEL_FILE);
      index.put(name, RepositoryIndexResponse.ModelIndex.newBuilder().setName(name).setVersion(v.orElse(""))
          .setState("UNAVAILABLE").setReason(v.isPresent() ? "unloaded" : "no <version>/model.onnx").build());
    }
    for (Served m : allServed().values()) {
      index.put(m.name(), RepositoryIndexResponse.ModelIndex.newBuilder().setName(m.name()).setVersion(m.version())
          .setState("READY").build());
    }
    RepositoryIndexResponse.Builder b = RepositoryIndexResponse.newBuilder();
    index.values().stream().filter(m -> !readyOnly || m.getState().equals("READY")).forEach(b::addModels);
    return b.build();
  }

  /**
   * Loads (or reloads) a model as Triton's RepositoryModelLoad does: from the repository, or from
   * a "file:" parameter; with the "config" parameter, else the repository's config.pbtxt, else a
   * configuration completed from the model. The configuration is checked, against the model too,
   * before anything is loaded; a reload replaces the previous version only once the new one loaded.
   */
  void load(String repositoryName, String name, Map<String, ModelRepositoryParameter> parameters) {
    checkRepositoryName(repositoryName);
    checkModelName(name);
    Optional<ModelConfig> override = Optional.empty();
    Optional<Map.Entry<String, ModelRepositoryParameter>> file = Optional.empty();
    for (Map.Entry<String, ModelRepositoryParameter> p : parameters.entrySet()) {
      if (p.getKey().equals("config") && p.getValue().hasStringParam()) {
        override = Optional.of(ModelConfigs.parseJson(p.getValue().getStringParam()));
      } else if (p.getKey().startsWith("file:")) {
        file = Optional.of(p);
      } else {
        throw VnrtRuntimeException.invalid("Unrecognized load parameter '" + p.getKey() + "' with type '"
            + parameterType(p.getValue()) + "' (known: \"config\" as a string holding the model configuration's "
            + "JSON, \"file:<version>/model.onnx\" as bytes)", "parameter", p.getKey());
      }
    }
    String modelFile = override.map(ModelConfig::getDefaultModelFilename).filter(f -> !f.isEmpty())
        .orElse(DEFAULT_MODEL_FILE);
    String version;
    byte[] onnx;
    Optional<ModelConfig> config = override;
    String where = "config override";
    if (file.isPresent()) {
      var m = FILE_PARAMETER.matcher(file.get().getKey());
      if (!m.matches() || !m.group(2).equals(modelFile) || !file.get().getValue().hasBytesParam()) {
        throw VnrtRuntimeException.invalid("model '" + name + "': file parameter '" + file.get().getKey()
            + "' must be named file:<version>/" + modelFile + " and carry bytes_param", "model", name);
      }
      if (override.isEmpty()) {
        throw VnrtRuntimeException.invalid("model '" + name + "': a file:<version>/" + modelFile + " override needs a "
            + "\"config\" parameter as well (Triton's convention; \"{}\" will do)", "model", name);
      }
      version = m.group(1);
      onnx = file.get().getValue().getBytesParam().toByteArray();
    } else {
      Path dir = repository.orElseThrow(() -> failedPrecondition("model '" + name + "': the daemon has no model "
          + "repository; start it with --model-repository DIR, or send the model as a file:1/model.onnx parameter"))
          .resolve(name);
      version = latestVersion(name, modelFile).orElseThrow(() -> VnrtRuntimeException.notFound("model '" + name
          + "' is not in the repository: expected " + dir + "/<version>/" + modelFile + "; the repository holds "
          + repositoryModels(), "model", name));
      Path path = dir.resolve(version).resolve(modelFile);
      try {
        onnx = Files.readAllBytes(path);
      } catch (IOException e) {
        throw VnrtRuntimeException.invalid("model '" + name + "': cannot read " + path + ": " + e.getMessage(), "model",
            name);
      }
      Path pbtxt = dir.resolve(CONFIG_FILE);
      if (override.isEmpty() && Files.isRegularFile(pbtxt)) {
        where = pbtxt.toString();
        try {
          config = Optional.of(ModelConfigs.parseText(Files.readString(pbtxt, StandardCharsets.UTF_8), where));
        } catch (IOException e) {
          throw VnrtRuntimeException.invalid("model '" + name + "': cannot read " + pbtxt + ": " + e.getMessage(),
              "model", name);
        }
      }
    }
    load(name, version, onnx, config, where);
  }

  private void load(String name, String version, byte[] onnx, Optional<ModelConfig> config, String where) {
    OnnxReader.Interface declared;
    try {
      declared = OnnxReader.readInterface(onnx);
    } catch (ModelLoadException e) {
      throw VnrtRuntimeException.invalid("model '" + name + "' cannot be loaded: " + e.getMessage(), "model", name);
    }
    refuseStrings(name, declared);
    ModelConfigs.Serving serving = new ModelConfigs.Serving(1, 1, Batching.NONE, 0, 0);
    if (config.isPresent()) {
      serving = ModelConfigs.serving(config.get(), name, where);
      ModelConfigs.checkAgainstModel(config.get(), name, where, declared.inputs(), declared.outputs());
    }
    if (config.isEmpty() || ModelConfigs.leavesBatchingOpen(config.get())) {
      // as Triton's ONNX backend completes a configuration silent on batching: up to 4, dynamically batched
      int maxBatch = ModelConfigs.autoMaxBatchSize(declared.inputs(), declared.outputs());
      serving = new ModelConfigs.Serving(serving.instances(), serving.coresPerInstance(),
          maxBatch > 1 ? new Batching(maxBatch, Duration.ZERO) : Batching.NONE, serving.queueDepth(), maxBatch);
    }
    ModelConfig completed = ModelConfigs.complete(config, name, declared.inputs(), declared.outputs(),
        serving.maxBatchSize(), serving.batching(), serving.coresPerInstance());
    repositoryLock.lock();
    try {
      Served previous = served.remove(name);
      if (previous != null) {
        // a reload: the configuration passed its checks; the old version goes first, freeing its HBM
        previous.instances().forEach(m -> runtime.models().unload(session, m.id()));
      }
      List<ModelEntry> instances = new ArrayList<>();
      try {
        for (int i = 0; i < serving.instances(); i++) {
          // names are unique within the kserve session: the first instance carries the model's own
          String instanceName = i == 0 ? name : name + "#" + (i + 1);
          instances.add(runtime.models().load(session, new LoadSpec(instanceName, 0, 0, serving.coresPerInstance(),
              true, onnx.length, serving.batching(), serving.queueDepth(), repositoryWarmup), onnx, Calls.loadWatch()));
        }
      } catch (RuntimeException e) {
        instances.forEach(m -> runtime.models().unload(session, m.id()));
        throw e;
      }
      served.put(name, new Served(name, version, completed, serving.maxBatchSize(), instances));
    } finally {
      repositoryLock.unlock();
    }
  }

  /** Models with string inputs or outputs cannot run: say which tensor, in KServe's and Triton's words. */
  private static void refuseStrings(String name, OnnxReader.Interface declared) {
    for (ValueInfo v : declared.inputs()) {
      if (v.dtype() == DType.STRING) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.UNSUPPORTED, "model '" + name + "': input '"
            + v.name() + "' is a string tensor (BYTES, TYPE_STRING): vnrt does not support string tensors, so the "
            + "model cannot be served", "model", name, "input", v.name());
      }
    }
    for (ValueInfo v : declared.outputs()) {
      if (v.dtype() == DType.STRING) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.UNSUPPORTED, "model '" + name + "': output '"
            + v.name() + "' is a string tensor (BYTES, TYPE_STRING): vnrt does not support string tensors, so the "
            + "model cannot be served", "model", name, "output", v.name());
      }
    }
  }

  private static String parameterType(ModelRepositoryParameter p) {
    return switch (p.getParameterChoiceCase()) {
      case BOOL_PARAM -> "BOOL";
      case INT64_PARAM -> "INT";
      case STRING_PARAM -> "STRING";
      case BYTES_PARAM -> "BYTES";
      case PARAMETERCHOICE_NOT_SET -> "NONE";
    };
  }

  void unload(String repositoryName, String name) {
    checkRepositoryName(repositoryName);
    repositoryLock.lock();
    try {
      Served m = served.remove(name);
      if (m == null) {
        if (runtime.models().byName(name).stream().anyMatch(this::foreignVisible)) {
          throw failedPrecondition("model '" + name + "' was loaded through the vnrt.v1 API by a session; "
              + "it unloads with that session (Model.UnloadModel), not through KServe");
        }
        throw VnrtRuntimeException.notFound("Request for unknown model: '" + name + "' is not found (nothing to "
            + "unload)", "model", name);
      }
      m.instances().forEach(e -> runtime.models().unload(session, e.id()));
      traces.forget(name);
    } finally {
      repositoryLock.unlock();
    }
  }

  // ---- shared memory ----

  SystemSharedMemoryStatusResponse systemSharedMemoryStatus(Caller caller, String name) {
    SystemSharedMemoryStatusResponse.Builder b = SystemSharedMemoryStatusResponse.newBuilder();
    for (SharedMemoryRegion r : regions(caller, false).sharedMemory().list()) {
      if (name.isEmpty() || name.equals(r.name())) {
        b.putRegions(r.name(), SystemSharedMemoryStatusResponse.RegionStatus.newBuilder().setName(r.name())
            .setKey(r.key()).setOffset(r.offsetBytes()).setByteSize(r.sizeBytes()).build());
      }
    }
    if (!name.isEmpty() && b.getRegionsCount() == 0) {
      throw VnrtRuntimeException.notFound("Unable to find system shared memory region: '" + name + "' (none of "
          + "that name is registered)", "region", name);
    }
    return b.build();
  }

  void systemSharedMemoryRegister(Caller caller, String name, String key, long offset, long byteSize) {
    regions(caller, true).sharedMemory().register(name, key, offset, byteSize, caller.access().get());
  }

  void systemSharedMemoryUnregister(Caller caller, String name) {
    Session regions = regions(caller, false);
    if (name.isEmpty()) {
      for (SharedMemoryRegion r : regions.sharedMemory().list()) {
        regions.sharedMemory().unregister(r.name());
      }
    } else {
      regions.sharedMemory().unregister(name);
    }
  }

  /** No region is ever registered: empty, or NOT_FOUND for a named one. */
  CudaSharedMemoryStatusResponse cudaSharedMemoryStatus(String name) {
    if (!name.isEmpty()) {
      throw VnrtRuntimeException.notFound("Unable to find cuda shared memory region: '" + name + "' (this daemon has "
          + "no CUDA device, so none is ever registered)", "region", name);
    }
    return CudaSharedMemoryStatusResponse.getDefaultInstance();
  }

  void cudaSharedMemoryRegister(String name) {
    throw failedPrecondition("cannot register CUDA shared-memory region '" + name + "': this daemon has no CUDA "
        + "device; register a system shared-memory region (/dev/shm) instead");
  }

  /** Succeeds: with none registered there is nothing to unregister. */
  void cudaSharedMemoryUnregister(String name) {
    // nothing is ever registered
  }

  /** Updates and returns the trace settings, global or of one (loaded) model. */
  Map<String, List<String>> traceSettings(String model, Map<String, List<String>> changes) {
    if (!model.isEmpty()) {
      require(model, "");
    }
    return traces.update(model, changes);
  }

  // ---- lookup ----

  /** Every model KServe can see: the kserve session's, then those other sessions loaded shared, by name. */
  private Map<String, Served> allServed() {
    Map<String, Served> all = new TreeMap<>();
    for (ModelEntry m : runtime.models().all()) {
      if (foreignVisible(m)) {
        all.putIfAbsent(m.name(), foreign(m));
      }
    }
    for (Served m : served.values()) {
      if (m.first().isLoaded()) {
        all.put(m.name(), m);
      }
    }
    return all;
  }

  /** A model a vnrt.v1 session loaded shared, described as KServe describes its own (version "1"). */
  private static Served foreign(ModelEntry m) {
    Batching b = m.batching();
    int maxBatch = b.enabled() ? b.maxBatchSize() : 0;
    ModelConfig config = ModelConfigs.complete(Optional.empty(), m.name(), m.inputs(), m.outputs(), maxBatch, b,
        m.cores().size());
    // batches above max_batch_size still run for vnrt.v1's own callers: nothing is checked here
    return new Served(m.name(), "1", config, 0, List.of(m));
  }

  /**
   * The model KServe means by a name and version, or NOT_FOUND in Triton's words ("Request for
   * unknown model: 'x' is not found", "... version 2 is not found"), vnrt's detail after them.
   */
  Served require(String name, String version) {
    Served own = served.get(name);
    if (own != null && own.first().isLoaded()) {
      if (version.isEmpty() || version.equals(own.version())) {
        return own;
      }
      throw unknownVersion(name, version, own.version());
    }
    Optional<ModelEntry> foreign = runtime.models().byName(name).stream()
        .filter(this::foreignVisible).min(Comparator.comparing(ModelEntry::id));
    if (foreign.isPresent()) {
      if (!version.isEmpty() && !version.equals("1")) {
        throw unknownVersion(name, version, "1");
      }
      return foreign(foreign.get());
    }
    throw VnrtRuntimeException.notFound("Request for unknown model: '" + name + "' is not found; loaded: "
        + allServed().values().stream().map(m -> m.name() + "@" + m.version()).toList(), "model", name);
  }

  private static VnrtRuntimeException unknownVersion(String name, String version, String loaded) {
    return VnrtRuntimeException.notFound("Request for unknown model: '" + name + "' version " + version
        + " is not found; version " + loaded + " is loaded", "model", name, "version", version);
  }

  private static void checkModelName(String name) {
    if (!MODEL_NAME.matcher(name).matches()) {
      throw VnrtRuntimeException.invalid("model name '" + name + "' is not a repository name: use 1 to 128 letters, "
          + "digits, '_', '.' or '-', not starting with '.' or '-'", "model", name);
    }
  }

  private static void checkRepositoryName(String name) {
    if (!name.isEmpty()) {
      throw VnrtRuntimeException.notFound("unknown repository '" + name + "': this daemon has one, unnamed "
          + "(leave repository_name empty)", "repository", name);
    }
  }

  private List<String> repositoryModels() {
    if (repository.isEmpty() || !Files.isDirectory(repository.get())) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(repository.get())) {
      return dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString())
          .filter(n -> MODEL_NAME.matcher(n).matches()).sorted().toList();
    } catch (IOException e) {
      throw VnrtRuntimeException.unavailable("cannot list the model repository " + repository.get() + ": "
          + e.getMessage());
    }
  }

  /** The highest numeric version directory of a repository model holding {@code modelFile}. */
  private Optional<String> latestVersion(String name, String modelFile) {
    if (repository.isEmpty() || !MODEL_NAME.matcher(name).matches()) {
      return Optional.empty();
    }
    Path dir = repository.get().resolve(name);
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> versionDirs = Files.list(dir)) {
      return versionDirs.map(p -> p.getFileName().toString()).filter(v -> v.matches("[0-9]{1,18}"))
          .filter(v -> Files.isRegularFile(dir.resolve(v).resolve(modelFile)))
          .max(Comparator.comparingLong(Long::parseLong));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static RuntimeException failedPrecondition(String message) {
    return Statuses.status(Status.Code.FAILED_PRECONDITION, NrtCode.NRT_INVALID, message, Map.of());
  }
}
