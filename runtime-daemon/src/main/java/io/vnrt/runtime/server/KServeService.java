package io.vnrt.runtime.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.InferParameter;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelMetadataRequest;
import io.vnrt.proto.inference.ModelMetadataResponse;
import io.vnrt.proto.inference.ModelReadyRequest;
import io.vnrt.proto.inference.ModelReadyResponse;
import io.vnrt.proto.inference.ModelRepositoryParameter;
import io.vnrt.proto.inference.ModelStreamInferResponse;
import io.vnrt.proto.inference.RepositoryIndexRequest;
import io.vnrt.proto.inference.RepositoryIndexResponse;
import io.vnrt.proto.inference.RepositoryModelLoadRequest;
import io.vnrt.proto.inference.RepositoryModelLoadResponse;
import io.vnrt.proto.inference.RepositoryModelUnloadRequest;
import io.vnrt.proto.inference.RepositoryModelUnloadResponse;
import io.vnrt.proto.inference.ServerLiveRequest;
import io.vnrt.proto.inference.ServerLiveResponse;
import io.vnrt.proto.inference.ServerMetadataRequest;
import io.vnrt.proto.inference.ServerMetadataResponse;
import io.vnrt.proto.inference.ServerReadyRequest;
import io.vnrt.proto.inference.ServerReadyResponse;
import io.vnrt.proto.inference.SystemSharedMemoryRegisterRequest;
import io.vnrt.proto.inference.SystemSharedMemoryRegisterResponse;
import io.vnrt.proto.inference.SystemSharedMemoryStatusRequest;
import io.vnrt.proto.inference.SystemSharedMemoryStatusResponse;
import io.vnrt.proto.inference.SystemSharedMemoryUnregisterRequest;
import io.vnrt.proto.inference.SystemSharedMemoryUnregisterResponse;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.memory.SharedMemoryRegion;
import io.vnrt.runtime.models.ExecutionRequest;
import io.vnrt.runtime.models.ExecutionResult;
import io.vnrt.runtime.models.LoadSpec;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.models.OutputTarget;
import io.vnrt.runtime.models.TensorSource;
import io.vnrt.runtime.session.Session;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.time.Duration;
import io.vnrt.runtime.models.Warmup;

/**
 * KServe v2 / Triton's {@code inference.GRPCInferenceService} over the model registry. Its calls
 * need no vnrt session: models it loads belong to one daemon-owned "kserve" session that never
 * expires; shared-memory regions belong to the connection that registered them (a daemon session
 * per connection, closed with it), so one KServe client neither sees nor uses another's. A model a
 * vnrt.v1 session loaded is visible here only if it was loaded {@code shared} (the kserve
 * session's own model wins when names clash); KServe never finds, nor names in an error, a
 * session's private model. Repository loads read
 * {@code <repository>/<name>/<version>/model.onnx} (the highest numeric version), or Triton's
 * override convention: a "config" parameter together with "file:<version>/model.onnx" bytes.
 */
final class KServeService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
  /** Extensions actually served, reported by ServerMetadata. */
  static final List<String> EXTENSIONS = List.of("model_repository", "system_shared_memory");
  /** Requests of one ModelStreamInfer read ahead of their responses. */
  static final int STREAM_IN_FLIGHT = 16;
  /** The platform ModelMetadata reports. */
  static final String PLATFORM = "onnx";
  /** Model names accepted for repository loads: no path separators, not "." or "..". */
  private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern FILE_PARAMETER = Pattern.compile("file:([0-9]+)/model\\.onnx");

  private final VnrtRuntime runtime;
  private final Session session;
  private final Optional<Path> repository;
  /** The session holding each KServe connection's shared-memory regions, by connection id. */
  private final Map<Long, Session> connectionSessions = new ConcurrentHashMap<>();
  /** Version each kserve-loaded model came from, by model id. */
  private final Map<String, String> versions = new ConcurrentHashMap<>();
  /** Serialises repository loads and unloads (never held across an execution). */
  private final ReentrantLock repositoryLock = new ReentrantLock();

  /** What RepositoryModelLoad warms a model up with. */
  private final Warmup repositoryWarmup;

  KServeService(VnrtRuntime runtime, Optional<Path> repository) {
    this(runtime, repository, Duration.ZERO);
  }

  KServeService(VnrtRuntime runtime, Optional<Path> repository, Duration repositoryWarmup) {
    this.repositoryWarmup = repositoryWarmup.isZero() ? Warmup.DEFAULT : new Warmup(0, repositoryWarmup, Map.of());
    this.runtime = runtime;
    this.repository = repository.map(p -> p.toAbsolutePath().normalize());
    this.session = runtime.sessions().openDaemonSession("kserve");
  }

  /** Closes the session of a connection that ended, unmapping its regions. */
  void connectionClosed(long connection) {
    Session regions = connectionSessions.remove(connection);
    if (regions != null) {
      runtime.sessions().close(regions);
    }
  }

  /**
   * The session of the calling connection's shared-memory regions; created on first use when {@code create}, else
   * the kserve session when the connection has none (it then references no region).
   */
  private Session regions(boolean create) {
    long connection = CallerIdentity.connection();
    if (!create) {
      Session existing = connectionSessions.get(connection);
      return existing == null ? session : existing;
    }
    return connectionSessions.computeIfAbsent(connection,
        c -> runtime.sessions().openDaemonSession("kserve-connection-" + c));
  }

  /** Models KServe may see: its own and those loaded shared. */
  private boolean visible(ModelEntry m) {
    return m.isLoaded() && (m.owner() == session || m.isShared());
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> response) {
    Calls.unary(response, () -> ServerLiveResponse.newBuilder().setLive(true).build());
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> response) {
    Calls.unary(response, () -> ServerReadyResponse.newBuilder().setReady(!session.isClosed()).build());
  }

  @Override
  public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> response) {
    Calls.unary(response, () -> ServerMetadataResponse.newBuilder().setName("vnrt")
        .setVersion(VnrtRuntime.VERSION).addAllExtensions(EXTENSIONS).build());
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> response) {
    Calls.unary(response, () -> ModelReadyResponse.newBuilder()
        .setReady(find(request.getName(), request.getVersion()).filter(ModelEntry::isLoaded).isPresent()).build());
  }

  @Override
  public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> response) {
    Calls.unary(response, () -> {
      ModelEntry m = require(request.getName(), request.getVersion());
      ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder().setName(m.name())
          .addVersions(version(m)).setPlatform(PLATFORM);
      for (ValueInfo v : m.inputs()) {
        b.addInputs(metadata(v));
      }
      for (ValueInfo v : m.outputs()) {
        b.addOutputs(metadata(v));
      }
      return b.build();
    });
  }

  private static ModelMetadataResponse.TensorMetadata metadata(ValueInfo v) {
    ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
        .setName(v.name()).setDatatype(KServeTypes.name(v.dtype()));
    for (Dim d : v.dims()) {
      t.addShape(d.isFixed() ? d.value() : -1);
    }
    return t.build();
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> response) {
    CompletableFuture<ExecutionResult> future;
    ModelEntry model;
    try {
      model = require(request.getModelName(), request.getModelVersion());
      future = runtime.models().submit(regions(false), model, executionRequest(model, request));
    } catch (RuntimeException e) {
      response.onError(Statuses.toStatus(e));
      return;
    }
    if (response instanceof ServerCallStreamObserver<ModelInferResponse> call) {
      call.setOnCancelHandler(() -> future.cancel(false));
    }
    future.whenComplete((result, failure) -> {
      if (failure != null) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        if (!(cause instanceof java.util.concurrent.CancellationException)) {
          // a cancelled call has gone: there is nobody to answer
          response.onError(Statuses.toStatus(cause));
        }
        return;
      }
      try {
        response.onNext(inferResponse(model, request, result));
        response.onCompleted();
      } catch (RuntimeException e) {
        response.onError(Statuses.toStatus(e));
      }
    });
  }

  /**
   * Many ModelInfer requests on one stream: at most {@link #STREAM_IN_FLIGHT} are read ahead of their
   * responses (the client is not asked for more until one completes and the transport takes its
   * response, as on ExecuteStream: a client that stops reading holds the daemon to that), each answered with its
   * response or with error_message (the stream stays open). Cancelling the stream cancels what is queued.
   */
  @Override
  public StreamObserver<ModelInferRequest> modelStreamInfer(StreamObserver<ModelStreamInferResponse> responses) {
    return new InferStream((ServerCallStreamObserver<ModelStreamInferResponse>) responses);
  }

  /** One ModelStreamInfer call. */
  private final class InferStream implements StreamObserver<ModelInferRequest> {
    private final ServerCallStreamObserver<ModelStreamInferResponse> call;
    private final Set<CompletableFuture<ExecutionResult>> running = ConcurrentHashMap.newKeySet();
    /** Guards the response stream, which is not thread-safe, and {@link #halfClosed}. */
    private final Object sendLock = new Object();
    private boolean halfClosed;
    /** Guarded by {@link #sendLock}. */
    private final StreamCredit credit;

    /** The connection's regions, looked up while the call's context is current. */
    private final Session callerRegions = regions(false);

    InferStream(ServerCallStreamObserver<ModelStreamInferResponse> call) {
      this.call = call;
      call.setOnCancelHandler(() -> running.forEach(f -> f.cancel(false)));
      this.credit = new StreamCredit(call, STREAM_IN_FLIGHT, this::onReady);
    }

    private void onReady() {
      synchronized (sendLock) {
        credit.ready();
      }
    }

    @Override
    public void onNext(ModelInferRequest request) {
      CompletableFuture<ExecutionResult> future;
      ModelEntry model;
      try {
        model = require(request.getModelName(), request.getModelVersion());
        future = runtime.models().submit(callerRegions, model, executionRequest(model, request));
      } catch (RuntimeException e) {
        answer(ModelStreamInferResponse.newBuilder().setErrorMessage(describe(e)).setInferResponse(
            ModelInferResponse.newBuilder().setId(request.getId()).setModelName(request.getModelName())).build(),
            null);
        return;
      }
      running.add(future);
      future.whenComplete((result, failure) -> {
        ModelStreamInferResponse.Builder r = ModelStreamInferResponse.newBuilder();
        if (failure != null) {
          Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
              ? failure.getCause() : failure;
          r.setErrorMessage(describe(cause)).setInferResponse(ModelInferResponse.newBuilder()
              .setId(request.getId()).setModelName(model.name()));
        } else {
          try {
            r.setInferResponse(inferResponse(model, request, result));
          } catch (RuntimeException e) {
            r.setErrorMessage(describe(e));
          }
        }
        answer(r.build(), future);
      });
    }

    /**
     * Sends the response of {@code done} (null: refused before it ran), asks for the next request, and
     * ends the call once the client is done and nothing runs.
     */
    private void answer(ModelStreamInferResponse response, CompletableFuture<ExecutionResult> done) {
      synchronized (sendLock) {
        if (done != null) {
          running.remove(done);
        }
        if (call.isCancelled()) {
          return;
        }
        call.onNext(response);
        credit.answered();
        finishIfDone();
      }
    }

    private void finishIfDone() {
      if (halfClosed && running.isEmpty()) {
        halfClosed = false;
        call.onCompleted();
      }
    }

    @Override
    public void onError(Throwable t) {
      running.forEach(f -> f.cancel(false));
    }

    @Override
    public void onCompleted() {
      synchronized (sendLock) {
        halfClosed = true;
        finishIfDone();
      }
    }
  }

  private static String describe(Throwable failure) {
    io.grpc.Status status = Statuses.toStatus(failure).getStatus();
    return status.getCode() + ": " + status.getDescription();
  }

  /** The registry's request for a KServe one: inputs from typed contents, raw contents or shared memory. */
  private static ExecutionRequest executionRequest(ModelEntry model, ModelInferRequest request) {
    int raw = request.getRawInputContentsCount();
    if (raw != 0 && raw != request.getInputsCount()) {
      throw VnrtRuntimeException.invalid("raw_input_contents has " + raw + " entries for " + request.getInputsCount()
          + " inputs: when used, it must hold one entry per input, in input order", "model", model.name());
    }
    Map<String, TensorSource> inputs = new LinkedHashMap<>();
    for (int i = 0; i < request.getInputsCount(); i++) {
      ModelInferRequest.InferInputTensor in = request.getInputs(i);
      DType dtype = KServeTypes.fromName(in.getDatatype());
      if (dtype == null) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName()
            + "': datatype '" + in.getDatatype() + "' is not supported; expected one of " + KServeTypes.accepted(),
            "input", in.getName());
      }
      long[] shape = in.getShapeList().stream().mapToLong(Long::longValue).toArray();
      long elements = elements(in.getName(), shape);
      if (inputs.containsKey(in.getName())) {
        throw VnrtRuntimeException.invalid("input '" + in.getName() + "' is given twice", "input", in.getName());
      }
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
      byte[] bytes;
      ByteString data;
      if (raw != 0) {
        data = request.getRawInputContents(i);
      } else if (in.hasContents()) {
        bytes = KServeTensors.toBytes(in.getName(), dtype, elements, in.getContents());
        data = UnsafeByteOperations.unsafeWrap(bytes);
      } else {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName()
            + "' carries no data: give " + KServeTensors.field(dtype)
            + ", raw_input_contents or a shared_memory_region", "input", in.getName());
      }
      long expected = elements * dtype.byteSize();
      if (data.size() != expected) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName() + "': "
            + in.getDatatype() + shape(shape) + " takes " + expected + " bytes, raw_input_contents has " + data.size(),
            "input", in.getName(), "expected_bytes", expected, "given_bytes", data.size());
      }
      inputs.put(in.getName(), new TensorSource.Inline(dtype, shape, MemorySegment.ofBuffer(data.asReadOnlyByteBuffer())));
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
    return new ExecutionRequest(model.id(), inputs, outputs, deadline());
  }

  /** The call's deadline on System.nanoTime(), as the scheduler measures it. */
  private static long deadline() {
    Deadline d = Context.current().getDeadline();
    if (d == null) {
      return ExecutionRequest.NO_DEADLINE;
    }
    return System.nanoTime() + d.timeRemaining(TimeUnit.NANOSECONDS);
  }

  private static long elements(String input, long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + input + "': shape "
            + shape(shape) + " has a negative dimension; give the actual extents", "input", input);
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + input + "': shape "
            + shape(shape) + " is too large", "input", input);
      }
    }
    return n;
  }

  private static String shape(long[] shape) {
    return java.util.Arrays.toString(shape);
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

  private ModelInferResponse inferResponse(ModelEntry model, ModelInferRequest request, ExecutionResult result) {
    Map<String, Boolean> binary = new TreeMap<>();
    for (ModelInferRequest.InferRequestedOutputTensor out : request.getOutputsList()) {
      InferParameter b = out.getParametersMap().get("binary_data");
      binary.put(out.getName(), b == null || !b.hasBoolParam() || b.getBoolParam());
    }
    ModelInferResponse.Builder r = ModelInferResponse.newBuilder().setModelName(model.name())
        .setModelVersion(version(model)).setId(request.getId());
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

  @Override
  public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> response) {
    Calls.unary(response, () -> {
      checkRepositoryName(request.getRepositoryName());
      Map<String, RepositoryIndexResponse.ModelIndex> index = new TreeMap<>();
      for (String name : repositoryModels()) {
        Optional<String> v = latestVersion(name);
        index.put(name, RepositoryIndexResponse.ModelIndex.newBuilder().setName(name).setVersion(v.orElse(""))
            .setState("UNAVAILABLE").setReason(v.isPresent() ? "unloaded" : "no <version>/model.onnx").build());
      }
      for (ModelEntry m : runtime.models().all()) {
        if (visible(m)) {
          index.put(m.name(), RepositoryIndexResponse.ModelIndex.newBuilder().setName(m.name())
              .setVersion(version(m)).setState("READY").build());
        }
      }
      RepositoryIndexResponse.Builder b = RepositoryIndexResponse.newBuilder();
      index.values().stream().filter(m -> !request.getReady() || m.getState().equals("READY")).forEach(b::addModels);
      return b.build();
    });
  }

  @Override
  public void repositoryModelLoad(RepositoryModelLoadRequest request,
      StreamObserver<RepositoryModelLoadResponse> response) {
    Calls.unary(response, () -> {
      checkRepositoryName(request.getRepositoryName());
      String name = request.getModelName();
      checkModelName(name);
      String version;
      byte[] onnx;
      Optional<Map.Entry<String, ModelRepositoryParameter>> file = request.getParametersMap().entrySet().stream()
          .filter(e -> e.getKey().startsWith("file:")).findFirst();
      if (file.isPresent()) {
        var m = FILE_PARAMETER.matcher(file.get().getKey());
        if (!m.matches() || !file.get().getValue().hasBytesParam()) {
          throw VnrtRuntimeException.invalid("model '" + name + "': file parameter '" + file.get().getKey()
              + "' must be named file:<version>/model.onnx and carry bytes_param", "model", name);
        }
        if (!request.getParametersMap().containsKey("config")) {
          throw VnrtRuntimeException.invalid("model '" + name + "': a file:<version>/model.onnx override needs a "
              + "\"config\" parameter as well (Triton's convention; \"{}\" will do)", "model", name);
        }
        version = m.group(1);
        onnx = file.get().getValue().getBytesParam().toByteArray();
      } else {
        Path dir = repository.orElseThrow(() -> failedPrecondition("model '" + name + "': the daemon has no model "
            + "repository; start it with --model-repository DIR, or send the model as a file:1/model.onnx parameter"))
            .resolve(name);
        version = latestVersion(name).orElseThrow(() -> VnrtRuntimeException.notFound("model '" + name
            + "' is not in the repository: expected " + dir + "/<version>/model.onnx; the repository holds "
            + repositoryModels(), "model", name));
        try {
          onnx = Files.readAllBytes(dir.resolve(version).resolve("model.onnx"));
        } catch (IOException e) {
          throw VnrtRuntimeException.invalid("model '" + name + "': cannot read " + dir.resolve(version)
              .resolve("model.onnx") + ": " + e.getMessage(), "model", name);
        }
      }
      repositoryLock.lock();
      try {
        ModelEntry previous = own(name);
        if (previous != null) {
          // a reload: names are unique within a session, so the old version goes first
          runtime.models().unload(session, previous.id());
          versions.remove(previous.id());
        }
        ModelEntry loaded = runtime.models().load(session,
            LoadSpec.auto(name, 0, 1, onnx.length).withWarmup(repositoryWarmup), onnx, Calls.loadWatch());
        versions.put(loaded.id(), version);
      } finally {
        repositoryLock.unlock();
      }
      return RepositoryModelLoadResponse.getDefaultInstance();
    });
  }

  @Override
  public void repositoryModelUnload(RepositoryModelUnloadRequest request,
      StreamObserver<RepositoryModelUnloadResponse> response) {
    Calls.unary(response, () -> {
      checkRepositoryName(request.getRepositoryName());
      String name = request.getModelName();
      repositoryLock.lock();
      try {
        ModelEntry m = own(name);
        if (m == null) {
          if (runtime.models().byName(name).stream().anyMatch(this::visible)) {
            throw failedPrecondition("model '" + name + "' was loaded through the vnrt.v1 API by a session; "
                + "it unloads with that session (Model.UnloadModel), not through KServe");
          }
          throw VnrtRuntimeException.notFound("no model named '" + name + "' is loaded", "model", name);
        }
        runtime.models().unload(session, m.id());
        versions.remove(m.id());
      } finally {
        repositoryLock.unlock();
      }
      return RepositoryModelUnloadResponse.getDefaultInstance();
    });
  }

  @Override
  public void systemSharedMemoryStatus(SystemSharedMemoryStatusRequest request,
      StreamObserver<SystemSharedMemoryStatusResponse> response) {
    Calls.unary(response, () -> {
      SystemSharedMemoryStatusResponse.Builder b = SystemSharedMemoryStatusResponse.newBuilder();
      for (SharedMemoryRegion r : regions(false).sharedMemory().list()) {
        if (request.getName().isEmpty() || request.getName().equals(r.name())) {
          b.putRegions(r.name(), SystemSharedMemoryStatusResponse.RegionStatus.newBuilder().setName(r.name())
              .setKey(r.key()).setOffset(r.offsetBytes()).setByteSize(r.sizeBytes()).build());
        }
      }
      if (!request.getName().isEmpty() && b.getRegionsCount() == 0) {
        throw VnrtRuntimeException.notFound("no system shared-memory region named '" + request.getName()
            + "' is registered", "region", request.getName());
      }
      return b.build();
    });
  }

  @Override
  public void systemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request,
      StreamObserver<SystemSharedMemoryRegisterResponse> response) {
    Calls.unary(response, () -> {
      regions(true).sharedMemory().register(request.getName(), request.getKey(), request.getOffset(),
          request.getByteSize(), CallerIdentity.sharedMemoryAccess());
      return SystemSharedMemoryRegisterResponse.getDefaultInstance();
    });
  }

  @Override
  public void systemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request,
      StreamObserver<SystemSharedMemoryUnregisterResponse> response) {
    Calls.unary(response, () -> {
      Session regions = regions(false);
      if (request.getName().isEmpty()) {
        for (SharedMemoryRegion r : regions.sharedMemory().list()) {
          regions.sharedMemory().unregister(r.name());
        }
      } else {
        regions.sharedMemory().unregister(request.getName());
      }
      return SystemSharedMemoryUnregisterResponse.getDefaultInstance();
    });
  }

  /** The model KServe means by a name: the kserve session's own, else the first one another session shared. */
  private Optional<ModelEntry> find(String name, String version) {
    List<ModelEntry> named = runtime.models().byName(name).stream().filter(this::visible)
        .sorted(Comparator.comparing((ModelEntry m) -> m.owner() != session)).toList();
    return named.stream().filter(m -> version.isEmpty() || version.equals(version(m))).findFirst();
  }

  private ModelEntry require(String name, String version) {
    return find(name, version).orElseThrow(() -> VnrtRuntimeException.notFound("no model named '" + name + "'"
        + (version.isEmpty() ? "" : " with version '" + version + "'") + " is loaded; loaded: "
        + runtime.models().all().stream().filter(this::visible).map(m -> m.name() + "@" + version(m)).toList(),
        "model", name));
  }

  private ModelEntry own(String name) {
    return runtime.models().list(session).stream().filter(m -> m.name().equals(name) && m.isLoaded())
        .findFirst().orElse(null);
  }

  /** A repository model's version; "1" for models loaded through vnrt.v1. */
  private String version(ModelEntry m) {
    return versions.getOrDefault(m.id(), "1");
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

  /** The highest numeric version directory of a repository model holding model.onnx. */
  private Optional<String> latestVersion(String name) {
    if (repository.isEmpty() || !MODEL_NAME.matcher(name).matches()) {
      return Optional.empty();
    }
    Path dir = repository.get().resolve(name);
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> versionDirs = Files.list(dir)) {
      return versionDirs.map(p -> p.getFileName().toString()).filter(v -> v.matches("[0-9]{1,18}"))
          .filter(v -> Files.isRegularFile(dir.resolve(v).resolve("model.onnx")))
          .max(Comparator.comparingLong(Long::parseLong));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static RuntimeException failedPrecondition(String message) {
    return Statuses.status(Status.Code.FAILED_PRECONDITION, NrtCode.NRT_INVALID, message, Map.of());
  }
}
