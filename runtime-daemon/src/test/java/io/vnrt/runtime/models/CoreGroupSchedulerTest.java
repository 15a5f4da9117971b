package io.vnrt.runtime.models;

import static io.vnrt.runtime.models.SchedulerFixture.BOUND;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The queue of a core group: run-at-once, exclusive runs, depth, deadlines, cancellation, batching. */
class CoreGroupSchedulerTest {
  private SchedulerFixture f;

  @BeforeEach
  void open() throws Exception {
    f = new SchedulerFixture();
  }

  @AfterEach
  void close() {
    f.close();
  }

  private static ExecutionResult result(CompletableFuture<ExecutionResult> future) throws Exception {
    return future.get(BOUND.toSeconds(), TimeUnit.SECONDS);
  }

  private static VnrtRuntimeException failure(CompletableFuture<ExecutionResult> future) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> future.get(BOUND.toSeconds(), TimeUnit.SECONDS));
    return assertInstanceOf(VnrtRuntimeException.class, e.getCause());
  }

  /** A submit on its own thread: one that finds the group idle runs (and blocks) on that thread. */
  private CompletableFuture<CompletableFuture<ExecutionResult>> submitAsync(ModelEntry m, float first) {
    return CompletableFuture.supplyAsync(() -> f.scheduler.submit(m, f.bind(m, 1, first), Long.MAX_VALUE));
  }

  /** Returns once {@code t} is parked waiting for the group (a state, not a timing). */
  private static void awaitWaiting(Thread t) {
    long until = System.nanoTime() + BOUND.toNanos();
    while (t.getState() != Thread.State.WAITING) {
      if (System.nanoTime() > until) {
        throw new AssertionError(t.getName() + " never waited: " + t.getState());
      }
      Thread.onSpinWait();
    }
  }

  @Test
  void aWarmUpArrivingDuringARunAtOnceExecutionStartsWhenItEnds() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 4);
    CompletableFuture<CompletableFuture<ExecutionResult>> submitted = submitAsync(m, 0);
    f.awaitEntered();
    AtomicBoolean warmedUp = new AtomicBoolean();
    CompletableFuture<Void> warmUp = new CompletableFuture<>();
    Thread loader = Thread.ofPlatform().name("warm-up").start(() -> {
      try {
        f.scheduler.runExclusive(() -> warmedUp.set(true));
        warmUp.complete(null);
      } catch (InterruptedException | RuntimeException e) {
        warmUp.completeExceptionally(e);
      }
    });
    awaitWaiting(loader);
    assertFalse(warmedUp.get(), "the exclusive run waits while the execution runs");
    f.openGate();
    assertEquals(1, result(submitted.get(BOUND.toSeconds(), TimeUnit.SECONDS)).timing().batchSize());
    // nothing else is queued: only the end of the run-at-once execution can wake the warm-up
    try {
      warmUp.get(BOUND.toSeconds(), TimeUnit.SECONDS);
    } finally {
      loader.interrupt();
    }
    assertTrue(warmedUp.get());
  }

  @Test
  void executionsQueuedBehindAnExclusiveRunStartWhenItEnds() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 4);
    f.openGate();
    CompletableFuture<ExecutionResult>[] queued = new CompletableFuture[1];
    f.scheduler.runExclusive(() -> queued[0] = f.scheduler.submit(m, f.bind(m, 1, 5), Long.MAX_VALUE));
    assertArrayEquals(new float[] {5, 6}, SchedulerFixture.floats(result(queued[0]).outputs().getFirst()));
  }

  @Test
  void aFullQueueRefusesWithQueueFullAndKeepsWhatItHolds() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 2);
    f.openGate();
    List<CompletableFuture<ExecutionResult>> accepted = new ArrayList<>();
    try (AutoCloseable hold = f.scheduler.hold()) {
      accepted.add(f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE));
      accepted.add(f.scheduler.submit(m, f.bind(m, 1, 2), Long.MAX_VALUE));
      VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
          () -> f.scheduler.submit(m, f.bind(m, 1, 4), Long.MAX_VALUE));
      assertEquals(Kind.QUEUE_FULL, e.kind());
      assertEquals("2", e.context().get("queue_depth"));
      assertEquals(2, f.scheduler.queued());
    }
    for (CompletableFuture<ExecutionResult> a : accepted) {
      assertEquals(1, result(a).outputs().size());
    }
  }

  @Test
  void anExecutionWhoseDeadlinePassesInTheQueueNeverStarts() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 4);
    f.openGate();
    CompletableFuture<ExecutionResult> late;
    try (AutoCloseable hold = f.scheduler.hold()) {
      late = f.scheduler.submit(m, f.bind(m, 1, 0), f.clock.nanos() + Duration.ofMillis(5).toNanos());
      f.clock.advance(Duration.ofMillis(6));
    }
    VnrtRuntimeException e = failure(late);
    assertEquals(Kind.DEADLINE_EXCEEDED, e.kind());
    assertTrue(e.getMessage().contains("6 ms in the queue"), e.getMessage());
    assertEquals(0, f.entered.availablePermits(), "the kernel never ran");
  }

  @Test
  void cancellingAQueuedExecutionRemovesIt() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 1);
    f.openGate();
    try (AutoCloseable hold = f.scheduler.hold()) {
      CompletableFuture<ExecutionResult> cancelled = f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE);
      assertTrue(cancelled.cancel(false));
      assertEquals(0, f.scheduler.queued());
      // its place in the queue (depth 1) is free again
      CompletableFuture<ExecutionResult> next = f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE);
      hold.close();
      result(next);
    }
    assertEquals(1, f.entered.availablePermits(), "only the second execution ran");
  }

  @Test
  void unloadingAModelFailsItsQueuedExecutionsWithNotFound() throws Exception {
    ModelEntry m = f.model("Gate", Batching.NONE, 4);
    CompletableFuture<ExecutionResult> queued;
    try (AutoCloseable hold = f.scheduler.hold()) {
      queued = f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE);
      f.scheduler.remove(m);
    }
    assertEquals(Kind.NOT_FOUND, failure(queued).kind());
    assertEquals(Kind.NOT_FOUND, assertThrows(VnrtRuntimeException.class,
        () -> f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE)).kind());
  }

  @Test
  void aKernelFailureIsTheDaemonsFaultNotTheClients() throws Exception {
    ModelEntry m = f.model("Boom", Batching.NONE, 4);
    CompletableFuture<ExecutionResult> run = f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE);
    ExecutionException e = assertThrows(ExecutionException.class, () -> result(run));
    assertFalse(e.getCause() instanceof VnrtRuntimeException v && v.kind() == Kind.EXEC_BAD_INPUT,
        "a kernel's IllegalArgumentException is a bug in the daemon, not bad input: " + e.getCause());
    io.grpc.Status status = io.vnrt.runtime.server.Statuses.toStatus(e.getCause()).getStatus();
    assertEquals(io.grpc.Status.Code.INTERNAL, status.getCode());
    assertFalse(status.getDescription().contains("Exception") || status.getDescription().contains("out of bounds"),
        "the client sees no Java text: " + status.getDescription());
    assertEquals(1, m.failures());
    // the group is free again
    ModelEntry g = f.model("Gate", Batching.NONE, 4);
    f.openGate();
    result(f.scheduler.submit(g, f.bind(g, 1, 0), Long.MAX_VALUE));
  }

  @Test
  void compatibleRequestsAreMergedUpToTheBatchSizeAndSplitBack() throws Exception {
    ModelEntry m = f.model("Gate", new Batching(4, Duration.ofSeconds(1)), 8);
    f.openGate();
    List<CompletableFuture<ExecutionResult>> runs = new ArrayList<>();
    try (AutoCloseable hold = f.scheduler.hold()) {
      runs.add(f.scheduler.submit(m, f.bind(m, 1, 0), Long.MAX_VALUE));
      runs.add(f.scheduler.submit(m, f.bind(m, 3, 10), Long.MAX_VALUE));
      runs.add(f.scheduler.submit(m, f.bind(m, 2, 100), Long.MAX_VALUE));
    }
    // 1 + 3 rows fill the batch of 4 at once, without waiting for the delay
    assertEquals(2, result(runs.get(0)).timing().batchSize());
    ExecutionResult second = result(runs.get(1));
    assertEquals(2, second.timing().batchSize());
    assertArrayEquals(new long[] {3, 2}, second.outputs().getFirst().shape());
    assertArrayEquals(new float[] {10, 11, 12, 13, 14, 15}, SchedulerFixture.floats(second.outputs().getFirst()));
    // the third waits for the delay, which only the clock ends
    assertThrows(TimeoutException.class, () -> runs.get(2).get(50, TimeUnit.MILLISECONDS));
    f.clock.advance(Duration.ofSeconds(1));
    f.scheduler.clockMoved();
    ExecutionResult third = result(runs.get(2));
    assertEquals(1, third.timing().batchSize());
    assertArrayEquals(new float[] {100, 101, 102, 103}, SchedulerFixture.floats(third.outputs().getFirst()));
    assertEquals(2, f.entered.availablePermits(), "one merged run and one single run");
  }
}
