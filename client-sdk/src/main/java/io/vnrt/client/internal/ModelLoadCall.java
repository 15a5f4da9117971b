package io.vnrt.client.internal;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;

/**
 * One LoadModel stream: the header, then the model's bytes read from a stream in chunks, each
 * read only when the transport is ready for it, so a model of any size passes through at most a
 * chunk or two of client memory. Chunks are produced on the caller's thread.
 */
public final class ModelLoadCall implements ClientResponseObserver<LoadModelRequest, ModelInfo> {
  private final CompletableFuture<ModelInfo> result = new CompletableFuture<>();
  private final Object readiness = new Object();
  private ClientCallStreamObserver<LoadModelRequest> requests;

  private ModelLoadCall() {
  }

  /**
   * Loads exactly {@code header.model_size_bytes} bytes from {@code source} in chunks of
   * {@code chunkBytes}; fails (cancelling the call) when the stream ends early.
   */
  public static ModelInfo load(ModelGrpc.ModelStub stub, LoadModelHeader header, InputStream source, int chunkBytes) {
    ModelLoadCall call = new ModelLoadCall();
    stub.loadModel(call);
    try {
      call.requests.onNext(LoadModelRequest.newBuilder().setHeader(header).build());
      long remaining = header.getModelSizeBytes();
      while (remaining > 0) {
        synchronized (call.readiness) {
          while (!call.result.isDone() && !call.requests.isReady()) {
            call.readiness.wait();
          }
        }
        if (call.result.isDone()) {
          break;
        }
        byte[] chunk = source.readNBytes((int) Math.min(chunkBytes, remaining));
        if (chunk.length == 0) {
          throw new IllegalArgumentException("the model stream ended after " + (header.getModelSizeBytes() - remaining)
              + " of the " + header.getModelSizeBytes() + " bytes announced");
        }
        call.requests.onNext(LoadModelRequest.newBuilder().setChunk(UnsafeByteOperations.unsafeWrap(chunk)).build());
        remaining -= chunk.length;
      }
      if (!call.result.isDone()) {
        call.requests.onCompleted();
      }
    } catch (InterruptedException e) {
      call.requests.cancel("the loading thread was interrupted", e);
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      call.requests.cancel("reading the model failed", e);
      throw new UncheckedIOException("reading the model failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      call.requests.cancel("the load failed in the client", e);
      throw e;
    }
    return Errors.await(call.result);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<LoadModelRequest> requestStream) {
    this.requests = requestStream;
    requestStream.setOnReadyHandler(this::wake);
  }

  private void wake() {
    synchronized (readiness) {
      readiness.notifyAll();
    }
  }

  @Override
  public void onNext(ModelInfo value) {
    result.complete(value);
    wake();
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(Errors.translate(t));
    wake();
  }

  @Override
  public void onCompleted() {
    // a response always precedes a successful end; this only guards against a daemon that sends none
    result.completeExceptionally(new IllegalStateException("the daemon ended LoadModel without a response"));
    wake();
  }
}
