package io.vnrt.runtime.cli;

import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.client.ExecutionRequest;
import io.vnrt.client.ExecutionResult;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.client.SharedMemory;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.EngineInfo;
import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.HostMemory;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.TensorProtos;
import io.vnrt.runtime.server.EngineInfos;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vnrt run}: loads a model, executes it once cold, warms it up until latency is steady,
 * executes it repeatedly and reports what the engine runs on, load time, the cold execution,
 * latency percentiles and throughput, in-process through the engine ({@code --embedded}) or
 * against a daemon ({@code --target}), like Triton's perf_analyzer.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Load a model, run it once cold, warm it up (--warmup), then run it --iterations times; report"
        + " what the engine runs on, load time, the cold execution, latency p50/p90/p99 and throughput. Inputs are"
        + " random (fixed seed) unless given with --input.")
final class RunCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "FILE", description = "The ONNX model.")
  private Path model;

  @Option(names = "--embedded", description = "Run in this process through the engine, without a daemon.")
  private boolean embedded;

  /** The daemon (and its TLS and token options) unless --embedded. */
  @CommandLine.Mixin
  private TargetOptions where;

  @Option(names = "--dim", paramLabel = "NAME=VALUE", description = "Binds a symbolic dimension, e.g. N=1.")
  private Map<String, Long> dims = new LinkedHashMap<>();

  @Option(names = "--input", paramLabel = "NAME=FILE.pb", description = "An input from a TensorProto file.")
  private Map<String, Path> inputFiles = new LinkedHashMap<>();

  @Option(names = "--cores", defaultValue = "1", paramLabel = "N",
      description = "Cores of the model's group. Default: ${DEFAULT-VALUE}.")
  private int cores;

  @Option(names = "--iterations", defaultValue = "100", paramLabel = "N",
      description = "Measured executions. Default: ${DEFAULT-VALUE}.")
  private int iterations;

  @Option(names = "--warmup", defaultValue = RunWarmup.DEFAULT, paramLabel = "DURATION|COUNT",
      description = "Warm up before measuring: for a duration (e.g. 2s, 500ms), extended up to 5x while latency still"
          + " falls, or for a number of executions (e.g. 500). The first, cold execution is reported on its own line"
          + " either way. Default: ${DEFAULT-VALUE}.")
  private String warmupText;

  @Option(names = "--concurrency", defaultValue = "1", paramLabel = "N",
      description = "Remote only: executions in flight at once. Default: ${DEFAULT-VALUE}.")
  private int concurrency;

  @Option(names = "--shm", description = "Remote only: pass inputs through a /dev/shm region (the daemon must be on"
      + " this host) instead of inline in each request.")
  private boolean shm;

  @Option(names = "--load-warmup-ms", defaultValue = "0", paramLabel = "MS",
      description = "Remote only: ask the daemon to warm the model up at load for this long (its --dim values size the"
          + " generated inputs). Default: ${DEFAULT-VALUE}, the daemon's own default warm-up (--load-warmup) at these"
          + " dims.")
  private int loadWarmupMs;

  @Option(names = "--seed", defaultValue = "42", paramLabel = "N",
      description = "Seed of the random inputs. Default: ${DEFAULT-VALUE}.")
  private long seed;

  @Option(names = "--json", description = "Print one JSON object (the load and the latency figures) instead of text.")
  private boolean json;

  @Option(names = "--output-dir", paramLabel = "DIR",
      description = "Writes the last execution's outputs there as TensorProto files (NAME.pb).")
  private Path outputDir;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** What the load line (and the JSON object) says about the loaded model. */
  private final Map<String, Object> loadFacts = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    atLeast("--iterations", iterations, 1);
    atLeast("--cores", cores, 1);
    atLeast("--concurrency", concurrency, 1);
    atLeast("--load-warmup-ms", loadWarmupMs, 0);
    if (Files.isDirectory(model)) {
      throw usage("--model " + model + " is a directory; give the model's .onnx file");
    }
    if (!Files.isRegularFile(model)) {
      throw usage("--model " + model + ": no such file");
    }
    RunWarmup warmup;
    try {
      warmup = RunWarmup.parse(warmupText);
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
    PrintWriter out = spec.commandLine().getOut();
    int code = embedded ? runEmbedded(out, warmup) : runRemote(out, warmup);
    out.flush();
    return code;
  }

  private void atLeast(String option, long value, long min) {
    if (value < min) {
      throw usage(option + " must be at least " + min + ", got " + value);
    }
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }

  /** The model's name as the daemon gives it: the file name without .onnx. */
  private String modelName() {
    return model.getFileName().toString().replaceFirst("\\.onnx$", "");
  }

  private int runEmbedded(PrintWriter out, RunWarmup warmup) throws Exception {
    if (concurrency != 1 || shm || loadWarmupMs != 0) {
      throw usage("--concurrency, --shm and --load-warmup-ms need a daemon (--target); the embedded run is "
          + "sequential and in-process");
    }
    long t0 = System.nanoTime();
    try (CoreGroup group = new CoreGroup("run", cores);
        LoadedModel loaded = load(group)) {
      double loadMs = (System.nanoTime() - t0) / 1e6;
      Map<String, Tensor> inputs = inputs(loaded.inputs());
      printLoad(out, loadMs, "in this process", Map.of(), loaded.weightsBytes(), loaded.scratchBytes());
      printEngine(out, EngineInfos.current(Optional.empty()), "");
      try {
        loaded.checkInputs(inputs);
      } catch (IllegalArgumentException e) {
        throw usage("the inputs do not fit the model: " + e.getMessage());
      }
      long c0 = System.nanoTime();
      loaded.execute(inputs);
      printCold(out, (System.nanoTime() - c0) / 1e6,
          " (compiles the plan for these inputs; the kernels are not yet JIT-compiled)");
      RunWarmup.Outcome warm = warmup.run(() -> {
        long w0 = System.nanoTime();
        loaded.execute(inputs);
        return System.nanoTime() - w0;
      });
      printWarmup(out, warm, warmup);
      long[] latencies = new long[iterations];
      Map<String, Tensor> last = null;
      long start = System.nanoTime();
      for (int i = 0; i < iterations; i++) {
        long s = System.nanoTime();
        last = loaded.execute(inputs);
        latencies[i] = System.nanoTime() - s;
      }
      long wall = System.nanoTime() - start;
      if (outputDir != null) {
        writeOutputs(last);
      }
      report(out, latencies, wall, warm);
    }
    return 0;
  }

  private LoadedModel load(CoreGroup group) throws IOException {
    try {
      return new Engine().load(model, new HostMemory(), group);
    } catch (ModelLoadException | DeviceMemoryExhaustedException e) {
      throw new Failures.CommandFailure("cannot load " + model + ": " + e.getMessage(), e);
    }
  }

  /**
   * The load line, worded the same in both modes: {@code model mlp: loaded in 12.3 ms on 1 core
   * (device 0, cores [0]); weights 2.6 MiB, scratch 4.0 KiB}.
   */
  private void printLoad(PrintWriter out, double loadMs, String where, Map<String, Object> placement, long weights,
      long scratch) {
    loadFacts.put("model", modelName());
    loadFacts.put("mode", embedded ? "embedded" : "remote");
    loadFacts.putAll(placement);
    loadFacts.put("cores", cores);
    loadFacts.put("loadMs", round(loadMs));
    loadFacts.put("weightsBytes", weights);
    loadFacts.put("scratchBytes", scratch);
    if (!json) {
      out.printf(Locale.ROOT, "model %s: loaded in %.1f ms on %d core%s (%s); weights %s, scratch %s%n", modelName(),
          loadMs, cores, cores == 1 ? "" : "s", where, ByteSize.format(weights), ByteSize.format(scratch));
    }
  }

  /** What the engine runs on (vector width, CPU features, GEMM kernels), each line after {@code prefix}. */
  private void printEngine(PrintWriter out, EngineInfo engine, String prefix) {
    loadFacts.put("vectorBits", engine.getVectorBits());
    loadFacts.put("cpuFeatures", engine.getCpuFeaturesList());
    loadFacts.put("gemmKernels", engine.getGemmKernels());
    if (!engine.getWarning().isEmpty()) {
      loadFacts.put("engineWarning", engine.getWarning());
    }
    if (engine.hasKernelWarmup() && !embedded) {
      loadFacts.put("kernelWarmup", engine.getKernelWarmup().getSummary());
    }
    if (!json) {
      EngineLines.machine(engine).forEach(line -> out.println(prefix + line));
      if (engine.hasKernelWarmup() && !embedded) {
        out.println(prefix + EngineLines.warmup(engine));
      }
    }
  }

  /** The first, cold execution, on its own line: what a new model's first request costs. */
  private void printCold(PrintWriter out, double ms, String detail) {
    loadFacts.put("firstExecutionMs", round(ms));
    if (!json) {
      out.printf(Locale.ROOT, "first execution (cold): %.3f ms%s%n", ms, detail);
    }
  }

  private void printWarmup(PrintWriter out, RunWarmup.Outcome warm, RunWarmup asked) {
    loadFacts.put("warmupMs", round(warm.took().toNanos() / 1e6));
    if (!asked.time().isZero()) {
      loadFacts.put("warmupSteady", warm.steady());
    }
    if (!json) {
      out.println(warm.describe(asked));
    }
  }

  private static double round(double ms) {
    return Math.round(ms * 1000) / 1000.0;
  }

  private int runRemote(PrintWriter out, RunWarmup warmup) throws Exception {
    try (VnrtClient client = where.connect();
        Session session = client.openSession("vnrt-run");
        Model loaded = session.loadModel(model, LoadOptions.defaults().onAnyCores(cores)
            .withWarmup(0, Duration.ofMillis(loadWarmupMs), dims))) {
      ModelDescription d = loaded.description();
      List<ValueInfo> specs = new ArrayList<>();
      for (ModelDescription.Port p : d.inputs()) {
        List<Dim> shape = p.shape().stream()
            .map(x -> x.isFixed() ? Dim.of(x.size()) : Dim.symbolic(x.symbol())).toList();
        specs.add(new ValueInfo(p.name(), DType.valueOf(p.dtype().name()), shape));
      }
      Map<String, HostTensor> inputs = new LinkedHashMap<>();
      inputs(specs).forEach((name, t) -> inputs.put(name, toHost(t)));
      Map<String, Object> placement = new LinkedHashMap<>();
      placement.put("target", where.target());
      placement.put("deviceId", d.deviceId());
      placement.put("coreIds", d.cores());
      printLoad(out, d.loadTime().toNanos() / 1e6, "device " + d.deviceId() + ", cores " + d.cores(), placement,
          d.weightsBytes(), d.scratchBytes());
      if (d.warmupRuns() > 0) {
        loadFacts.put("loadWarmupMs", round(d.warmupTime().toNanos() / 1e6));
        loadFacts.put("loadWarmupExecutions", d.warmupRuns());
        if (!json) {
          out.printf(Locale.ROOT, "warmed up at load in %.1f ms (%d execution%s)%n", d.warmupTime().toNanos() / 1e6,
              d.warmupRuns(), d.warmupRuns() == 1 ? "" : "s");
        }
      }
      if (!d.warmupNote().isEmpty()) {
        loadFacts.put("loadWarmupSkipped", d.warmupNote());
        if (!json) {
          out.println("load warm-up skipped: " + d.warmupNote());
        }
      }
      printEngine(out, client.runtimeInfo().getEngine(), "daemon ");
      SharedMemory region = shm ? session.createSharedMemory("vnrt-run-inputs", regionBytes(inputs)) : null;
      ExecutionRequest request = region == null ? ExecutionRequest.of(inputs) : shmRequest(inputs, region);
      try {
        long c0 = System.nanoTime();
        ExecutionResult cold = loaded.execute(request);
        printCold(out, (System.nanoTime() - c0) / 1e6, String.format(Locale.ROOT,
            " (in the daemon: queue %.3f ms, compute %.3f ms)", cold.queueTime().toNanos() / 1e6,
            cold.computeTime().toNanos() / 1e6));
        RunWarmup.Outcome warm = warmup.run(() -> {
          long w0 = System.nanoTime();
          loaded.execute(request);
          return System.nanoTime() - w0;
        });
        printWarmup(out, warm, warmup);
        long[] latencies = new long[iterations];
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Map<String, HostTensor>> last = new AtomicReference<>(Map.of());
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
          List<Future<?>> running = new ArrayList<>();
          for (int w = 0; w < concurrency; w++) {
            running.add(workers.submit(() -> {
              for (int i = next.getAndIncrement(); i < iterations; i = next.getAndIncrement()) {
                long s = System.nanoTime();
                ExecutionResult result = loaded.execute(request);
                latencies[i] = System.nanoTime() - s;
                if (i == iterations - 1) {
                  last.set(result.outputs());
                }
              }
              return null;
            }));
          }
          for (Future<?> f : running) {
            try {
              f.get();
            } catch (java.util.concurrent.ExecutionException e) {
              throw e.getCause() instanceof Exception x ? x : e;
            }
          }
        }
        long wall = System.nanoTime() - start;
        if (outputDir != null) {
          Map<String, Tensor> outputs = new LinkedHashMap<>();
          last.get().forEach((name, h) -> outputs.put(name, fromHost(h)));
          writeOutputs(outputs);
        }
        report(out, latencies, wall, warm);
      } finally {
        if (region != null) {
          region.close();
        }
      }
    }
    return 0;
  }

  private static long regionBytes(Map<String, HostTensor> inputs) {
    long n = 0;
    for (HostTensor t : inputs.values()) {
      n += align(t.sizeBytes());
    }
    return Math.max(n, 64);
  }

  private static long align(long n) {
    return (n + 63) & -64L;
  }

  /** Writes every input into the region once; the request then names their places. */
  private static ExecutionRequest shmRequest(Map<String, HostTensor> inputs, SharedMemory region) {
    ExecutionRequest request = new ExecutionRequest();
    long offset = 0;
    for (Map.Entry<String, HostTensor> e : inputs.entrySet()) {
      HostTensor t = e.getValue();
      MemorySegment.copy(MemorySegment.ofBuffer(t.byteBuffer()), 0, region.segment(), offset, t.sizeBytes());
      request.input(e.getKey(), region, offset, t.dtype(), t.shape());
      offset += align(t.sizeBytes());
    }
    return request;
  }

  /** The model's inputs: from --input files, else random with the seed, shapes bound by --dim. */
  private Map<String, Tensor> inputs(List<ValueInfo> specs) throws IOException {
    for (String name : inputFiles.keySet()) {
      if (specs.stream().noneMatch(s -> s.name().equals(name))) {
        throw usage("--input " + name + ": the model has no such input; its inputs are "
            + specs.stream().map(ValueInfo::name).toList());
      }
    }
    checkDims(specs);
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (ValueInfo s : specs) {
      Path file = inputFiles.get(s.name());
      if (file != null) {
        try {
          out.put(s.name(), TensorProtos.decode(TensorProtos.read(file), file.getParent()));
        } catch (IOException | IllegalArgumentException e) {
          throw new Failures.CommandFailure("--input " + s.name() + "=" + file + ": cannot read a TensorProto: "
              + (e instanceof IOException io ? Failures.reason(io) : e.getMessage()), e);
        }
        continue;
      }
      long[] shape = s.shape(symbol -> {
        Long size = dims.get(symbol);
        if (size == null) {
          throw usage("input " + s.name() + " has symbolic dimension '" + symbol + "': bind it with --dim " + symbol
              + "=VALUE");
        }
        return size;
      });
      Tensor t = Tensor.allocate(s.dtype(), shape);
      for (long i = 0; i < t.elementCount(); i++) {
        if (s.dtype().isFloatingPoint()) {
          t.setDouble(i, random.nextDouble(-1, 1));
        } else if (s.dtype() == DType.BOOL) {
          t.setLong(i, random.nextInt(2));
        } else {
          t.setLong(i, random.nextInt(10));
        }
      }
      out.put(s.name(), t);
    }
    return out;
  }

  /** Every --dim must name a symbolic dimension of the model: a misspelt one would otherwise be ignored. */
  private void checkDims(List<ValueInfo> specs) {
    Set<String> symbols = new LinkedHashSet<>();
    for (ValueInfo s : specs) {
      s.dims().stream().filter(d -> !d.isFixed()).forEach(d -> symbols.add(d.symbol()));
    }
    for (String name : dims.keySet()) {
      if (!symbols.contains(name)) {
        throw usage("--dim " + name + ": the model has no symbolic dimension " + name + "; "
            + (symbols.isEmpty() ? "its inputs have fixed shapes" : "its symbolic dimensions are " + symbols));
      }
    }
  }

  private void report(PrintWriter out, long[] latencies, long wallNanos, RunWarmup.Outcome warm) {
    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    double p50 = percentile(sorted, 50) / 1e6;
    double p90 = percentile(sorted, 90) / 1e6;
    double p99 = percentile(sorted, 99) / 1e6;
    double throughput = iterations / (wallNanos / 1e9);
    if (json) {
      Map<String, Object> report = new LinkedHashMap<>(loadFacts);
      report.put("executions", iterations);
      report.put("warmupExecutions", warm.runs());
      report.put("concurrency", concurrency);
      report.put("p50Ms", round(p50));
      report.put("p90Ms", round(p90));
      report.put("p99Ms", round(p99));
      report.put("throughputPerSecond", Math.round(throughput * 10) / 10.0);
      if (outputDir != null) {
        report.put("outputDir", outputDir.toString());
      }
      out.println(Json.pretty(report));
      return;
    }
    out.printf(Locale.ROOT, "%d executions (after %d warm-up), concurrency %d: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms;"
        + " throughput %.1f inferences/s%n", iterations, warm.runs(), concurrency, p50, p90, p99, throughput);
  }

  /** Nearest-rank percentile of sorted values. */
  static long percentile(long[] sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private void writeOutputs(Map<String, Tensor> outputs) throws IOException {
    Files.createDirectories(outputDir);
    for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
      String file = e.getKey().replaceAll("[^A-Za-z0-9_.-]", "_") + ".pb";
      Files.write(outputDir.resolve(file), TensorProtos.encode(e.getKey(), e.getValue()).toByteArray());
    }
    if (!json) {
      spec.commandLine().getOut().println("outputs written to " + outputDir + ": " + outputs.keySet());
    }
  }

  private static HostTensor toHost(Tensor t) {
    return HostTensor.ofBytes(io.vnrt.client.DType.valueOf(t.dtype().name()), t.shape(),
        t.data().toArray(ValueLayout.JAVA_BYTE));
  }

  private static Tensor fromHost(HostTensor h) {
    return new Tensor(DType.valueOf(h.dtype().name()), h.shape(), MemorySegment.ofArray(h.bytes()));
  }
}
