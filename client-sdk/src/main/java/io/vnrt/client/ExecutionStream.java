package io.vnrt.client;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.client.internal.Errors;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many executions of one model in flight on a single ExecuteStream: each {@link #submit} sends a
 * request with a fresh id and returns a future completed when the response with that id arrives.
 * At most {@code maxInFlight} requests are outstanding; {@link #submit} blocks the caller until
 * one completes (so neither side buffers without bound). Thread-safe. Closing it half-closes the
 * stream after the outstanding requests complete.
 */
public final class ExecutionStream implements AutoCloseable {
  private final String modelId;
  private final Semaphore permits;
  private final int maxInFlight;
  private final Map<String, CompletableFuture<ExecutionResult>> pending = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong();
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final Object sendLock = new Object();
  private final Observer observer = new Observer();
  private volatile RuntimeException failure;
  private boolean halfClosed;

  ExecutionStream(ExecutionGrpc.ExecutionStub stub, String modelId, int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
    }
    this.modelId = modelId;
    this.maxInFlight = maxInFlight;
    this.permits = new Semaphore(maxInFlight);
    stub.executeStream(observer);
  }

  /** Sends one execution; waits while {@code maxInFlight} are outstanding. */
  public CompletableFuture<ExecutionResult> submit(ExecutionRequest request) {
    try {
      permits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(Errors.translate(e));
    }
    String id = Long.toString(nextId.incrementAndGet());
    CompletableFuture<ExecutionResult> result = new CompletableFuture<>();
    result.whenComplete((r, e) -> permits.release());
    ExecuteRequest message = request.toProto(modelId, id);
    synchronized (sendLock) {
      RuntimeException f = failure;
      if (f != null || halfClosed) {
        result.completeExceptionally(f != null ? f : new IllegalStateException("the execution stream is closed"));
        return result;
      }
      pending.put(id, result);
      observer.requests.onNext(message);
    }
    return result;
  }

  /** Sends one execution with inline inputs. */
  public CompletableFuture<ExecutionResult> submit(Map<String, HostTensor> inputs) {
    return submit(ExecutionRequest.of(inputs));
  }

  /** Requests sent whose responses have not arrived. */
  public int inFlight() {
    return maxInFlight - permits.availablePermits();
  }

  /** Waits for outstanding requests, then ends the stream. */
  @Override
  public void close() {
    permits.acquireUninterruptibly(maxInFlight);
    synchronized (sendLock) {
      if (!halfClosed && failure == null) {
        halfClosed = true;
        observer.requests.onCompleted();
      }
    }
    permits.release(maxInFlight);
    try {
      ended.join();
    } catch (RuntimeException e) {
      // the stream's failure was already delivered to every pending future
    }
  }

  private void fail(RuntimeException e) {
    failure = e;
    for (String id : pending.keySet()) {
      CompletableFuture<ExecutionResult> f = pending.remove(id);
      if (f != null) {
        f.completeExceptionally(e);
      }
    }
    ended.complete(null);
  }

  private final class Observer implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
    private ClientCallStreamObserver<ExecuteRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
      this.requests = requestStream;
    }

    @Override
    public void onNext(ExecuteResponse response) {
      CompletableFuture<ExecutionResult> f = pending.remove(response.getRequestId());
      if (f == null) {
        return;
      }
      if (response.getStatusCode() != 0) {
        com.google.rpc.Status rich = com.google.rpc.Status.newBuilder()
            .setCode(response.getStatusCode())
            .setMessage(response.getError().getMessage())
            .addDetails(Any.pack(response.getError()))
            .build();
        f.completeExceptionally(Errors.translate(StatusProto.toStatusRuntimeException(rich)));
      } else {
        f.complete(ExecutionResult.fromProto(response));
      }
    }

    @Override
    public void onError(Throwable t) {
      fail(Errors.translate(t));
    }

    @Override
    public void onCompleted() {
      fail(Errors.translate(Status.UNAVAILABLE.withDescription("the daemon ended the execution stream")
          .asRuntimeException()));
    }
  }
}
