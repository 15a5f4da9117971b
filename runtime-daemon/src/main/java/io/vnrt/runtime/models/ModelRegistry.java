package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException.Kind;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.DeviceSet;
import io.vnrt.runtime.exec.DeviceSpec;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.GeneratedInputs;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.graph.LoadProblem;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.metrics.RuntimeMetrics;
import io.vnrt.runtime.session.ReclaimReport;
import io.vnrt.runtime.session.Session;
import io.vnrt.runtime.session.SessionRegistry;
import java.lang.foreign.Arena;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of a runtime, each owned by the session that loaded it (its end unloads them), and
 * the scheduler of each core group in use. The runtime-level API beneath every transport: the
 * native Model/Execution services and the KServe compatibility service both map onto it.
 */
public final class ModelRegistry implements AutoCloseable {
  /** Executions of one model that may wait when its load asked for no particular depth. */
  public static final int DEFAULT_QUEUE_DEPTH = 64;
  /** The deepest queue a model may ask for. */
  public static final int MAX_QUEUE_DEPTH = 4096;
  /** The largest batch a model may ask for. */
  public static final int MAX_BATCH_SIZE = 1024;
  /** The longest batching delay a model may ask for. */
  public static final Duration MAX_QUEUE_DELAY = Duration.ofSeconds(1);
  /** Models one session may hold. */
  public static final int MAX_MODELS_PER_SESSION = 256;
  private static final int MAX_NAME_LENGTH = 256;
  /** The largest model byte[] the JVM can hold. */
  private static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 64;

  private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);

  private final DeviceSet devices;
  private final Engine engine;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, ModelEntry> byId = new ConcurrentHashMap<>();
  private final RuntimeMetrics metrics;
  /** Executions of the default warm-up of a load that asks for none (0: none). */
  private final int defaultWarmupRuns;
  /** How long the default warm-up may go on after them until the run time settles. */
  private final Duration defaultWarmupBudget;
  /** Core groups in use, by device and cores; guarded by itself. */
  private final Map<List<Integer>, CoreGroupScheduler> schedulers = new LinkedHashMap<>();
  /** Models placed on each core (for auto-placement), guarded by {@link #schedulers}. */
  private final Map<Integer, Integer> modelsPerCore = new ConcurrentHashMap<>();
  /** Loads and executions in progress (what background work such as the kernel warm-up waits for). */
  private final java.util.concurrent.atomic.AtomicInteger inProgress = new java.util.concurrent.atomic.AtomicInteger();
  /**
   * How many sessions' worth of uploads the daemon holds at once: one session's stalled or slow uploads never
   * take all of it, so another session can always stream a model of the largest size.
   */
  static final int UPLOAD_SESSIONS = 2;
  /** Heap bytes held by streamed loads in progress; guards {@link #uploadBytesBySession} too. */
  private final java.util.concurrent.atomic.AtomicLong uploadBytes = new java.util.concurrent.atomic.AtomicLong();
  /** The same by session id. */
  private final Map<String, Long> uploadBytesBySession = new java.util.HashMap<>();

  /**
   * A registry over {@code devices}; models of a session are unloaded when {@code sessions} ends it.
   * Loads, unloads and executions are reported to {@code metrics}; a load that asks for no
   * warm-up gets {@code defaultWarmupRuns} executions and more until its run time settles, for at
   * most {@code defaultWarmupBudget} (best effort).
   */
  public ModelRegistry(DeviceSet devices, SessionRegistry sessions, Engine engine, RuntimeMetrics metrics,
      int defaultWarmupRuns, Duration defaultWarmupBudget) {
    if (defaultWarmupRuns < 0 || defaultWarmupRuns > Warmup.MAX_RUNS) {
      throw new IllegalArgumentException("the default warm-up must be 0 to " + Warmup.MAX_RUNS + " runs, got "
          + defaultWarmupRuns);
    }
    this.devices = devices;
    this.engine = engine;
    this.metrics = metrics;
    this.defaultWarmupRuns = defaultWarmupRuns;
    this.defaultWarmupBudget = defaultWarmupBudget;
    sessions.onEnd(this::unloadAll);
  }

  /** The largest model accepted, in bytes: the largest device's capacity, and at most 2 GiB (one array). */
  public long maxModelBytes() {
    long cap = devices.devices().stream().mapToLong(d -> d.pool().capacityBytes()).max().orElse(0);
    return Math.min(cap, MAX_ARRAY_BYTES);
  }

  /**
   * Starts a streamed load after checking the header: name, size (at most {@link #maxModelBytes()}
   * and the device's capacity), batching, queue depth and placement. Nothing is held until bytes
   * arrive: the buffer grows with them, charged to the upload budgets ({@link #chargeUpload}).
   */
  public ModelUpload beginLoad(Session session, LoadSpec spec) {
    check(session, spec);
    return new ModelUpload(this, session, spec);
  }

  /**
   * Takes {@code bytes} more of the heap held by streamed loads for {@code session}'s upload of {@code model}:
   * RESOURCE_EXHAUSTED when they would pass the session's share ({@link #maxModelBytes()}: one session's uploads
   * in progress never hold more than the largest model) or the daemon's ({@link #maxModelBytes()} times
   * {@link #UPLOAD_SESSIONS}, within half the heap). Uploads charge what they have received, never what their headers announce, so a
   * stalled stream holds only the bytes it sent.
   */
  void chargeUpload(Session session, String model, long bytes) {
    long perSession = maxModelBytes();
    long total = Math.max(perSession, Math.min(perSession * UPLOAD_SESSIONS, Runtime.getRuntime().maxMemory() / 2));
    synchronized (uploadBytes) {
      long mine = uploadBytesBySession.getOrDefault(session.id(), 0L);
      long all = uploadBytes.get();
      if (bytes > perSession - mine || bytes > total - all) {
        boolean own = bytes > perSession - mine;
        throw VnrtRuntimeException.exhausted("model '" + model + "': " + (own
            ? "this session's loads in progress already hold " + mine + " bytes; another " + bytes + " would pass its "
                + perSession + " for all its loads streaming at once; finish or cancel one first"
            : "loads in progress already hold " + all + " bytes; another " + bytes + " would pass the daemon's "
                + total + " for all loads streaming at once; retry when they finish"),
            Map.of("requested_bytes", String.valueOf(bytes), "uploading_bytes", String.valueOf(own ? mine : all),
                "limit_bytes", String.valueOf(own ? perSession : total)), null);
      }
      uploadBytes.addAndGet(bytes);
      uploadBytesBySession.merge(session.id(), bytes, Long::sum);
    }
  }

  /** Gives back bytes taken by {@link #chargeUpload}. */
  void releaseUpload(Session session, long bytes) {
    synchronized (uploadBytes) {
      uploadBytes.addAndGet(-bytes);
      uploadBytesBySession.computeIfPresent(session.id(), (id, held) -> held - bytes == 0 ? null : held - bytes);
    }
  }

  /** Heap bytes held by streamed loads in progress, daemon-wide. */
  public long uploadingBytes() {
    return uploadBytes.get();
  }

  /** Loads a whole model held in memory ({@code onnx.length} must equal the spec's size, or the size be 0). */
  public ModelEntry load(Session session, LoadSpec spec, byte[] onnx) {
    return load(session, spec, onnx, LoadWatch.NONE);
  }

  /**
   * Like {@link #load(Session, LoadSpec, byte[])} for a caller that may give up: the load fails
   * with CANCELLED or DEADLINE_EXCEEDED, and leaves nothing behind, when {@code watch} says so
   * between warm-up runs or before the model is registered.
   */
  public ModelEntry load(Session session, LoadSpec spec, byte[] onnx, LoadWatch watch) {
    inProgress.incrementAndGet();
    try {
      return loadNow(session, spec, onnx, watch);
    } finally {
      inProgress.decrementAndGet();
    }
  }

  /** True while a load or an execution is in progress. */
  public boolean busy() {
    return inProgress.get() > 0;
  }

  private ModelEntry loadNow(Session session, LoadSpec spec, byte[] onnx, LoadWatch watch) {
    LoadSpec s = spec.sizeBytes() == 0 ? spec.withSize(onnx.length) : spec;
    if (s.sizeBytes() != onnx.length) {
      throw VnrtRuntimeException.invalid("model '" + s.name() + "' is " + onnx.length + " bytes, not the "
          + s.sizeBytes() + " announced", "model_size_bytes", s.sizeBytes(), "received_bytes", onnx.length);
    }
    Device device = check(session, s);
    List<Integer> cores = place(device, s);
    String id = "m-" + HexFormat.of().formatHex(randomBytes());
    session.quota().acquireModel();
    CoreGroupScheduler scheduler;
    try {
      scheduler = reserve(device.id(), cores);
    } catch (RuntimeException | Error e) {
      session.quota().releaseModel();
      throw e;
    }
    LoadedModel loaded = null;
    try {
      long t0 = System.nanoTime();
      try {
        loaded = engine.load(s.name(), onnx, null, device.pool(), scheduler.group(), session.publicId(),
            session.clientName(), cores.getFirst(), id, session.quota());
      } catch (ModelLoadException e) {
        throw loadFailure(s.name(), e);
      } catch (DeviceMemoryExhaustedException e) {
        throw VnrtRuntimeException.exhausted("model '" + s.name() + "' does not fit on device " + device.id() + ": "
            + e.getMessage(), e.facts(), e);
      }
      checkBatchable(s, loaded);
      for (String w : loaded.loadWarnings()) {
        log.warn("model '{}': {}; executions whose input shapes hit this are refused with INVALID_ARGUMENT", s.name(), w);
      }
      Duration loadTime = Duration.ofNanos(System.nanoTime() - t0);
      WarmupOutcome warmup = warmUp(s, loaded, scheduler, watch);
      checkWatch(s, watch, "after its warm-up");
      int depth = s.queueDepth() == 0 ? DEFAULT_QUEUE_DEPTH : s.queueDepth();
      ModelEntry entry = new ModelEntry(id, s.name(), session, device.id(), cores, loaded, loadTime, warmup,
          loaded.opset(), s.batching(), depth, scheduler);
      synchronized (session) {
        if (session.isClosed()) {
          throw VnrtRuntimeException.sessionClosed(session.describe() + " closed during the load");
        }
        if (find(session, s.name()) != null) {
          throw VnrtRuntimeException.invalid("this session already has a model named '" + s.name()
              + "'; unload it or choose another name", "name", s.name());
        }
        scheduler.add(entry);
        byId.put(id, entry);
      }
      metrics.modelLoaded(id, s.name(), cores, loadTime.toNanos());
      log.debug("{} loaded {} in {} ms", session.describe(), entry, loadTime.toMillis());
      return entry;
    } catch (RuntimeException | Error e) {
      if (loaded != null) {
        loaded.close();
      }
      release(scheduler, cores);
      session.quota().releaseModel();
      throw e;
    }
  }

  /**
   * Runs the load's warm-up executions on the model's core group, which it has to itself
   * meanwhile, on {@link GeneratedInputs}. An explicit warm-up that fails fails the load; the
   * default one is best effort and says in the outcome's note why it did not run.
   */
  private WarmupOutcome warmUp(LoadSpec s, LoadedModel model, CoreGroupScheduler scheduler, LoadWatch watch) {
    Warmup w = s.warmup().resolve(defaultWarmupRuns);
    if (w.none()) {
      return WarmupOutcome.NONE;
    }
    // A fuzzed or hand-written model can declare an input of unknown rank or of a size no heap holds;
    // generated inputs cannot stand for real requests then.
    String unsized = model.inputs().stream().filter(in -> in.rank() < 0).map(in -> in.name()).findFirst()
        .orElse(null);
    if (unsized != null) {
      String why = "input '" + unsized + "' has no declared rank, so no warm-up input can be generated";
      if (w.byDefault()) {
        return skipped(s, "the default warm-up did not run: " + why);
      }
      throw VnrtRuntimeException.invalid("model '" + s.name() + "' cannot be warmed up: " + why
          + "; load it without warm-up", "model", s.name());
    }
    try (Arena arena = Arena.ofShared()) {
      Map<String, Tensor> inputs;
      try {
        inputs = GeneratedInputs.of(model.inputs(), w.dims(), arena);
      } catch (ArithmeticException e) {
        String why = "its inputs at the warm-up's dims " + w.dims() + " are too large to generate";
        if (w.byDefault()) {
          return skipped(s, "the default warm-up did not run: " + why);
        }
        throw VnrtRuntimeException.invalid("model '" + s.name() + "' cannot be warmed up: " + why
            + "; give warmup_dims smaller sizes", "model", s.name());
      }
      return runWarmup(s, model, w, scheduler, watch, inputs);
    }
  }

  /** The warm-up's runs on generated inputs (in native memory, freed when it ends). */
  private WarmupOutcome runWarmup(LoadSpec s, LoadedModel model, Warmup w, CoreGroupScheduler scheduler,
      LoadWatch watch, Map<String, Tensor> inputs) {
    long t0 = System.nanoTime();
    WarmupRuns runs = WarmupRuns.of(w, defaultWarmupBudget, t0, watch.deadlineNanos());
    int[] done = {0};
    try {
      scheduler.runExclusive(() -> {
        for (long now = t0; runs.more(now); ) {
          checkWatch(s, watch, "during its warm-up, after " + done[0] + " execution(s)");
          try {
            model.execute(inputs);
          } catch (DeviceMemoryExhaustedException e) {
            throw VnrtRuntimeException.exhausted("the warm-up of model '" + s.name() + "' needs more device memory"
                + " for its activations than is free: " + e.getMessage(), Map.of("model", s.name()), e);
          }
          done[0]++;
          long end = System.nanoTime();
          runs.record(end - now, end);
          now = end;
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw VnrtRuntimeException.of(Kind.CANCELLED, "the load of model '" + s.name() + "' was interrupted during"
          + " its warm-up");
    } catch (VnrtRuntimeException e) {
      if (w.byDefault() && e.kind() == Kind.RESOURCE_EXHAUSTED) {
        return skipped(s, "the default warm-up needs more device memory than is free (" + e.getMessage() + ")");
      }
      throw e;
    } catch (RuntimeException e) {
      Map<String, String> shapes = new LinkedHashMap<>();
      inputs.forEach((k, v) -> shapes.put(k, v.type().toString()));
      if (w.byDefault()) {
        return skipped(s, "the default warm-up could not run the model on generated inputs " + shapes + " ("
            + e.getMessage() + "); give warmup_dims the sizes of real requests");
      }
      throw VnrtRuntimeException.invalid("warm-up execution " + (done[0] + 1) + " of model '" + s.name()
          + "' failed with generated inputs " + shapes + ": " + e.getMessage() + "; give its symbolic dims"
          + " values with warmup_dims, or load it without warm-up", "model", s.name(), "inputs", shapes.toString());
    }
    return new WarmupOutcome(Duration.ofNanos(System.nanoTime() - t0), done[0], "");
  }

  private static WarmupOutcome skipped(LoadSpec s, String why) {
    log.info("model '{}': {}; its first request will compile the plan", s.name(), why);
    return new WarmupOutcome(Duration.ZERO, 0, why);
  }

  /** Fails the load (CANCELLED or DEADLINE_EXCEEDED) when its caller has given up. */
  private static void checkWatch(LoadSpec s, LoadWatch watch, String when) {
    if (watch.cancelled().getAsBoolean()) {
      throw VnrtRuntimeException.of(Kind.CANCELLED, "the load of model '" + s.name() + "' was cancelled by the "
          + "client " + when + "; nothing was kept");
    }
    if (watch.expired()) {
      throw VnrtRuntimeException.of(Kind.DEADLINE_EXCEEDED, "the load of model '" + s.name() + "' passed its "
          + "deadline " + when + "; nothing was kept (allow more time, or a shorter warm-up)");
    }
  }

  private byte[] randomBytes() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return b;
  }

  private Device check(Session session, LoadSpec spec) {
    if (session.isClosed()) {
      throw VnrtRuntimeException.sessionClosed(session.describe() + " is closed");
    }
    if (spec.name().isEmpty() || spec.name().length() > MAX_NAME_LENGTH) {
      throw VnrtRuntimeException.invalid("a model needs a name of 1 to " + MAX_NAME_LENGTH + " characters", "name",
          spec.name());
    }
    Device device = devices.device(spec.deviceId());
    long max = Math.min(maxModelBytes(), device.pool().capacityBytes());
    if (spec.sizeBytes() <= 0 || spec.sizeBytes() > max) {
      throw VnrtRuntimeException.invalid("model '" + spec.name() + "': model_size_bytes must be 1 to " + max
          + " (the daemon's max model size for device " + device.id() + "), got "
          + Long.toUnsignedString(spec.sizeBytes()), "model_size_bytes", Long.toUnsignedString(spec.sizeBytes()),
          "max_model_bytes", max);
    }
    if (spec.queueDepth() < 0 || spec.queueDepth() > MAX_QUEUE_DEPTH) {
      throw VnrtRuntimeException.invalid("queue_depth must be 0 (default " + DEFAULT_QUEUE_DEPTH + ") to "
          + MAX_QUEUE_DEPTH + ", got " + Integer.toUnsignedString(spec.queueDepth()), "queue_depth",
          Integer.toUnsignedString(spec.queueDepth()));
    }
    Batching b = spec.batching();
    if (b.maxBatchSize() < 0 || b.maxBatchSize() > MAX_BATCH_SIZE || b.maxQueueDelay().compareTo(MAX_QUEUE_DELAY) > 0) {
      throw VnrtRuntimeException.invalid("batching needs max_batch_size 0 to " + MAX_BATCH_SIZE
          + " and max_queue_delay_us at most " + MAX_QUEUE_DELAY.toNanos() / 1000 + "; got " + b.maxBatchSize()
          + " and " + b.maxQueueDelay().toNanos() / 1000, "max_batch_size", b.maxBatchSize());
    }
    if (list(session).size() >= MAX_MODELS_PER_SESSION) {
      throw VnrtRuntimeException.exhausted(session.describe() + " already holds " + MAX_MODELS_PER_SESSION
          + " models, the most a session may hold", Map.of("max_models", String.valueOf(MAX_MODELS_PER_SESSION)),
          null);
    }
    if (find(session, spec.name()) != null) {
      throw VnrtRuntimeException.invalid("this session already has a model named '" + spec.name()
          + "'; unload it or choose another name", "name", spec.name());
    }
    place(device, spec);
    return device;
  }

  /** Dynamic batching needs dimension 0 of every input and output to be symbolic. */
  private static void checkBatchable(LoadSpec spec, LoadedModel model) {
    if (!spec.batching().enabled()) {
      return;
    }
    List<String> fixed = new ArrayList<>();
    for (ValueInfo v : concat(model.inputs(), model.outputs())) {
      if (v.dims() == null || v.dims().isEmpty() || v.dims().getFirst().isFixed()) {
        fixed.add(v.toString());
      }
    }
    if (!fixed.isEmpty()) {
      throw VnrtRuntimeException.invalid("model '" + spec.name() + "' cannot be batched: dimension 0 of every input "
          + "and output must be symbolic (the batch), but not in " + String.join(", ", fixed), "name", spec.name());
    }
  }

  private static List<ValueInfo> concat(List<ValueInfo> a, List<ValueInfo> b) {
    List<ValueInfo> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** The cores of the group: the client's, validated, or the least-loaded run of visible cores. */
  private List<Integer> place(Device device, LoadSpec spec) {
    DeviceSpec d = device.spec();
    int count = spec.coreCount();
    if (count < 1) {
      throw VnrtRuntimeException.invalid("core_count must be >= 1, got " + count, "core_count", count);
    }
    if (count > d.coreIds().size()) {
      throw VnrtRuntimeException.of(Kind.NOT_ENOUGH_CORES, "model '" + spec.name() + "' asks for " + count
          + " cores but device " + d.deviceId() + " has " + d.coreIds().size() + " visible core(s)", "core_count",
          count, "device_id", d.deviceId(), "visible_cores", d.coreIds().size());
    }
    if (!spec.autoPlace()) {
      List<Integer> cores = new ArrayList<>();
      int first = d.deviceId() * d.localCoreCount();
      for (int c = spec.startCore(); c < spec.startCore() + count; c++) {
        if (c < first || c >= first + d.localCoreCount()) {
          throw VnrtRuntimeException.invalid("core group " + spec.startCore() + ".." + (spec.startCore() + count - 1)
              + " is not within device " + d.deviceId() + " (its cores are " + first + ".."
              + (first + d.localCoreCount() - 1) + "): a group cannot span devices or name unknown cores",
              "start_core", spec.startCore(), "core_count", count);
        }
        if (!d.hasCore(c)) {
          throw VnrtRuntimeException.invalid("core " + c + " of device " + d.deviceId() + " is not visible to this "
              + "daemon (visible: " + d.coreIds() + ")", "core_id", c);
        }
        cores.add(c);
      }
      return cores;
    }
    List<Integer> visible = d.coreIds();
    List<Integer> best = null;
    long bestLoad = Long.MAX_VALUE;
    for (int i = 0; i + count <= visible.size(); i++) {
      List<Integer> run = visible.subList(i, i + count);
      if (run.getLast() - run.getFirst() != count - 1) {
        continue;
      }
      long load = run.stream().mapToLong(c -> modelsPerCore.getOrDefault(c, 0)).sum();
      if (load < bestLoad) {
        bestLoad = load;
        best = List.copyOf(run);
      }
    }
    if (best == null) {
      throw VnrtRuntimeException.of(Kind.NOT_ENOUGH_CORES, "device " + d.deviceId() + " has no " + count
          + " contiguous visible cores (visible: " + d.coreIds() + ")", "core_count", count, "device_id",
          d.deviceId());
    }
    return best;
  }

  private CoreGroupScheduler reserve(int deviceId, List<Integer> cores) {
    synchronized (schedulers) {
      for (int c : cores) {
        modelsPerCore.merge(c, 1, Integer::sum);
      }
      CoreGroupScheduler s = schedulers.computeIfAbsent(List.copyOf(cores), k -> new CoreGroupScheduler(deviceId, cores,
          metrics));
      s.users++;
      return s;
    }
  }

  /** Gives back a reservation; the group's threads stop when no model uses it. */
  private void release(CoreGroupScheduler scheduler, List<Integer> cores) {
    synchronized (schedulers) {
      for (int c : cores) {
        modelsPerCore.merge(c, -1, Integer::sum);
      }
      if (--scheduler.users == 0) {
        schedulers.remove(cores, scheduler);
        scheduler.close();
      }
    }
  }

  private static VnrtRuntimeException loadFailure(String name, ModelLoadException e) {
    List<LoadProblem> unsupported = e.problems().stream()
        .filter(p -> p.message().startsWith("unsupported operator") || p.message().contains("not supported"))
        .toList();
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("model", name);
    facts.put("problem_count", String.valueOf(e.problems().size()));
    facts.put("problems", e.problems().stream().map(LoadProblem::toString).collect(Collectors.joining("\n")));
    if (!unsupported.isEmpty()) {
      facts.put("unsupported_ops", unsupported.stream().map(p -> p.opType() == null ? "?" : p.opType()).distinct()
          .sorted().collect(Collectors.joining(",")));
      return VnrtRuntimeException.of(Kind.UNSUPPORTED, "model '" + name + "' uses what the runtime does not support: "
          + e.getMessage(), facts);
    }
    return VnrtRuntimeException.of(Kind.INVALID_ARGUMENT, "model '" + name + "' cannot be loaded: " + e.getMessage(),
        facts);
  }

  /** Unloads a model of the session, failing its queued executions; returns the HBM bytes freed. */
  public long unload(Session session, String modelId) {
    ModelEntry m = get(session, modelId);
    if (!byId.remove(m.id(), m)) {
      throw notFound(modelId);
    }
    return close(m);
  }

  private long close(ModelEntry m) {
    long bytes = m.weightsBytes() + m.scratchBytes();
    metrics.modelUnloaded(m.id());
    m.scheduler().remove(m);
    m.model().close();
    release(m.scheduler(), m.cores());
    m.owner().quota().releaseModel();
    return bytes;
  }

  /** Unloads every model of an ended session. */
  private ReclaimReport unloadAll(Session session) {
    List<ModelEntry> owned = new ArrayList<>();
    // a load registers under the same lock after checking that the session is open: none slips past
    synchronized (session) {
      for (ModelEntry m : byId.values()) {
        if (m.owner() == session && byId.remove(m.id(), m)) {
          owned.add(m);
        }
      }
    }
    long bytes = 0;
    for (ModelEntry m : owned) {
      bytes += close(m);
    }
    return new ReclaimReport(0, owned.size(), bytes);
  }

  /** The session's models, in load order of their ids. */
  public List<ModelEntry> list(Session session) {
    return byId.values().stream().filter(m -> m.owner() == session).sorted(Comparator.comparing(ModelEntry::name))
        .toList();
  }

  /** Every loaded model of every session. */
  public List<ModelEntry> all() {
    return List.copyOf(byId.values());
  }

  /** The session's model with this id; NOT_FOUND for unknown, unloaded or foreign ids. */
  public ModelEntry get(Session session, String modelId) {
    if (modelId == null || modelId.isEmpty()) {
      throw VnrtRuntimeException.invalid("a model id is required", "model_id", "");
    }
    ModelEntry m = byId.get(modelId);
    if (m == null || m.owner() != session) {
      throw notFound(modelId);
    }
    return m;
  }

  /** Models with this name, across every session (KServe addresses models by name). */
  public List<ModelEntry> byName(String name) {
    return byId.values().stream().filter(m -> m.name().equals(name)).toList();
  }

  private ModelEntry find(Session session, String name) {
    for (ModelEntry m : byId.values()) {
      if (m.owner() == session && m.name().equals(name)) {
        return m;
      }
    }
    return null;
  }

  private static VnrtRuntimeException notFound(String modelId) {
    String shown = modelId.length() > 48 ? modelId.substring(0, 48) + "…" : modelId;
    return VnrtRuntimeException.notFound("no model with id '" + shown + "' in this session: it is unknown, was "
        + "unloaded, or belongs to another session", "model_id", shown);
  }

  /**
   * Validates and queues an execution of one of the session's models (or runs it at once when its
   * core group is idle). Bad inputs, unknown handles and regions, and a full queue fail here,
   * before anything is queued; the future fails with DEADLINE_EXCEEDED if the deadline passes
   * while queued. Cancelling the future removes a queued execution.
   */
  public CompletableFuture<ExecutionResult> submit(Session session, ExecutionRequest request) {
    ModelEntry model = get(session, request.modelId());
    return submit(session, model, request);
  }

  /** Like {@link #submit(Session, ExecutionRequest)} for a model already looked up (e.g. by name). */
  public CompletableFuture<ExecutionResult> submit(Session session, ModelEntry model, ExecutionRequest request) {
    try {
      session.quota().acquireExecution();
    } catch (RuntimeException e) {
      model.stats().failed(0);
      throw e;
    }
    inProgress.incrementAndGet();
    CompletableFuture<ExecutionResult> f;
    try {
      BoundExecution bound = BoundExecution.bind(session, model, request);
      f = model.scheduler().submit(model, bound, request.deadlineNanos());
    } catch (RuntimeException | Error e) {
      // refused before it was queued (bad input, queue full, unloaded): a failed request all the same
      model.stats().failed(0);
      inProgress.decrementAndGet();
      session.quota().releaseExecution();
      throw e;
    }
    // completion, failure and cancellation all end the execution's hold on the quota
    f.whenComplete((r, e) -> {
      inProgress.decrementAndGet();
      session.quota().releaseExecution();
    });
    return f;
  }

  /** Runs an execution and waits for it; failures are thrown as they are ({@link VnrtRuntimeException} mostly). */
  public ExecutionResult execute(Session session, ExecutionRequest request) throws InterruptedException {
    CompletableFuture<ExecutionResult> f = submit(session, request);
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new CompletionException(e.getCause());
    } catch (InterruptedException e) {
      f.cancel(false);
      throw e;
    } catch (CancellationException e) {
      throw VnrtRuntimeException.of(Kind.CANCELLED, "the execution was cancelled");
    }
  }

  /** The scheduler of a model's core group (to inspect its queue, or hold it). */
  public CoreGroupScheduler scheduler(ModelEntry model) {
    return model.scheduler();
  }

  /** Stops every core group (models are unloaded with their sessions). */
  @Override
  public void close() {
    synchronized (schedulers) {
      schedulers.values().forEach(CoreGroupScheduler::close);
      schedulers.clear();
    }
  }
}
