package io.vnrt.runtime.server;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.ErrorDetail;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.models.ExecutionRequest;
import io.vnrt.runtime.models.ExecutionResult;
import io.vnrt.runtime.models.ModelRegistry;
import io.vnrt.runtime.session.Session;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Execution service over the runtime's {@link ModelRegistry}. Unary executions honour the
 * call's deadline and are removed from the queue when the client goes away; a stream keeps at most
 * {@link #MAX_IN_FLIGHT} executions in flight and reads further requests only as the client takes
 * the responses.
 */
final class ExecutionService extends ExecutionGrpc.ExecutionImplBase {
  /** Executions one ExecuteStream may have running or queued at once. */
  static final int MAX_IN_FLIGHT = 64;

  private final ModelRegistry models;

  ExecutionService(ModelRegistry models) {
    this.models = models;
  }

  private static long deadlineNanos() {
    Deadline d = Context.current().getDeadline();
    return d == null ? ExecutionRequest.NO_DEADLINE : System.nanoTime() + d.timeRemaining(TimeUnit.NANOSECONDS);
  }

  private static Throwable unwrap(Throwable e) {
    if (e instanceof CompletionException && e.getCause() != null) {
      return e.getCause();
    }
    if (e instanceof CancellationException) {
      return VnrtRuntimeException.of(VnrtRuntimeException.Kind.CANCELLED, "the execution was cancelled");
    }
    return e;
  }

  @Override
  public void execute(ExecuteRequest request, StreamObserver<ExecuteResponse> response) {
    ServerCallStreamObserver<ExecuteResponse> call = (ServerCallStreamObserver<ExecuteResponse>) response;
    CompletableFuture<ExecutionResult> future;
    try {
      future = models.submit(SessionInterceptor.current(), ModelMessages.request(request, deadlineNanos()));
    } catch (RuntimeException e) {
      response.onError(Statuses.toStatus(e));
      return;
    }
    call.setOnCancelHandler(() -> future.cancel(false));
    future.whenComplete((result, failure) -> {
      if (call.isCancelled()) {
        return;
      }
      if (failure != null) {
        call.onError(Statuses.toStatus(unwrap(failure)));
      } else {
        call.onNext(ModelMessages.response(request.getRequestId(), result));
        call.onCompleted();
      }
    });
  }

  @Override
  public StreamObserver<ExecuteRequest> executeStream(StreamObserver<ExecuteResponse> response) {
    ServerCallStreamObserver<ExecuteResponse> call = (ServerCallStreamObserver<ExecuteResponse>) response;
    ExecutionStream stream = new ExecutionStream(SessionInterceptor.current(), call);
    call.setOnCancelHandler(stream::cancelAll);
    return stream;
  }

  /**
   * One ExecuteStream. A request is read only when an execution slot is free and the transport
   * can take more responses, so a client that sends fast or reads slowly makes the daemon hold
   * at most {@link #MAX_IN_FLIGHT} executions and their responses.
   */
  private final class ExecutionStream implements StreamObserver<ExecuteRequest> {
    private final Session session;
    private final ServerCallStreamObserver<ExecuteResponse> call;
    private final Map<String, CompletableFuture<ExecutionResult>> inFlight = new ConcurrentHashMap<>();
    /** Serialises writes to the call (responses come from several threads) and guards the fields below. */
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Reads ahead at most {@link #MAX_IN_FLIGHT} requests; guarded by {@link #writeLock}. */
    private final StreamCredit credit;
    private boolean halfClosed;
    private boolean finished;

    ExecutionStream(Session session, ServerCallStreamObserver<ExecuteResponse> call) {
      this.session = session;
      this.call = call;
      this.credit = new StreamCredit(call, MAX_IN_FLIGHT, this::onReady);
    }

    @Override
    public void onNext(ExecuteRequest request) {
      String id = request.getRequestId();
      if (id.isEmpty()) {
        answer(id, VnrtRuntimeException.invalid("request_id is required on ExecuteStream, to match the response"));
        return;
      }
      CompletableFuture<ExecutionResult> placeholder = new CompletableFuture<>();
      if (inFlight.putIfAbsent(id, placeholder) != null) {
        answer(id, VnrtRuntimeException.invalid("request_id '" + id + "' is already in flight on this "
            + "stream; ids must be unique among executions in flight", "request_id", id));
        return;
      }
      CompletableFuture<ExecutionResult> future;
      try {
        future = models.submit(session, ModelMessages.request(request, deadlineNanos()));
      } catch (RuntimeException e) {
        inFlight.remove(id, placeholder);
        answer(id, e);
        return;
      }
      inFlight.replace(id, placeholder, future);
      future.whenComplete((result, failure) -> {
        inFlight.remove(id, future);
        if (failure != null) {
          answer(id, unwrap(failure));
        } else {
          write(ModelMessages.response(id, result));
        }
      });
    }

    /** A failure answered on the stream, which stays open; frees the request's slot. */
    private void answer(String id, Throwable failure) {
      write(failureResponse(id, failure));
    }

    private ExecuteResponse failureResponse(String id, Throwable failure) {
      StatusRuntimeException s = Statuses.toStatus(failure);
      ExecuteResponse.Builder b = ExecuteResponse.newBuilder().setRequestId(id)
          .setStatusCode(s.getStatus().getCode().value());
      com.google.rpc.Status detail = StatusProto.fromThrowable(s);
      ErrorDetail error = null;
      if (detail != null) {
        for (com.google.protobuf.Any any : detail.getDetailsList()) {
          if (any.is(ErrorDetail.class)) {
            try {
              error = any.unpack(ErrorDetail.class);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
              throw new IllegalStateException(e);
            }
          }
        }
      }
      b.setError(error != null ? error : ErrorDetail.newBuilder().setCode(NrtCode.NRT_FAILURE)
          .setMessage(String.valueOf(s.getStatus().getDescription())).build());
      return b.build();
    }

    /** Sends a response, freeing its request's slot: the next request is read when the transport is ready. */
    private void write(ExecuteResponse r) {
      writeLock.lock();
      try {
        if (finished || call.isCancelled()) {
          return;
        }
        call.onNext(r);
        credit.answered();
        maybeFinish();
      } finally {
        writeLock.unlock();
      }
    }

    void onReady() {
      writeLock.lock();
      try {
        if (!finished) {
          credit.ready();
        }
      } finally {
        writeLock.unlock();
      }
    }

    private void maybeFinish() {
      if (halfClosed && inFlight.isEmpty() && !finished) {
        finished = true;
        call.onCompleted();
      }
    }

    void cancelAll() {
      inFlight.values().forEach(f -> f.cancel(false));
    }

    @Override
    public void onError(Throwable t) {
      cancelAll();
    }

    @Override
    public void onCompleted() {
      writeLock.lock();
      try {
        halfClosed = true;
        maybeFinish();
      } finally {
        writeLock.unlock();
      }
    }
  }
}
