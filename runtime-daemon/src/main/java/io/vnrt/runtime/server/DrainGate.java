package io.vnrt.runtime.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.RuntimeGrpc;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * Counts the calls in progress and, once draining, refuses new work with UNAVAILABLE so that
 * clients retry elsewhere, while calls already running finish. Health, reflection and the calls
 * that only end or renew a session stay open: a draining daemon still answers probes and lets
 * clients close their sessions.
 */
final class DrainGate implements ServerInterceptor {
  private static final Set<String> OPEN_SERVICES = Set.of("grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");
  private static final Set<String> OPEN_METHODS = Set.of(
      RuntimeGrpc.getCloseSessionMethod().getFullMethodName(), RuntimeGrpc.getKeepAliveMethod().getFullMethodName());

  /** Guards {@link #inFlight}; held only to count, never across a call. */
  private final Object lock = new Object();
  private volatile boolean draining;
  private int inFlight;

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    if (OPEN_SERVICES.contains(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    if (draining && !OPEN_METHODS.contains(call.getMethodDescriptor().getFullMethodName())) {
      StatusRuntimeException status = Statuses.status(Status.Code.UNAVAILABLE, NrtCode.NRT_CODE_UNSPECIFIED,
          "the daemon is draining before it shuts down and takes no new work; retry on another daemon",
          Map.of("rpc", call.getMethodDescriptor().getFullMethodName()));
      call.close(status.getStatus(), status.getTrailers() == null ? new Metadata() : status.getTrailers());
      return new ServerCall.Listener<>() {
      };
    }
    synchronized (lock) {
      inFlight++;
    }
    ServerCall.Listener<Q> delegate;
    try {
      delegate = next.startCall(call, headers);
    } catch (RuntimeException e) {
      finished();
      throw e;
    }
    return CallEnd.runOnce(delegate, this::finished);
  }

  /** Counts a call of another transport (REST) as in progress; false, counting nothing, once draining. */
  boolean tryEnter() {
    synchronized (lock) {
      if (draining) {
        return false;
      }
      inFlight++;
      return true;
    }
  }

  /** Ends a call {@link #tryEnter()} counted. */
  void exit() {
    finished();
  }

  private void finished() {
    synchronized (lock) {
      inFlight--;
      if (inFlight == 0) {
        lock.notifyAll();
      }
    }
  }

  /** From now on new work is refused. */
  void startDraining() {
    draining = true;
  }

  /** True once draining started. */
  boolean isDraining() {
    return draining;
  }

  /** Calls in progress (not counting health and reflection). */
  int inFlight() {
    synchronized (lock) {
      return inFlight;
    }
  }

  /** Waits up to {@code timeout} for the calls in progress to end; true if they all did. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        lock.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }
}
