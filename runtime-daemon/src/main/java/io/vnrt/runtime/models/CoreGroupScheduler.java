package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException.Kind;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.exec.InputMismatchException;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.metrics.ExecutionOutcome;
import io.vnrt.runtime.metrics.RuntimeMetrics;
import io.vnrt.runtime.session.Ticker;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue of one core group: its cores run one invocation at a time, and the models loaded on
 * the group take turns in arrival order. Each model may have at most its queue depth of
 * executions waiting (a further one is refused with QUEUE_FULL, never left to wait). A request
 * that finds the group idle runs at once on the caller's thread; otherwise a dispatcher thread
 * runs it. Requests whose deadline passed, or that were cancelled, while queued never start.
 * Models with dynamic batching have compatible waiting requests merged along dimension 0.
 */
public final class CoreGroupScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoreGroupScheduler.class);

  private final int deviceId;
  private final List<Integer> cores;
  private final CoreGroup group;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Job> queue = new ArrayDeque<>();
  private final Map<ModelEntry, Integer> queuedPerModel = new HashMap<>();
  private final Set<ModelEntry> models = ConcurrentHashMap.newKeySet();
  private final Thread dispatcher;
  /** Models loaded or loading on the group; guarded by the registry. */
  int users;
  private boolean running;
  private int holds;
  private boolean closed;
  private final RuntimeMetrics metrics;
  private final Ticker clock;

  CoreGroupScheduler(int deviceId, List<Integer> cores, RuntimeMetrics metrics) {
    this(deviceId, cores, metrics, Ticker.SYSTEM);
  }

  /** A scheduler whose deadlines and batching delays are read from {@code clock}. */
  CoreGroupScheduler(int deviceId, List<Integer> cores, RuntimeMetrics metrics, Ticker clock) {
    this.deviceId = deviceId;
    this.clock = clock;
    this.metrics = metrics;
    this.cores = List.copyOf(cores);
    String name = "vnrt-d" + deviceId + "-nc" + cores.getFirst() + (cores.size() > 1 ? "-" + cores.getLast() : "");
    this.group = new CoreGroup(name, cores.size());
    this.dispatcher = Thread.ofPlatform().daemon().name(name + "-dispatch").start(this::dispatchLoop);
  }

  /** Device of the group. */
  public int deviceId() {
    return deviceId;
  }

  /** Global core ids of the group. */
  public List<Integer> cores() {
    return cores;
  }

  CoreGroup group() {
    return group;
  }

  boolean hosts(ModelEntry m) {
    return models.contains(m);
  }

  void add(ModelEntry m) {
    models.add(m);
  }

  /** Removes a model, failing its queued executions. */
  void remove(ModelEntry m) {
    List<Job> dropped = new ArrayList<>();
    lock.lock();
    try {
      models.remove(m);
      for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
        Job j = it.next();
        if (j.model == m) {
          it.remove();
          dropped.add(j);
        }
      }
      queuedPerModel.remove(m);
    } finally {
      lock.unlock();
      for (Job j : dropped) {
        j.fail(VnrtRuntimeException.notFound("model '" + m.name() + "' was unloaded before this execution started",
            "model", m.name()));
      }
    }
  }

  /** Executions waiting. */
  public int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Keeps the group from starting anything until the returned hold is closed (executions queue
   * meanwhile, up to their depth). For maintenance, and for tests of queueing and deadlines.
   */
  public AutoCloseable hold() {
    lock.lock();
    try {
      holds++;
    } finally {
      lock.unlock();
    }
    return new AutoCloseable() {
      private boolean released;

      @Override
      public void close() {
        lock.lock();
        try {
          if (!released) {
            released = true;
            holds--;
            changed.signalAll();
          }
        } finally {
          lock.unlock();
        }
      }
    };
  }

  /**
   * Runs {@code work} on the calling thread with the group to itself: waits for the running
   * execution to finish, keeps queued ones waiting meanwhile (a model's warm-up at load).
   */
  void runExclusive(Runnable work) throws InterruptedException {
    lock.lock();
    try {
      while (running) {
        changed.await();
      }
      if (closed) {
        throw new IllegalStateException("core group " + cores + " is closed");
      }
      running = true;
    } finally {
      lock.unlock();
    }
    try {
      work.run();
    } finally {
      endRun();
    }
  }

  /** Queues (or runs at once) an execution already bound; the future's cancel() removes it if not started. */
  CompletableFuture<ExecutionResult> submit(ModelEntry model, BoundExecution bound, long deadlineNanos) {
    Job job = new Job(model, bound, deadlineNanos, clock.nanos());
    boolean runNow = false;
    lock.lock();
    try {
      if (closed || !models.contains(model)) {
        bound.close();
        throw VnrtRuntimeException.notFound("model '" + model.name() + "' is no longer loaded", "model",
            model.name());
      }
      // with no delay to wait out, a batch of one is all an idle group could run anyway
      if (!running && holds == 0 && queue.isEmpty()
          && (!model.batching().enabled() || model.batching().maxQueueDelay().isZero())) {
        running = true;
        runNow = true;
      } else {
        int waiting = queuedPerModel.getOrDefault(model, 0);
        if (waiting >= model.queueDepth()) {
          purgeDead();
          waiting = queuedPerModel.getOrDefault(model, 0);
        }
        if (waiting >= model.queueDepth()) {
          bound.close();
          metrics.executionCompleted(model.id(), ExecutionOutcome.REJECTED, 0, 0);
          throw VnrtRuntimeException.of(Kind.QUEUE_FULL, "the queue of core group " + cores + " already holds "
              + waiting + " executions of model '" + model.name() + "', its queue depth; retry later or load the "
              + "model with a larger queue_depth", "model", model.name(), "queue_depth", model.queueDepth(),
              "cores", cores);
        }
        queue.addLast(job);
        queuedPerModel.merge(model, 1, Integer::sum);
        changed.signalAll();
      }
    } finally {
      lock.unlock();
    }
    job.future.whenComplete((r, e) -> {
      if (job.future.isCancelled()) {
        cancel(job);
      }
      report(job, r, e);
    });
    if (runNow) {
      try {
        runBatch(List.of(job));
      } finally {
        endRun();
      }
    }
    return job.future;
  }

  /** Tells the metrics how a queued or started job ended. */
  private void report(Job job, ExecutionResult result, Throwable failure) {
    if (result == null) {
      job.model.stats().failed(clock.nanos() - job.enqueuedNanos);
    }
    if (result != null) {
      metrics.executionCompleted(job.model.id(), ExecutionOutcome.OK,
          TimeUnit.MICROSECONDS.toNanos(result.timing().queueMicros()),
          TimeUnit.MICROSECONDS.toNanos(result.timing().computeMicros()));
      return;
    }
    ExecutionOutcome outcome = failure instanceof CancellationException ? ExecutionOutcome.CANCELLED
        : failure instanceof VnrtRuntimeException v ? switch (v.kind()) {
          case DEADLINE_EXCEEDED -> ExecutionOutcome.CANCELLED;
          case NOT_FOUND, UNAVAILABLE, QUEUE_FULL -> ExecutionOutcome.REJECTED;
          default -> ExecutionOutcome.FAILED;
        } : ExecutionOutcome.FAILED;
    metrics.executionCompleted(job.model.id(), outcome, 0, 0);
  }

  private void cancel(Job job) {
    lock.lock();
    try {
      if (queue.remove(job)) {
        queuedPerModel.merge(job.model, -1, Integer::sum);
      }
    } finally {
      lock.unlock();
    }
    job.bound.close();
  }

  /** Drops cancelled and expired jobs from the queue (lock held). */
  private void purgeDead() {
    long now = clock.nanos();
    for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
      Job j = it.next();
      if (j.future.isDone() || now - j.deadlineNanos >= 0) {
        it.remove();
        queuedPerModel.merge(j.model, -1, Integer::sum);
        j.expire(now);
      }
    }
  }

  private void dispatchLoop() {
    List<Job> batch = new ArrayList<>();
    while (true) {
      lock.lock();
      try {
        batch.clear();
        if (!next(batch)) {
          return;
        }
        running = true;
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      try {
        runBatch(batch);
      } catch (RuntimeException | Error e) {
        log.error("core group {} failed a run", cores, e);
      } finally {
        endRun();
      }
    }
  }

  /** Waits for the next runnable batch (lock held); false once closed. */
  private boolean next(List<Job> batch) throws InterruptedException {
    while (true) {
      if (closed) {
        return false;
      }
      if (running || holds > 0 || queue.isEmpty()) {
        changed.await();
        continue;
      }
      purgeDead();
      Job head = queue.peekFirst();
      if (head == null) {
        continue;
      }
      Batching b = head.model.batching();
      if (!b.enabled() || !head.batchable()) {
        take(head, batch);
        return true;
      }
      List<Job> mates = new ArrayList<>();
      long rows = 0;
      for (Job j : queue) {
        if (j.model == head.model && j.compatibleWith(head) && rows + j.rows() <= b.maxBatchSize()) {
          mates.add(j);
          rows += j.rows();
        }
      }
      int ready = rows >= b.maxBatchSize() ? mates.size() : preferredPrefix(mates, b.preferredBatchSizes());
      long waitNanos = head.enqueuedNanos + b.maxQueueDelay().toNanos() - clock.nanos();
      if (ready == 0 && waitNanos > 0) {
        changed.awaitNanos(waitNanos);
        continue;
      }
      for (Job j : mates.subList(0, ready == 0 ? mates.size() : ready)) {
        take(j, batch);
      }
      return true;
    }
  }

  /** How many leading jobs add up to the largest preferred batch size they can form exactly (0: none). */
  private static int preferredPrefix(List<Job> jobs, List<Integer> preferred) {
    int best = 0;
    long rows = 0;
    for (int i = 0; i < jobs.size(); i++) {
      rows += jobs.get(i).rows();
      if (preferred.contains((int) Math.min(Integer.MAX_VALUE, rows))) {
        best = i + 1;
      }
    }
    return best;
  }

  private void take(Job j, List<Job> batch) {
    queue.remove(j);
    queuedPerModel.merge(j.model, -1, Integer::sum);
    batch.add(j);
  }

  /** Runs jobs of one model as one invocation (merged along dim 0 when more than one). */
  private void runBatch(List<Job> jobs) {
    long start = clock.nanos();
    List<Job> live = new ArrayList<>();
    for (Job j : jobs) {
      if (j.future.isDone()) {
        j.bound.close();
      } else if (start - j.deadlineNanos >= 0) {
        j.expire(start);
      } else {
        live.add(j);
      }
    }
    if (live.isEmpty()) {
      return;
    }
    ModelEntry model = live.getFirst().model;
    // counted before any caller is answered: a client that reads the model's counts after its
    // response finds its execution there (counted after, the last of 200 was missing now and then)
    model.countExecutions(live.size());
    try {
      if (live.size() == 1) {
        runSingle(live.getFirst(), start);
      } else {
        runMerged(model, live, start);
      }
    } catch (RuntimeException e) {
      model.countFailures(live.size());
      RuntimeException failure = explain(model, e);
      for (Job j : live) {
        j.fail(failure);
      }
    } finally {
      metrics.coreGroupRan(cores, clock.nanos() - start);
      for (Job j : live) {
        j.bound.close();
      }
    }
  }

  /**
   * What the client is told of a failed run: inputs the model cannot take are its fault
   * (EXEC_BAD_INPUT), memory the device lacks is RESOURCE_EXHAUSTED with the allocator's facts,
   * and anything else is the daemon's (passed on as it is, to be answered INTERNAL and logged).
   */
  static RuntimeException explain(ModelEntry model, RuntimeException e) {
    return switch (e) {
      case InputMismatchException m -> VnrtRuntimeException.of(Kind.EXEC_BAD_INPUT, "model '" + model.name() + "': "
          + m.getMessage(), "model", model.name());
      case DeviceMemoryExhaustedException x -> {
        Map<String, String> facts = new LinkedHashMap<>(x.facts());
        facts.put("model", model.name());
        yield VnrtRuntimeException.exhausted("model '" + model.name() + "' needs more memory for these input shapes "
            + "than is free: " + x.getMessage(), facts, x);
      }
      case OpException o -> VnrtRuntimeException.of(Kind.EXEC_BAD_INPUT, "model '" + model.name() + "' cannot run on "
          + "these inputs: " + o.getMessage(), "model", model.name());
      default -> e;
    };
  }

  private static long micros(long nanos) {
    return TimeUnit.NANOSECONDS.toMicros(Math.max(0, nanos));
  }

  private void runSingle(Job job, long start) {
    List<ExecutionResult.OutputValue> out = new ArrayList<>();
    Map<String, BoundExecution.Destination> wanted = new LinkedHashMap<>();
    for (BoundExecution.Destination d : job.bound.destinations()) {
      wanted.put(d.name(), d);
    }
    ExecutionResult.OutputValue[] ordered = new ExecutionResult.OutputValue[wanted.size()];
    List<String> names = new ArrayList<>(wanted.keySet());
    long[] outputNanos = {0};
    long modelStart = clock.nanos();
    job.model.model().execute(job.bound.inputs(), (name, value) -> {
      BoundExecution.Destination d = wanted.get(name);
      if (d != null) {
        long t0 = clock.nanos();
        ordered[names.indexOf(name)] = BoundExecution.deliver(d, value.dtype(), value.shape(), value.data());
        outputNanos[0] += clock.nanos() - t0;
      }
    });
    long end = clock.nanos();
    out.addAll(Arrays.asList(ordered));
    ExecutionSplit split = new ExecutionSplit(modelStart - start, end - modelStart - outputNanos[0], outputNanos[0]);
    job.model.stats().executed(job.statRows(), split.input(), split.infer(), split.output());
    complete(job, out, start, end, 1, split);
  }

  /** Where the time of one model execution went: preparing inputs, running the model, delivering outputs. */
  private record ExecutionSplit(long input, long infer, long output) {
  }

  /** Answers a job that ran and counts it in its model's statistics (unless it was cancelled meanwhile). */
  private static void complete(Job job, List<ExecutionResult.OutputValue> outputs, long start, long end, int batch,
      ExecutionSplit split) {
    ExecutionResult result = new ExecutionResult(outputs, new ExecutionResult.Timing(micros(start - job.enqueuedNanos),
        micros(end - start), batch));
    if (job.future.complete(result)) {
      job.model.stats().succeeded(job.statRows(), end - job.enqueuedNanos, start - job.enqueuedNanos, split.input(),
          split.infer(), split.output());
    }
  }

  private void runMerged(ModelEntry model, List<Job> jobs, long start) {
    long[] outputNanos = {0};
    long rows = 0;
    for (Job j : jobs) {
      rows += j.rows();
    }
    Map<String, Tensor> merged = new LinkedHashMap<>();
    for (String name : jobs.getFirst().bound.inputs().keySet()) {
      Tensor first = jobs.getFirst().bound.inputs().get(name);
      long[] shape = first.shape().clone();
      shape[0] = rows;
      Tensor t = Tensor.allocate(first.dtype(), shape);
      long offset = 0;
      for (Job j : jobs) {
        Tensor part = j.bound.inputs().get(name);
        MemorySegment.copy(part.data(), 0, t.data(), offset, part.byteSize());
        offset += part.byteSize();
      }
      merged.put(name, t);
    }
    int n = jobs.size();
    @SuppressWarnings("unchecked")
    List<ExecutionResult.OutputValue>[] outs = new List[n];
    for (int i = 0; i < n; i++) {
      outs[i] = new ArrayList<>();
    }
    RuntimeException[] perJob = new RuntimeException[n];
    long totalRows = rows;
    long modelStart = clock.nanos();
    model.model().execute(merged, (name, value) -> {
      long t0 = clock.nanos();
      if (value.rank() == 0 || value.dim(0) != totalRows) {
        throw new IllegalStateException("batched output '" + name + "' has shape " + Arrays.toString(value.shape())
            + ", not " + totalRows + " rows; load the model without batching");
      }
      long rowBytes = value.byteSize() / totalRows;
      long offset = 0;
      for (int i = 0; i < n; i++) {
        Job j = jobs.get(i);
        long jobRows = j.rows();
        for (BoundExecution.Destination d : j.bound.destinations()) {
          if (d.name().equals(name) && perJob[i] == null) {
            long[] shape = value.shape().clone();
            shape[0] = jobRows;
            try {
              outs[i].add(BoundExecution.deliver(d, value.dtype(), shape,
                  value.data().asSlice(offset, rowBytes * jobRows)));
            } catch (RuntimeException e) {
              perJob[i] = e;
            }
          }
        }
        offset += rowBytes * jobRows;
      }
      outputNanos[0] += clock.nanos() - t0;
    });
    long end = clock.nanos();
    ExecutionSplit split = new ExecutionSplit(modelStart - start, end - modelStart - outputNanos[0], outputNanos[0]);
    model.stats().executed(totalRows, split.input(), split.infer(), split.output());
    for (int i = 0; i < n; i++) {
      Job j = jobs.get(i);
      if (perJob[i] != null) {
        j.fail(perJob[i]);
        continue;
      }
      List<ExecutionResult.OutputValue> ordered = new ArrayList<>();
      for (BoundExecution.Destination d : j.bound.destinations()) {
        outs[i].stream().filter(o -> o.name().equals(d.name())).findFirst().ifPresent(ordered::add);
      }
      complete(j, ordered, start, end, n, split);
    }
  }

  /** Stops the dispatcher and the group's threads, failing anything still queued. */
  @Override
  public void close() {
    List<Job> dropped;
    lock.lock();
    try {
      closed = true;
      dropped = new ArrayList<>(queue);
      queue.clear();
      queuedPerModel.clear();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Job j : dropped) {
      j.fail(VnrtRuntimeException.unavailable("core group " + cores + " was shut down"));
    }
    group.close();
  }

  /** One queued execution. */
  private static final class Job {
    final ModelEntry model;
    final BoundExecution bound;
    final long deadlineNanos;
    final long enqueuedNanos;
    final CompletableFuture<ExecutionResult> future = new CompletableFuture<>();

    Job(ModelEntry model, BoundExecution bound, long deadlineNanos, long enqueuedNanos) {
      this.model = model;
      this.bound = bound;
      this.deadlineNanos = deadlineNanos;
      this.enqueuedNanos = enqueuedNanos;
    }

    long rows() {
      return bound.rows();
    }

    /** The rows statistics count: dimension 0 of the first input, 1 without one. */
    long statRows() {
      return batchable() ? rows() : 1;
    }

    /** True when every input has a dimension 0 to merge along. */
    boolean batchable() {
      return !bound.inputs().isEmpty() && bound.inputs().values().stream().allMatch(t -> t.rank() > 0);
    }

    /** Same input dtypes and shapes except dimension 0. */
    boolean compatibleWith(Job other) {
      if (!batchable() || !other.batchable()) {
        return false;
      }
      for (Map.Entry<String, Tensor> e : bound.inputs().entrySet()) {
        Tensor a = e.getValue();
        Tensor b = other.bound.inputs().get(e.getKey());
        if (b == null || a.dtype() != b.dtype() || a.rank() != b.rank()) {
          return false;
        }
        for (int d = 1; d < a.rank(); d++) {
          if (a.dim(d) != b.dim(d)) {
            return false;
          }
        }
      }
      return true;
    }

    void expire(long now) {
      fail(VnrtRuntimeException.of(Kind.DEADLINE_EXCEEDED, "the deadline passed after "
          + TimeUnit.NANOSECONDS.toMillis(now - enqueuedNanos) + " ms in the queue of model '" + model.name()
          + "'; the execution was not started", "model", model.name()));
    }

    void fail(Throwable t) {
      future.completeExceptionally(t);
      bound.close();
    }
  }

  /**
   * Wakes the dispatcher to look at the clock again: a batch's delay is waited for on the system
   * clock, so a clock that jumps (a test's) says so here.
   */
  void clockMoved() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The group is free again: wakes the dispatcher and any exclusive run waiting for it. Every path
   * that set {@code running} ends here, so neither can miss the end of a run.
   */
  private void endRun() {
    lock.lock();
    try {
      running = false;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
