package io.vnrt.runtime.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.DeviceSet;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import io.vnrt.runtime.memory.MemoryStats;
import io.vnrt.runtime.session.SessionRegistry;
import io.vnrt.runtime.session.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The runtime's meters, and the one object the execution path, the model registry and the gRPC
 * layer report to. Recording is lock-free (atomic counters and fixed-bucket histograms), and a
 * scrape only reads them and the pools' lock-free accounting, so it cannot hold up an execution.
 * A {@link #sample()} also reads {@link HbmPool#stats()}, which holds the allocator's lock for a
 * few field reads.
 */
public final class RuntimeMetrics {
  /** Utilisation gauges average over windows of at least this length. */
  static final Duration UTILIZATION_WINDOW = Duration.ofSeconds(10);
  private static final Duration SHORTEST_LATENCY = Duration.ofNanos(1_000);
  private static final Duration LONGEST_LATENCY = Duration.ofSeconds(60);

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Ticker ticker;
  private final DeviceSet devices;
  private final SessionRegistry sessions;
  /** Indexed by global core id; null where no core has that id (cores hidden by --visible-cores). */
  private final CoreActivity[] cores;
  private final Map<String, ModelMeters> models = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> errorsByCode = new ConcurrentHashMap<>();
  private final Map<String, Counter> callCounters = new ConcurrentHashMap<>();

  /** Registers the gauges over the devices' pools, their cores and the open sessions. */
  public RuntimeMetrics(DeviceSet devices, SessionRegistry sessions, Ticker ticker) {
    this.devices = devices;
    this.sessions = sessions;
    this.ticker = ticker;
    int maxCore = devices.devices().stream().flatMap(d -> d.spec().coreIds().stream())
        .mapToInt(Integer::intValue).max().orElse(-1);
    this.cores = new CoreActivity[maxCore + 1];
    for (Device device : devices.devices()) {
      registerPool(device.pool());
      for (int coreId : device.spec().coreIds()) {
        CoreActivity core = new CoreActivity(device.id(), coreId, ticker.nanos());
        cores[coreId] = core;
        Tags tags = Tags.of("device", Integer.toString(device.id()), "core", Integer.toString(coreId));
        FunctionCounter.builder("vnrt.core.busy", core.busyNanos, n -> n.get() / 1e9).baseUnit("seconds")
            .description("Time the core spent executing; its rate is the core's utilisation").tags(tags)
            .register(registry);
        FunctionCounter.builder("vnrt.core.executions", core.executions, AtomicLong::get)
            .description("Invocations the core took part in (a batch of requests is one)").tags(tags).register(registry);
        Gauge.builder("vnrt.core.utilization", core, c -> c.utilization(ticker.nanos()))
            .description("Fraction of the last window of at least " + UTILIZATION_WINDOW.toSeconds()
                + " s the core spent executing").baseUnit("ratio").tags(tags).register(registry);
      }
    }
    Gauge.builder("vnrt.sessions.open", sessions, SessionRegistry::openCount)
        .description("Open sessions").register(registry);
    Gauge.builder("vnrt.models.loaded", models, Map::size).description("Loaded models").register(registry);
  }

  private void registerPool(HbmPool pool) {
    Tags device = Tags.of("device", Integer.toString(pool.deviceId()));
    Gauge.builder("vnrt.hbm.capacity", pool, HbmPool::capacityBytes).baseUnit("bytes")
        .description("HBM capacity of the device").tags(device).register(registry);
    Gauge.builder("vnrt.hbm.peak.used", pool, HbmPool::peakUsedBytes).baseUnit("bytes")
        .description("Most HBM in use at once since the device opened").tags(device).register(registry);
    for (MemoryCategory category : MemoryCategory.values()) {
      Gauge.builder("vnrt.hbm.used", pool, p -> p.usedBytesByCategory().get(category)).baseUnit("bytes")
          .description("HBM in use by category (aligned sizes)")
          .tags(device.and("category", category.name().toLowerCase(Locale.ROOT))).register(registry);
    }
  }

  /** The registry, for exposition. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  /**
   * A model finished loading onto {@code coreIds} after {@code loadNanos}: its meters start. A
   * model loaded again under the same id keeps its counts.
   */
  public void modelLoaded(String modelId, String name, List<Integer> coreIds, long loadNanos) {
    models.computeIfAbsent(modelId, id -> new ModelMeters(id, name, coreIds, loadNanos));
  }

  /** A model was unloaded: its meters stop being exported. */
  public void modelUnloaded(String modelId) {
    ModelMeters removed = models.remove(modelId);
    if (removed != null) {
      removed.meters.forEach(registry::remove);
    }
  }

  /**
   * One request to a loaded model ended (each request of a batch counts). Latencies are recorded
   * for successful executions only; a model unloaded meanwhile is not counted.
   *
   * @param queueNanos from arrival until its cores started on it
   * @param computeNanos on its cores (0 if it never ran)
   */
  public void executionCompleted(String modelId, ExecutionOutcome outcome, long queueNanos, long computeNanos) {
    ModelMeters model = models.get(modelId);
    if (model == null) {
      return;
    }
    model.outcomes.get(outcome).increment();
    if (outcome == ExecutionOutcome.OK) {
      model.queue.record(queueNanos, TimeUnit.NANOSECONDS);
      model.compute.record(computeNanos, TimeUnit.NANOSECONDS);
      model.total.record(queueNanos + computeNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A core group ran one invocation (one request, or a batch of them) for {@code busyNanos}:
   * each of its cores was busy that long.
   */
  public void coreGroupRan(List<Integer> coreIds, long busyNanos) {
    for (int coreId : coreIds) {
      CoreActivity core = coreId >= 0 && coreId < cores.length ? cores[coreId] : null;
      if (core != null) {
        core.busyNanos.addAndGet(busyNanos);
        core.executions.incrementAndGet();
      }
    }
  }

  /** A gRPC call ended with status {@code code} (e.g. "OK", "NOT_FOUND"). */
  public void callCompleted(String method, String code) {
    callCounters.computeIfAbsent(method + ' ' + code, k -> Counter.builder("vnrt.grpc.calls")
        .description("gRPC calls by method and final status code").tags("method", method, "code", code)
        .register(registry)).increment();
    if (!code.equals("OK")) {
      errorsByCode.computeIfAbsent(code, c -> new LongAdder()).increment();
    }
  }

  /** A REST request to {@code route} (its template, e.g. "/v2/models/{model}/infer") ended with HTTP {@code status}. */
  public void httpRequestCompleted(String method, String route, int status) {
    String code = String.valueOf(status);
    callCounters.computeIfAbsent("HTTP " + method + ' ' + route + ' ' + code, k -> Counter.builder("vnrt.http.requests")
        .description("REST (KServe v2 HTTP) requests by method, route and status code")
        .tags("method", method, "route", route, "code", code).register(registry)).increment();
  }

  /** The cumulative counters now. */
  public MetricsSample sample() {
    List<MetricsSample.CoreSample> coreSamples = new ArrayList<>();
    for (CoreActivity core : cores) {
      if (core != null) {
        coreSamples.add(new MetricsSample.CoreSample(core.deviceId, core.coreId, core.busyNanos.get(),
            core.executions.get()));
      }
    }
    List<MemoryStats> memory = devices.devices().stream().map(d -> d.pool().stats()).toList();
    List<MetricsSample.ModelSample> modelSamples = new ArrayList<>();
    for (ModelMeters m : models.values()) {
      modelSamples.add(new MetricsSample.ModelSample(m.id, m.name, m.coreIds,
          m.loadNanos, count(m, ExecutionOutcome.OK), count(m, ExecutionOutcome.FAILED),
          count(m, ExecutionOutcome.REJECTED), count(m, ExecutionOutcome.CANCELLED), LatencyHistogram.of(m.queue),
          LatencyHistogram.of(m.compute), LatencyHistogram.of(m.total)));
    }
    modelSamples.sort(Comparator.comparing(MetricsSample.ModelSample::name)
        .thenComparing(MetricsSample.ModelSample::modelId));
    Map<String, Long> errors = new TreeMap<>();
    errorsByCode.forEach((code, n) -> errors.put(code, n.sum()));
    return new MetricsSample(System.currentTimeMillis(), ticker.nanos(), coreSamples, memory, modelSamples, errors,
        sessions.openCount());
  }

  private static long count(ModelMeters m, ExecutionOutcome outcome) {
    return (long) m.outcomes.get(outcome).count();
  }

  /** One core's busy time and executions, with the window behind its utilisation gauge. */
  private static final class CoreActivity {
    final int deviceId;
    final int coreId;
    final AtomicLong busyNanos = new AtomicLong();
    final AtomicLong executions = new AtomicLong();
    final AtomicReference<Window> window;

    private record Window(long startNanos, long startBusyNanos, double utilization) {
    }

    CoreActivity(int deviceId, int coreId, long nowNanos) {
      this.deviceId = deviceId;
      this.coreId = coreId;
      this.window = new AtomicReference<>(new Window(nowNanos, 0, 0));
    }

    /** The last full window's utilisation, closing the window first when it has run its length. */
    double utilization(long nowNanos) {
      Window w = window.get();
      long elapsed = nowNanos - w.startNanos;
      if (elapsed < UTILIZATION_WINDOW.toNanos()) {
        return w.utilization;
      }
      long busy = busyNanos.get();
      double utilization = Math.min(1, (double) (busy - w.startBusyNanos) / elapsed);
      // a concurrent reader may have closed it already; either result is a full window
      window.compareAndSet(w, new Window(nowNanos, busy, utilization));
      return utilization;
    }
  }

  /** A loaded model's meters. */
  private final class ModelMeters {
    final String id;
    final String name;
    final List<Integer> coreIds;
    final long loadNanos;
    final Map<ExecutionOutcome, Counter> outcomes = new EnumMap<>(ExecutionOutcome.class);
    final Timer queue;
    final Timer compute;
    final Timer total;
    final List<Meter> meters = new ArrayList<>();

    ModelMeters(String id, String name, List<Integer> coreIds, long loadNanos) {
      this.id = id;
      this.name = name;
      this.coreIds = List.copyOf(coreIds);
      this.loadNanos = loadNanos;
      Tags tags = Tags.of("model", name, "model_id", id);
      for (ExecutionOutcome outcome : ExecutionOutcome.values()) {
        Counter c = Counter.builder("vnrt.executions").description("Executions by model and outcome")
            .tags(tags.and("outcome", outcome.label())).register(registry);
        outcomes.put(outcome, c);
        meters.add(c);
      }
      queue = latency("vnrt.execution.queue", "Time from arrival until the cores start", tags);
      compute = latency("vnrt.execution.compute", "Time on the cores", tags);
      total = latency("vnrt.execution.latency", "Queue plus compute time", tags);
      Timer load = Timer.builder("vnrt.model.load").description("Time to load and compile the model")
          .tags(tags).register(registry);
      load.record(loadNanos, TimeUnit.NANOSECONDS);
      meters.addAll(List.of(queue, compute, total, load));
    }

    private Timer latency(String name, String description, Tags tags) {
      return Timer.builder(name).description(description + " of successful executions").tags(tags)
          .publishPercentileHistogram().minimumExpectedValue(SHORTEST_LATENCY)
          .maximumExpectedValue(LONGEST_LATENCY).register(registry);
    }
  }
}
