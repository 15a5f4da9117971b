package io.vnrt.client;

import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.UnaryCall;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.GetModelRequest;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.UnloadModelRequest;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A model loaded on a core group of a device, owned by a {@link Session}. Execute it with named
 * host tensors (or device tensors); closing it unloads it and frees its weights and scratch.
 * Thread-safe: executions from many threads run concurrently, up to the model's queue depth.
 */
public final class Model implements AutoCloseable {
  private final Session session;
  private final ModelDescription description;
  private final AtomicBoolean unloaded = new AtomicBoolean();

  Model(Session session, ModelInfo info) {
    this.session = session;
    this.description = ModelDescription.fromProto(info);
  }

  /** The opaque model id. */
  public String id() {
    return description.modelId();
  }

  /** The model's name. */
  public String name() {
    return description.name();
  }

  /** The description returned at load. */
  public ModelDescription description() {
    return description;
  }

  /** Asks the daemon for the model's description (NotFoundException once unloaded). */
  public ModelDescription describe() {
    try {
      return ModelDescription.fromProto(session.modelsBlocking().getModel(
          GetModelRequest.newBuilder().setModelId(id()).build()));
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** Runs the model once on inline inputs; returns every output by name. */
  public Map<String, HostTensor> execute(Map<String, HostTensor> inputs) {
    return execute(ExecutionRequest.of(inputs)).outputs();
  }

  /** Runs the model once; returns the inline outputs and the timing. */
  public ExecutionResult execute(ExecutionRequest request) {
    return Errors.await(executeAsync(request));
  }

  /** Asynchronous {@link #execute(Map)}; cancelling the future cancels the execution. */
  public CompletableFuture<Map<String, HostTensor>> executeAsync(Map<String, HostTensor> inputs) {
    return executeAsync(ExecutionRequest.of(inputs)).thenApply(ExecutionResult::outputs);
  }

  /** Asynchronous {@link #execute(ExecutionRequest)}; cancelling the future cancels the execution. */
  public CompletableFuture<ExecutionResult> executeAsync(ExecutionRequest request) {
    var message = request.toProto(id(), "");
    CompletableFuture<ExecuteResponse> call = UnaryCall.start(o -> session.executions().execute(message, o));
    return call.thenApply(ExecutionResult::fromProto);
  }

  /** A stream on which up to {@code maxInFlight} executions of this model are outstanding at once. */
  public ExecutionStream openStream(int maxInFlight) {
    return new ExecutionStream(session.executions(), id(), maxInFlight);
  }

  /** Unloads the model; returns the HBM bytes freed (0 when already unloaded). */
  public long unload() {
    if (!unloaded.compareAndSet(false, true)) {
      return 0;
    }
    try {
      return session.modelsBlocking().unloadModel(UnloadModelRequest.newBuilder().setModelId(id()).build())
          .getBytesFreed();
    } catch (StatusRuntimeException e) {
      RuntimeException mapped = Errors.translate(e);
      if (mapped instanceof NotFoundException || mapped instanceof SessionClosedException) {
        return 0;
      }
      throw mapped;
    }
  }

  /** Same as {@link #unload()}; quiet when the model or its session is already gone. */
  @Override
  public void close() {
    unload();
  }

  @Override
  public String toString() {
    return "Model['" + name() + "' " + description.inputs() + " -> " + description.outputs() + "]";
  }
}
