package io.vnrt.runtime.models;

import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.session.Session;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A model loaded for a session on a core group: what clients see of it (ids, placement, inputs and
 * outputs with symbolic dims, HBM held, load time) and what the scheduler runs.
 */
public final class ModelEntry {
  private final String id;
  private final String name;
  private final Session owner;
  private final int deviceId;
  private final List<Integer> cores;
  private final LoadedModel model;
  private final Duration loadTime;
  private final WarmupOutcome warmup;
  private final int opset;
  private final Batching batching;
  private final int queueDepth;
  private final CoreGroupScheduler scheduler;
  private final AtomicLong executions = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final InferenceStats stats = new InferenceStats();
  /** Set once the load asked for it: KServe clients may then find and run the model by name. */
  private volatile boolean shared;

  ModelEntry(String id, String name, Session owner, int deviceId, List<Integer> cores, LoadedModel model,
      Duration loadTime, WarmupOutcome warmup, int opset, Batching batching, int queueDepth,
      CoreGroupScheduler scheduler) {
    this.warmup = warmup;
    this.id = id;
    this.name = name;
    this.owner = owner;
    this.deviceId = deviceId;
    this.cores = List.copyOf(cores);
    this.model = model;
    this.loadTime = loadTime;
    this.opset = opset;
    this.batching = batching;
    this.queueDepth = queueDepth;
    this.scheduler = scheduler;
  }

  /** Opaque id ("m-" and 32 hex digits), valid only in the owning session. */
  public String id() {
    return id;
  }

  /** The model's name, unique among its session's models. */
  public String name() {
    return name;
  }

  /** The session that loaded it; its end unloads the model. */
  public Session owner() {
    return owner;
  }

  /** Device it is loaded on. */
  public int deviceId() {
    return deviceId;
  }

  /** Global core ids of its core group, ascending. */
  public List<Integer> cores() {
    return cores;
  }

  /** Graph inputs, with symbolic dims named. */
  public List<ValueInfo> inputs() {
    return model.inputs();
  }

  /** Graph outputs, with symbolic dims named. */
  public List<ValueInfo> outputs() {
    return model.outputs();
  }

  /** HBM bytes of weights. */
  public long weightsBytes() {
    return model.weightsBytes();
  }

  /** HBM bytes of scratch (grows when a larger input-shape signature is first run). */
  public long scratchBytes() {
    return model.scratchBytes();
  }

  /** Time taken to read, validate, optimise, place and compile the model. */
  public Duration loadTime() {
    return loadTime;
  }

  /** Wall time of the warm-up executions at load (zero when none ran). */
  public Duration warmupTime() {
    return warmup.time();
  }

  /** What the warm-up at load did. */
  public WarmupOutcome warmup() {
    return warmup;
  }

  /** Highest opset of the default ONNX domain. */
  public int opset() {
    return opset;
  }

  /** Batching in effect. */
  public Batching batching() {
    return batching;
  }

  /** Executions that may wait in the queue at once. */
  public int queueDepth() {
    return queueDepth;
  }

  /** Executions that ran (a batch counts each merged request). */
  public long executions() {
    return executions.get();
  }

  /** Executions that failed after being accepted. */
  public long failures() {
    return failures.get();
  }

  /** Requests and executions as the scheduler measured them (Triton's model statistics). */
  public InferenceStats.Snapshot statistics() {
    return stats.snapshot();
  }

  InferenceStats stats() {
    return stats;
  }

  /** False once unloaded. */
  public boolean isLoaded() {
    return scheduler.hosts(this);
  }

  LoadedModel model() {
    return model;
  }

  CoreGroupScheduler scheduler() {
    return scheduler;
  }

  /** Counts n executions, as they start (failures are counted again by {@link #countFailures}). */
  void countExecutions(int n) {
    executions.addAndGet(n);
  }

  /** Counts n of the executions already counted as failed. */
  void countFailures(int n) {
    failures.addAndGet(n);
  }

  @Override
  public String toString() {
    return "model '" + name + "' (" + id.substring(0, Math.min(10, id.length())) + "…) on cores " + cores;
  }

  /** Makes the model visible by name through KServe (a load with {@code shared}). */
  public void share() {
    shared = true;
  }

  /** True when KServe clients may find and run the model by name. */
  public boolean isShared() {
    return shared;
  }
}
