package io.vnrt.client;

import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.UnaryCall;
import io.vnrt.proto.v1.AllocateTensorRequest;
import io.vnrt.proto.v1.CloseSessionRequest;
import io.vnrt.proto.v1.CloseSessionResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.GetMemoryStatsRequest;
import io.vnrt.proto.v1.GetMemoryStatsResponse;
import io.vnrt.proto.v1.KeepAliveRequest;
import io.vnrt.proto.v1.KeepAliveResponse;
import io.vnrt.proto.v1.ListModelsRequest;
import io.vnrt.proto.v1.ListTensorsRequest;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.Placement;
import io.vnrt.proto.v1.RuntimeGrpc;
import io.vnrt.proto.v1.TensorInfo;
import io.vnrt.client.internal.ModelLoadCall;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A lease on the daemon that owns tensors. It renews itself in the background (every third of
 * its lease); closing it frees everything it owns. Thread-safe.
 */
public final class Session implements AutoCloseable {
  /** Metadata key carrying the session id on every call. */
  public static final Metadata.Key<String> SESSION_ID_KEY =
      Metadata.Key.of("vnrt-session-id", Metadata.ASCII_STRING_MARSHALLER);

  private final VnrtClient client;
  private final String id;
  private final String clientName;
  private final Duration leaseTtl;
  private final MemoryGrpc.MemoryStub memory;
  private final MemoryGrpc.MemoryBlockingStub memoryBlocking;
  private final RuntimeGrpc.RuntimeStub runtime;
  private final RuntimeGrpc.RuntimeBlockingStub runtimeBlocking;
  private final ModelGrpc.ModelStub models;
  private final ModelGrpc.ModelBlockingStub modelsBlocking;
  private final ExecutionGrpc.ExecutionStub executions;
  private final ScheduledFuture<?> keepAlive;
  private final AtomicBoolean closed = new AtomicBoolean();

  Session(VnrtClient client, String id, String clientName, Duration leaseTtl) {
    this.client = client;
    this.id = id;
    this.clientName = clientName;
    this.leaseTtl = leaseTtl;
    Metadata headers = new Metadata();
    headers.put(SESSION_ID_KEY, id);
    var attach = MetadataUtils.newAttachHeadersInterceptor(headers);
    this.memory = MemoryGrpc.newStub(client.channel()).withInterceptors(attach);
    this.memoryBlocking = MemoryGrpc.newBlockingStub(client.channel()).withInterceptors(attach);
    this.runtime = RuntimeGrpc.newStub(client.channel()).withInterceptors(attach);
    this.runtimeBlocking = RuntimeGrpc.newBlockingStub(client.channel()).withInterceptors(attach);
    this.models = ModelGrpc.newStub(client.channel()).withInterceptors(attach);
    this.modelsBlocking = ModelGrpc.newBlockingStub(client.channel()).withInterceptors(attach);
    this.executions = ExecutionGrpc.newStub(client.channel()).withInterceptors(attach);
    long periodMs = Math.max(1, leaseTtl.toMillis() / 3);
    this.keepAlive = client.timer().scheduleAtFixedRate(this::renew, periodMs, periodMs, TimeUnit.MILLISECONDS);
  }

  /** The session id (a credential: do not log it whole). */
  public String id() {
    return id;
  }

  /** The name given at open. */
  public String clientName() {
    return clientName;
  }

  /** The lease the daemon granted. */
  public Duration leaseTtl() {
    return leaseTtl;
  }

  /** True once {@link #close()} was called. */
  public boolean isClosed() {
    return closed.get();
  }

  /** Allocates a tensor in the HBM of {@code deviceId}, attributed to the device as a whole. */
  public DeviceTensor allocate(TensorSpec spec, int deviceId) {
    return Errors.await(allocateAsync(request(spec, Placement.PLACEMENT_DEVICE, deviceId, -1)));
  }

  /** Allocates a tensor in the HBM of {@code deviceId}, attributed to core {@code coreId} (a global core id). */
  public DeviceTensor allocate(TensorSpec spec, int deviceId, int coreId) {
    return Errors.await(allocateAsync(spec, deviceId, coreId));
  }

  /** Allocates a {@code dtype} tensor of {@code shape} on {@code deviceId}, attributed to {@code coreId} (negative: none). */
  public DeviceTensor allocate(DType dtype, long[] shape, int deviceId, int coreId) {
    return allocate(TensorSpec.of(dtype, shape), deviceId, coreId);
  }

  /** Allocates a tensor in the daemon's host memory, outside every HBM pool. */
  public DeviceTensor allocateHost(TensorSpec spec) {
    return Errors.await(allocateAsync(request(spec, Placement.PLACEMENT_HOST, 0, -1)));
  }

  /** Asynchronous {@link #allocate(TensorSpec, int, int)}; a negative core means the whole device. */
  public CompletableFuture<DeviceTensor> allocateAsync(TensorSpec spec, int deviceId, int coreId) {
    return allocateAsync(request(spec, Placement.PLACEMENT_DEVICE, deviceId, coreId));
  }

  private static AllocateTensorRequest request(TensorSpec spec, Placement placement, int deviceId, int coreId) {
    AllocateTensorRequest.Builder b = AllocateTensorRequest.newBuilder()
        .setPlacement(placement)
        .setDeviceId(deviceId)
        .setDtype(spec.dtype().toProto())
        .addAllShape(spec.shape())
        .setName(spec.name());
    if (coreId >= 0) {
      b.setCoreId(coreId).setHasCore(true);
    }
    if (spec.dtype() == DType.RAW && spec.shape().size() == 1) {
      b.setSizeBytes(spec.shape().getFirst());
    }
    return b.build();
  }

  private CompletableFuture<DeviceTensor> allocateAsync(AllocateTensorRequest request) {
    CompletableFuture<TensorInfo> call = UnaryCall.start(o -> memory.allocateTensor(request, o));
    return call.thenApply(info -> new DeviceTensor(this, info));
  }

  /** Loads an ONNX model file with default options (named after the file, on the first free core of device 0). */
  public Model loadModel(Path onnxFile) {
    return loadModel(onnxFile, LoadOptions.defaults());
  }

  /** Loads an ONNX model file, streaming it to the daemon in chunks. */
  public Model loadModel(Path onnxFile, LoadOptions options) {
    String defaultName = onnxFile.getFileName().toString().replaceFirst("\\.onnx$", "");
    try (InputStream in = Files.newInputStream(onnxFile)) {
      return loadModel(in, Files.size(onnxFile), options, defaultName);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read model " + onnxFile + ": " + e.getMessage(), e);
    }
  }

  /** Loads a model from its serialized ONNX bytes. */
  public Model loadModel(byte[] onnx, LoadOptions options) {
    return loadModel(new ByteArrayInputStream(onnx), onnx.length, options);
  }

  /**
   * Loads a model of exactly {@code sizeBytes} bytes read from {@code onnx} (not closed), in chunks
   * sent only as fast as the connection takes them: models far beyond gRPC's message limit load.
   */
  public Model loadModel(InputStream onnx, long sizeBytes, LoadOptions options) {
    return loadModel(onnx, sizeBytes, options, "model");
  }

  private Model loadModel(InputStream onnx, long sizeBytes, LoadOptions options, String defaultName) {
    if (sizeBytes <= 0) {
      throw new IllegalArgumentException("a model needs at least one byte, got a size of " + sizeBytes);
    }
    ModelInfo info = ModelLoadCall.load(models, options.toHeader(defaultName, sizeBytes), onnx,
        VnrtClient.CHUNK_BYTES);
    return new Model(this, info);
  }

  /**
   * Creates a /dev/shm file of {@code sizeBytes}, maps it in this process and registers it as
   * {@code name}: executions then read inputs from it and write outputs into it without copies
   * through gRPC (the daemon must run on this host). Closing it unregisters and removes it.
   */
  public SharedMemory createSharedMemory(String name, long sizeBytes) {
    if (sizeBytes <= 0) {
      throw new IllegalArgumentException("a shared-memory region needs at least one byte, got " + sizeBytes);
    }
    return SharedMemory.create(this, name, sizeBytes);
  }

  /** Registers part of a /dev/shm file another party created ({@code key} is "/name", as for shm_open). */
  public SharedMemory registerSharedMemory(String name, String key, long offsetBytes, long sizeBytes) {
    return SharedMemory.existing(this, name, key, offsetBytes, sizeBytes);
  }

  /** The session's loaded models, as the daemon describes them. */
  public List<ModelDescription> models() {
    try {
      return modelsBlocking.listModels(ListModelsRequest.getDefaultInstance()).getModelsList().stream()
          .map(ModelDescription::fromProto).toList();
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** The session's live tensors, as the daemon describes them. */
  public List<TensorInfo> tensors() {
    try {
      return memoryBlocking.listTensors(ListTensorsRequest.getDefaultInstance()).getTensorsList();
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** Memory statistics of every device (use by category, session, core; peak; fragmentation). */
  public GetMemoryStatsResponse memoryStats() {
    try {
      return memoryBlocking.getMemoryStats(GetMemoryStatsRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** Renews the lease now; returns the time left. */
  public Duration keepAlive() {
    try {
      KeepAliveResponse r = runtimeBlocking.keepAlive(KeepAliveRequest.getDefaultInstance());
      return Duration.ofMillis(r.getRemainingMs());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  private void renew() {
    CompletableFuture<KeepAliveResponse> call =
        UnaryCall.start(o -> runtime.keepAlive(KeepAliveRequest.getDefaultInstance(), o));
    call.whenComplete((r, e) -> {
      if (e instanceof SessionClosedException) {
        // the daemon no longer knows us: renewing again cannot help
        keepAlive.cancel(false);
      }
    });
  }

  MemoryGrpc.MemoryStub memory() {
    return memory;
  }

  ModelGrpc.ModelBlockingStub modelsBlocking() {
    return modelsBlocking;
  }

  ExecutionGrpc.ExecutionStub executions() {
    return executions;
  }

  MemoryGrpc.MemoryBlockingStub memoryBlocking() {
    return memoryBlocking;
  }

  /**
   * Closes the session: the daemon frees every tensor it owns. Idempotent; a session the daemon
   * already expired closes quietly. Returns what the daemon released (empty if nothing was left).
   */
  public CloseSessionResponse closeAndReport() {
    if (!closed.compareAndSet(false, true)) {
      return CloseSessionResponse.getDefaultInstance();
    }
    keepAlive.cancel(false);
    client.forget(this);
    try {
      return runtimeBlocking.closeSession(CloseSessionRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      RuntimeException mapped = Errors.translate(e);
      if (mapped instanceof SessionClosedException) {
        return CloseSessionResponse.getDefaultInstance();
      }
      throw mapped;
    }
  }

  /** Same as {@link #closeAndReport()}. */
  @Override
  public void close() {
    closeAndReport();
  }

  @Override
  public String toString() {
    return "Session[" + id.substring(0, Math.min(8, id.length())) + "…, client '" + clientName + "']";
  }
}
