package io.vnrt.runtime.cli;

import io.vnrt.client.ExecutionRequest;
import io.vnrt.client.ExecutionResult;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.client.SharedMemory;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.HostMemory;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.TensorProtos;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * {@code vnrt run}: loads a model, executes it repeatedly and reports load time, latency
 * percentiles and throughput, in-process through the engine ({@code --embedded}) or against a
 * daemon ({@code --target}), like Triton's perf_analyzer.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Load a model, run it --iterations times after --warmup, report load time, latency p50/p90/p99"
        + " and throughput. Inputs are random (fixed seed) unless given with --input.")
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

  @Option(names = "--cores", defaultValue = "1", description = "Cores of the model's group. Default: ${DEFAULT-VALUE}.")
  private int cores;

  @Option(names = "--iterations", defaultValue = "100", description = "Measured executions. Default: ${DEFAULT-VALUE}.")
  private int iterations;

  @Option(names = "--warmup", defaultValue = "10", description = "Executions before measuring. Default: ${DEFAULT-VALUE}.")
  private int warmup;

  @Option(names = "--concurrency", defaultValue = "1",
      description = "Remote only: executions in flight at once. Default: ${DEFAULT-VALUE}.")
  private int concurrency;

  @Option(names = "--shm", description = "Remote only: pass inputs through a /dev/shm region (the daemon must be on"
      + " this host) instead of inline in each request.")
  private boolean shm;

  @Option(names = "--load-warmup-ms", defaultValue = "0", paramLabel = "MS",
      description = "Remote only: ask the daemon to warm the model up at load for this long (its --dim values size the"
          + " generated inputs). Default: ${DEFAULT-VALUE}.")
  private int loadWarmupMs;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the random inputs. Default: ${DEFAULT-VALUE}.")
  private long seed;

  @Option(names = "--output-dir", paramLabel = "DIR",
      description = "Writes the last execution's outputs there as TensorProto files (NAME.pb).")
  private Path outputDir;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (iterations < 1 || warmup < 0 || cores < 1 || concurrency < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--iterations, --cores and --concurrency must be"
          + " >= 1 and --warmup >= 0 (got " + iterations + ", " + cores + ", " + concurrency + ", " + warmup + ")");
    }
    if (!Files.isRegularFile(model)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "model file " + model + " does not exist");
    }
    PrintWriter out = spec.commandLine().getOut();
    try {
      int code = embedded ? runEmbedded(out) : runRemote(out);
      out.flush();
      return code;
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("vnrt run: " + e.getMessage());
      return 2;
    } catch (VnrtException e) {
      spec.commandLine().getErr().println("vnrt run: " + where.explain(e));
      return 1;
    }
  }

  private int runEmbedded(PrintWriter out) throws Exception {
    if (concurrency != 1 || shm) {
      throw new IllegalArgumentException("--concurrency and --shm need a daemon (--target); the embedded run is "
          + "sequential and in-process");
    }
    long t0 = System.nanoTime();
    try (CoreGroup group = new CoreGroup("run", cores);
        LoadedModel loaded = new Engine().load(model, new HostMemory(), group)) {
      double loadMs = (System.nanoTime() - t0) / 1e6;
      Map<String, Tensor> inputs = inputs(loaded.inputs());
      out.printf("model %s: loaded in %.1f ms on %d core(s); weights %d bytes%n", model.getFileName(), loadMs, cores,
          loaded.weightsBytes());
      for (int i = 0; i < warmup; i++) {
        loaded.execute(inputs);
      }
      long[] latencies = new long[iterations];
      Map<String, Tensor> last = null;
      long start = System.nanoTime();
      for (int i = 0; i < iterations; i++) {
        long s = System.nanoTime();
        last = loaded.execute(inputs);
        latencies[i] = System.nanoTime() - s;
      }
      report(out, latencies, System.nanoTime() - start);
      if (outputDir != null) {
        writeOutputs(last);
      }
    }
    return 0;
  }

  private int runRemote(PrintWriter out) throws Exception {
    try (VnrtClient client = Clients.connect(spec, where);
        Session session = client.openSession("vnrt-run");
        Model loaded = session.loadModel(model, LoadOptions.defaults().onAnyCores(cores)
            .withWarmup(0, Duration.ofMillis(loadWarmupMs), dims))) {
      ModelDescription d = loaded.description();
      out.printf("model %s: loaded in %.1f ms on cores %s of device %d; weights %d bytes, scratch %d bytes%s%n",
          d.name(), d.loadTime().toNanos() / 1e6, d.cores(), d.deviceId(), d.weightsBytes(), d.scratchBytes(),
          d.warmupTime().isZero() ? "" : String.format(Locale.ROOT, "; warmed up in %.1f ms",
              d.warmupTime().toNanos() / 1e6));
      List<ValueInfo> specs = new ArrayList<>();
      for (ModelDescription.Port p : d.inputs()) {
        List<Dim> shape = p.shape().stream()
            .map(x -> x.isFixed() ? Dim.of(x.size()) : Dim.symbolic(x.symbol())).toList();
        specs.add(new ValueInfo(p.name(), DType.valueOf(p.dtype().name()), shape));
      }
      Map<String, HostTensor> inputs = new LinkedHashMap<>();
      inputs(specs).forEach((name, t) -> inputs.put(name, toHost(t)));
      SharedMemory region = shm ? session.createSharedMemory("vnrt-run-inputs", regionBytes(inputs)) : null;
      ExecutionRequest request = region == null ? ExecutionRequest.of(inputs) : shmRequest(inputs, region);
      try {
        for (int i = 0; i < warmup; i++) {
          loaded.execute(request);
        }
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
        report(out, latencies, System.nanoTime() - start);
        if (outputDir != null) {
          Map<String, Tensor> outputs = new LinkedHashMap<>();
          last.get().forEach((name, h) -> outputs.put(name, fromHost(h)));
          writeOutputs(outputs);
        }
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
        throw new IllegalArgumentException("--input " + name + ": the model has no such input; its inputs are "
            + specs.stream().map(ValueInfo::name).toList());
      }
    }
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (ValueInfo s : specs) {
      Path file = inputFiles.get(s.name());
      if (file != null) {
        out.put(s.name(), TensorProtos.decode(TensorProtos.read(file), file.getParent()));
        continue;
      }
      long[] shape = s.shape(symbol -> {
        Long size = dims.get(symbol);
        if (size == null) {
          throw new IllegalArgumentException("input " + s.name() + " has symbolic dimension '" + symbol
              + "': bind it with --dim " + symbol + "=VALUE");
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

  private void report(PrintWriter out, long[] latencies, long wallNanos) {
    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    out.printf("%d executions (after %d warm-up), concurrency %d: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms;"
            + " throughput %.1f inferences/s%n", iterations, warmup, concurrency, percentile(sorted, 50) / 1e6,
        percentile(sorted, 90) / 1e6, percentile(sorted, 99) / 1e6, iterations / (wallNanos / 1e9));
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
    spec.commandLine().getOut().println("outputs written to " + outputDir + ": " + outputs.keySet());
  }

  private static HostTensor toHost(Tensor t) {
    return HostTensor.ofBytes(io.vnrt.client.DType.valueOf(t.dtype().name()), t.shape(),
        t.data().toArray(ValueLayout.JAVA_BYTE));
  }

  private static Tensor fromHost(HostTensor h) {
    return new Tensor(DType.valueOf(h.dtype().name()), h.shape(), MemorySegment.ofArray(h.bytes()));
  }
}
