package io.vnrt.runtime.server;

import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.GetModelRequest;
import io.vnrt.proto.v1.ListModelsRequest;
import io.vnrt.proto.v1.ListModelsResponse;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.UnloadModelRequest;
import io.vnrt.proto.v1.UnloadModelResponse;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.models.LoadWatch;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.models.ModelRegistry;
import io.vnrt.runtime.models.ModelUpload;
import io.vnrt.runtime.session.Session;

/** The Model service over the runtime's {@link ModelRegistry}: models owned by the calling session. */
final class ModelService extends ModelGrpc.ModelImplBase {
  private final ModelRegistry models;
  private final StreamIdleWatch idleStreams;

  ModelService(ModelRegistry models, StreamIdleWatch idleStreams) {
    this.models = models;
    this.idleStreams = idleStreams;
  }

  @Override
  public StreamObserver<LoadModelRequest> loadModel(StreamObserver<ModelInfo> response) {
    return new LoadStream(SessionInterceptor.current(), response);
  }

  /**
   * One LoadModel stream: a header, then chunks copied into a buffer of the announced size. The
   * load watches the call: a client that cancels, or a deadline that passes, ends it.
   */
  private final class LoadStream extends ClientUpload<LoadModelRequest, ModelInfo> {
    private final Session session;
    private final LoadWatch watch;
    private ModelUpload upload;
    private boolean shared;

    LoadStream(Session session, StreamObserver<ModelInfo> response) {
      super(response, idleStreams);
      this.session = session;
      this.watch = Calls.loadWatch();
    }

    @Override
    void accept(LoadModelRequest message) {
      switch (message.getPartCase()) {
        case HEADER -> {
          if (upload != null) {
            throw VnrtRuntimeException.invalid("a LoadModel stream has one header, first; a second header arrived "
                + "after " + upload.receivedBytes() + " bytes");
          }
          upload = models.beginLoad(session, ModelMessages.spec(message.getHeader()));
          shared = message.getHeader().getShared();
        }
        case CHUNK -> {
          if (upload == null) {
            throw VnrtRuntimeException.invalid("a LoadModel stream must start with its header; a chunk of "
                + message.getChunk().size() + " bytes came first");
          }
          // a rope of the transport's buffers: each piece copied on its own, none flattened first
          message.getChunk().asReadOnlyByteBufferList().forEach(upload::write);
        }
        case PART_NOT_SET -> throw VnrtRuntimeException.invalid("a LoadModel message carries neither a header nor "
            + "a chunk");
      }
    }

    @Override
    ModelInfo finish() {
      if (upload == null) {
        throw VnrtRuntimeException.invalid("the LoadModel stream ended without a header: send a LoadModelHeader "
            + "first, then the ONNX bytes");
      }
      // the upload hands its bytes to the load: from here the load owns them, loaded or not
      ModelUpload u = upload;
      upload = null;
      ModelEntry entry = u.finish(watch);
      if (shared) {
        entry.share();
      }
      return ModelMessages.info(entry);
    }

    @Override
    void release() {
      // the bytes received so far; nothing was loaded
      if (upload != null) {
        upload.close();
        upload = null;
      }
    }
  }

  @Override
  public void unloadModel(UnloadModelRequest request, StreamObserver<UnloadModelResponse> response) {
    Calls.unary(response, () -> UnloadModelResponse.newBuilder()
        .setBytesFreed(models.unload(SessionInterceptor.current(), request.getModelId())).build());
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
    Calls.unary(response, () -> {
      ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
      models.list(SessionInterceptor.current()).forEach(m -> b.addModels(ModelMessages.info(m)));
      return b.build();
    });
  }

  @Override
  public void getModel(GetModelRequest request, StreamObserver<ModelInfo> response) {
    Calls.unary(response, () -> ModelMessages.info(models.get(SessionInterceptor.current(), request.getModelId())));
  }
}
