package io.vnrt.runtime.models;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.session.FakeTicker;
import io.vnrt.runtime.session.Session;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A runtime, a session and a scheduler on a fake clock, with models built of two test operators:
 * {@code Gate} copies its input once the test opens the gate (and tells the test it was entered),
 * {@code Boom} fails with an IllegalArgumentException, as a kernel bug would.
 */
final class SchedulerFixture implements AutoCloseable {
  /** Longest a test waits for anything; far above what any step takes, so only a hang reaches it. */
  static final Duration BOUND = Duration.ofSeconds(20);

  final VnrtRuntime runtime;
  final Session session;
  final FakeTicker clock = new FakeTicker();
  final CoreGroupScheduler scheduler;
  /** Released once for each run that entered a Gate. */
  final Semaphore entered = new Semaphore(0);
  private volatile CountDownLatch gate = new CountDownLatch(1);
  private final Engine engine;
  private final List<LoadedModel> loaded = new ArrayList<>();
  private int models;

  SchedulerFixture() throws java.io.IOException {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults()
        .withTopology(Topology.of(Profile.TRN1, Optional.empty(), Optional.empty(), Optional.of(64L << 20),
            Optional.empty()))
        .withHostMemoryBytes(1 << 20)
        .withClock(clock, Duration.ofHours(1)));
    session = runtime.sessions().open("scheduler-test", 0);
    scheduler = new CoreGroupScheduler(0, List.of(0), runtime.metrics(), clock);
    OpRegistry ops = Engine.standardRegistry();
    ops.register("Gate", n -> copy(n.inputType(0), () -> {
      entered.release();
      await(gate);
    }));
    ops.register("Boom", n -> copy(n.inputType(0), () -> {
      throw new IllegalArgumentException("index 7 out of bounds for length 3");
    }));
    engine = new Engine(ops);
  }

  /** Lets every Gate run through, now and from now on. */
  void openGate() {
    gate.countDown();
  }

  /** Makes later Gate runs wait again. */
  void closeGate() {
    gate = new CountDownLatch(1);
  }

  /** Waits until a run entered a Gate. */
  void awaitEntered() throws InterruptedException {
    if (!entered.tryAcquire(BOUND.toSeconds(), TimeUnit.SECONDS)) {
      throw new AssertionError("no run entered the gate within " + BOUND);
    }
  }

  /** A model {@code y = op(x)} over float32[N, 2] on the fixture's scheduler. */
  ModelEntry model(String op, Batching batching, int queueDepth) throws Exception {
    byte[] onnx = new ModelBuilder(17).input("x", DType.FLOAT32, "N", 2L).output("y", DType.FLOAT32, "N", 2L)
        .node(op, List.of("x"), List.of("y")).bytes();
    String id = "m-" + op.toLowerCase() + (models++);
    LoadedModel m = engine.load(id, onnx, null, runtime.devices().device(0).pool(), scheduler.group(),
        session.publicId(), "test", 0, id);
    loaded.add(m);
    ModelEntry entry = new ModelEntry(id, id, session, 0, List.of(0), m, Duration.ZERO, WarmupOutcome.NONE, 17,
        batching, queueDepth, scheduler);
    scheduler.add(entry);
    return entry;
  }

  /** An execution of {@code model} on rows {@code [first, first + rows)} of float32 values 0, 1, 2... */
  BoundExecution bind(ModelEntry model, long rows, float first) {
    float[] values = new float[Math.toIntExact(rows * 2)];
    for (int i = 0; i < values.length; i++) {
      values[i] = first + i;
    }
    TensorSource in = new TensorSource.Inline(DType.FLOAT32, new long[] {rows, 2}, MemorySegment.ofArray(values));
    return BoundExecution.bind(session, model, ExecutionRequest.of(model.id(), Map.of("x", in)));
  }

  /** The floats of an inline output. */
  static float[] floats(ExecutionResult.OutputValue v) {
    float[] f = new float[v.data().length / 4];
    MemorySegment.copy(MemorySegment.ofArray(v.data()), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, f, 0,
        f.length);
    return f;
  }

  private static Kernel copy(TensorType t, Runnable before) {
    return new Kernel() {
      @Override
      public TensorType[] outputTypes() {
        return new TensorType[] {t};
      }

      @Override
      public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        before.run();
        MemorySegment.copy(in[0].data(), 0, out[0].data(), 0, in[0].byteSize());
      }
    };
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(BOUND.toSeconds(), TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never opened the gate");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    openGate();
    scheduler.close();
    loaded.forEach(LoadedModel::close);
    runtime.close();
  }
}
