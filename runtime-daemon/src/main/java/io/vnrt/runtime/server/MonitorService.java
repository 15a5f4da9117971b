package io.vnrt.runtime.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.GetMetricsRequest;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.WatchMetricsRequest;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.metrics.MetricsSample;
import io.vnrt.runtime.metrics.RuntimeMetrics;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * vnrt.v1.Monitor: snapshots of core activity, execution statistics, errors and memory. Streams
 * are driven by one scheduler thread; a stream whose client is not ready skips the period.
 */
final class MonitorService extends MonitorGrpc.MonitorImplBase implements AutoCloseable {
  static final long MIN_PERIOD_MS = 100;
  static final long MAX_PERIOD_MS = 3_600_000;
  static final long DEFAULT_PERIOD_MS = 1000;
  /** Open WatchMetrics streams at most, daemon-wide. */
  static final int MAX_STREAMS = 64;

  private final VnrtRuntime runtime;
  private final RuntimeMetrics metrics;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("vnrt-monitor").daemon(true).factory());
  private final AtomicInteger streams = new AtomicInteger();
  private final Set<Watch> watches = ConcurrentHashMap.newKeySet();

  MonitorService(VnrtRuntime runtime) {
    this.runtime = runtime;
    this.metrics = runtime.metrics();
  }

  @Override
  public void getMetrics(GetMetricsRequest request, StreamObserver<MetricsSnapshot> response) {
    Calls.unary(response, () -> MonitorSnapshots.between(null, metrics.sample(), runtime.uptime().toNanos()));
  }

  @Override
  public void watchMetrics(WatchMetricsRequest request, StreamObserver<MetricsSnapshot> response) {
    long periodMs = request.getPeriodMs() == 0 ? DEFAULT_PERIOD_MS : request.getPeriodMs();
    if (periodMs < MIN_PERIOD_MS || periodMs > MAX_PERIOD_MS) {
      response.onError(Statuses.status(Status.Code.INVALID_ARGUMENT, NrtCode.NRT_INVALID,
          "period_ms " + request.getPeriodMs() + " is out of range: expected " + MIN_PERIOD_MS + ".." + MAX_PERIOD_MS
              + " milliseconds, or 0 for " + DEFAULT_PERIOD_MS, Map.of("period_ms",
              Long.toString(request.getPeriodMs()))));
      return;
    }
    if (streams.incrementAndGet() > MAX_STREAMS) {
      streams.decrementAndGet();
      response.onError(Statuses.status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE,
          MAX_STREAMS + " WatchMetrics streams are open already; close one or poll with GetMetrics",
          Map.of("limit", Integer.toString(MAX_STREAMS))));
      return;
    }
    ServerCallStreamObserver<MetricsSnapshot> call = (ServerCallStreamObserver<MetricsSnapshot>) response;
    Watch watch = new Watch(call, metrics.sample());
    // the handler registers before the first tick can run, so a cancellation always stops the task
    call.setOnCancelHandler(watch::stop);
    watches.add(watch);
    // fixed delay, not rate: a late tick must not be followed by catch-up ticks covering almost no time
    watch.task = scheduler.scheduleWithFixedDelay(watch::tick, periodMs, periodMs, TimeUnit.MILLISECONDS);
    if (watch.stopped.get()) {
      watch.cancelTask(); // cancelled before the task existed
    }
  }

  /** One WatchMetrics stream; only the scheduler thread sends on it. */
  private final class Watch {
    private final ServerCallStreamObserver<MetricsSnapshot> call;
    private MetricsSample previous;
    private volatile ScheduledFuture<?> task;
    private final AtomicBoolean stopped = new AtomicBoolean();

    Watch(ServerCallStreamObserver<MetricsSnapshot> call, MetricsSample first) {
      this.call = call;
      this.previous = first;
    }

    void tick() {
      if (call.isCancelled()) {
        stop();
        return;
      }
      if (!call.isReady()) {
        return; // the client is behind: skip, and let the next message cover this period too
      }
      try {
        MetricsSample now = metrics.sample();
        call.onNext(MonitorSnapshots.between(previous, now, now.nanos() - previous.nanos()));
        previous = now;
      } catch (RuntimeException e) {
        stop();
        if (!call.isCancelled()) {
          call.onError(Statuses.toStatus(e));
        }
      }
    }

    void stop() {
      if (stopped.compareAndSet(false, true)) {
        streams.decrementAndGet();
        watches.remove(this);
      }
      cancelTask();
    }

    void cancelTask() {
      ScheduledFuture<?> t = task;
      if (t != null) {
        t.cancel(false);
      }
    }
  }

  /** Ends every stream with UNAVAILABLE (on the scheduler thread, their only sender), then stops it. */
  @Override
  public void close() {
    try {
      scheduler.execute(() -> {
        for (Watch watch : List.copyOf(watches)) {
          watch.stop();
          if (!watch.call.isCancelled()) {
            watch.call.onError(Statuses.status(Status.Code.UNAVAILABLE, NrtCode.NRT_CODE_UNSPECIFIED,
                "the daemon is shutting down", Map.of()));
          }
        }
      });
      scheduler.shutdown();
      scheduler.awaitTermination(1, TimeUnit.SECONDS);
    } catch (RejectedExecutionException alreadyClosed) {
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
  }
}
