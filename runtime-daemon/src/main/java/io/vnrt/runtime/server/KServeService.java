package io.vnrt.runtime.server;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.inference.CudaSharedMemoryRegisterRequest;
import io.vnrt.proto.inference.CudaSharedMemoryRegisterResponse;
import io.vnrt.proto.inference.CudaSharedMemoryStatusRequest;
import io.vnrt.proto.inference.CudaSharedMemoryStatusResponse;
import io.vnrt.proto.inference.CudaSharedMemoryUnregisterRequest;
import io.vnrt.proto.inference.CudaSharedMemoryUnregisterResponse;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.LogSettingsRequest;
import io.vnrt.proto.inference.LogSettingsResponse;
import io.vnrt.proto.inference.ModelConfigRequest;
import io.vnrt.proto.inference.ModelConfigResponse;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelMetadataRequest;
import io.vnrt.proto.inference.ModelMetadataResponse;
import io.vnrt.proto.inference.ModelReadyRequest;
import io.vnrt.proto.inference.ModelReadyResponse;
import io.vnrt.proto.inference.ModelStatisticsRequest;
import io.vnrt.proto.inference.ModelStatisticsResponse;
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
import io.vnrt.proto.inference.TraceSettingRequest;
import io.vnrt.proto.inference.TraceSettingResponse;
import io.vnrt.runtime.models.ExecutionRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * KServe v2 / Triton's {@code inference.GRPCInferenceService}: every RPC of Triton's service,
 * each translated to {@link KServeFrontEnd}, which the REST binding shares.
 */
final class KServeService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
  /** Requests of one ModelStreamInfer read ahead of their responses. */
  static final int STREAM_IN_FLIGHT = 16;

  private final KServeFrontEnd front;

  KServeService(KServeFrontEnd front) {
    this.front = front;
  }

  /** Closes the regions of a gRPC connection that ended. */
  void connectionClosed(long connection) {
    front.connectionClosed(connection);
  }

  /** The calling connection and what it may map; read while the call's context is current. */
  private static KServeFrontEnd.Caller caller() {
    return new KServeFrontEnd.Caller(CallerIdentity.connection(), CallerIdentity.sharedMemoryAccessWhenAsked());
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> response) {
    Calls.unary(response, () -> ServerLiveResponse.newBuilder().setLive(front.live()).build());
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> response) {
    Calls.unary(response, () -> ServerReadyResponse.newBuilder().setReady(front.ready()).build());
  }

  @Override
  public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> response) {
    Calls.unary(response, front::serverMetadata);
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> response) {
    Calls.unary(response, () -> ModelReadyResponse.newBuilder()
        .setReady(front.modelReady(request.getName(), request.getVersion())).build());
  }

  @Override
  public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> response) {
    Calls.unary(response, () -> front.modelMetadata(request.getName(), request.getVersion()));
  }

  @Override
  public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> response) {
    Calls.unary(response, () -> ModelConfigResponse.newBuilder()
        .setConfig(front.modelConfig(request.getName(), request.getVersion())).build());
  }

  @Override
  public void modelStatistics(ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> response) {
    Calls.unary(response, () -> front.statistics(request.getName(), request.getVersion()));
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> response) {
    CompletableFuture<ModelInferResponse> future;
    try {
      future = front.infer(caller(), request, deadline());
    } catch (RuntimeException e) {
      response.onError(Statuses.toStatus(e));
      return;
    }
    if (response instanceof ServerCallStreamObserver<ModelInferResponse> call) {
      call.setOnCancelHandler(() -> future.cancel(false));
    }
    future.whenComplete((result, failure) -> {
      if (failure != null) {
        Throwable cause = cause(failure);
        if (!(cause instanceof CancellationException)) {
          // a cancelled call has gone: there is nobody to answer
          response.onError(Statuses.toStatus(cause));
        }
        return;
      }
      response.onNext(result);
      response.onCompleted();
    });
  }

  private static Throwable cause(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
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
    private final Set<CompletableFuture<ModelInferResponse>> running = ConcurrentHashMap.newKeySet();
    /** Guards the response stream, which is not thread-safe, and {@link #halfClosed}. */
    private final Object sendLock = new Object();
    private boolean halfClosed;
    /** Guarded by {@link #sendLock}. */
    private final StreamCredit credit;

    /** The calling connection, read while the call's context is current. */
    private final KServeFrontEnd.Caller caller = caller();

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
      CompletableFuture<ModelInferResponse> future;
      try {
        future = front.infer(caller, request, deadline());
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
          r.setErrorMessage(describe(cause(failure))).setInferResponse(ModelInferResponse.newBuilder()
              .setId(request.getId()).setModelName(request.getModelName()));
        } else {
          r.setInferResponse(result);
        }
        answer(r.build(), future);
      });
    }

    /**
     * Sends the response of {@code done} (null: refused before it ran), asks for the next request, and
     * ends the call once the client is done and nothing runs.
     */
    private void answer(ModelStreamInferResponse response, CompletableFuture<ModelInferResponse> done) {
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

  /** The call's deadline on System.nanoTime(), as the scheduler measures it. */
  static long deadline() {
    Deadline d = Context.current().getDeadline();
    if (d == null) {
      return ExecutionRequest.NO_DEADLINE;
    }
    return System.nanoTime() + d.timeRemaining(TimeUnit.NANOSECONDS);
  }

  @Override
  public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> response) {
    Calls.unary(response, () -> front.repositoryIndex(request.getRepositoryName(), request.getReady()));
  }

  @Override
  public void repositoryModelLoad(RepositoryModelLoadRequest request,
      StreamObserver<RepositoryModelLoadResponse> response) {
    Calls.unary(response, () -> {
      front.load(request.getRepositoryName(), request.getModelName(), request.getParametersMap());
      return RepositoryModelLoadResponse.getDefaultInstance();
    });
  }

  @Override
  public void repositoryModelUnload(RepositoryModelUnloadRequest request,
      StreamObserver<RepositoryModelUnloadResponse> response) {
    Calls.unary(response, () -> {
      front.unload(request.getRepositoryName(), request.getModelName());
      return RepositoryModelUnloadResponse.getDefaultInstance();
    });
  }

  @Override
  public void systemSharedMemoryStatus(SystemSharedMemoryStatusRequest request,
      StreamObserver<SystemSharedMemoryStatusResponse> response) {
    Calls.unary(response, () -> front.systemSharedMemoryStatus(caller(), request.getName()));
  }

  @Override
  public void systemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request,
      StreamObserver<SystemSharedMemoryRegisterResponse> response) {
    Calls.unary(response, () -> {
      front.systemSharedMemoryRegister(caller(), request.getName(), request.getKey(), request.getOffset(),
          request.getByteSize());
      return SystemSharedMemoryRegisterResponse.getDefaultInstance();
    });
  }

  @Override
  public void systemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request,
      StreamObserver<SystemSharedMemoryUnregisterResponse> response) {
    Calls.unary(response, () -> {
      front.systemSharedMemoryUnregister(caller(), request.getName());
      return SystemSharedMemoryUnregisterResponse.getDefaultInstance();
    });
  }

  @Override
  public void cudaSharedMemoryStatus(CudaSharedMemoryStatusRequest request,
      StreamObserver<CudaSharedMemoryStatusResponse> response) {
    Calls.unary(response, () -> front.cudaSharedMemoryStatus(request.getName()));
  }

  @Override
  public void cudaSharedMemoryRegister(CudaSharedMemoryRegisterRequest request,
      StreamObserver<CudaSharedMemoryRegisterResponse> response) {
    Calls.unary(response, () -> {
      front.cudaSharedMemoryRegister(request.getName());
      return CudaSharedMemoryRegisterResponse.getDefaultInstance();
    });
  }

  @Override
  public void cudaSharedMemoryUnregister(CudaSharedMemoryUnregisterRequest request,
      StreamObserver<CudaSharedMemoryUnregisterResponse> response) {
    Calls.unary(response, () -> {
      front.cudaSharedMemoryUnregister(request.getName());
      return CudaSharedMemoryUnregisterResponse.getDefaultInstance();
    });
  }

  @Override
  public void traceSetting(TraceSettingRequest request, StreamObserver<TraceSettingResponse> response) {
    Calls.unary(response, () -> {
      Map<String, List<String>> changes = new LinkedHashMap<>();
      request.getSettingsMap().forEach((k, v) -> changes.put(k, v.getValueList()));
      TraceSettingResponse.Builder b = TraceSettingResponse.newBuilder();
      front.traceSettings(request.getModelName(), changes).forEach((k, v) -> b.putSettings(k,
          TraceSettingResponse.SettingValue.newBuilder().addAllValue(v).build()));
      return b.build();
    });
  }

  @Override
  public void logSettings(LogSettingsRequest request, StreamObserver<LogSettingsResponse> response) {
    Calls.unary(response, () -> KServeLogSettings.update(request.getSettingsMap()));
  }
}
