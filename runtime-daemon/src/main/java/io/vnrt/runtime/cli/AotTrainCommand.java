package io.vnrt.runtime.cli;

import io.vnrt.client.DType;
import io.vnrt.client.ExecutionRequest;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.KernelWarmup;
import io.vnrt.runtime.server.DaemonServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vnrt aot-train}: the workload of the JVM's ahead-of-time cache training run
 * ({@code bin/vnrt aot-cache} runs it under {@code -XX:AOTCacheOutput}). It does what a daemon's
 * first minute does, in the foreground and to the end: starts a runtime and its gRPC server on a
 * loopback port, runs the whole kernel warm-up (every kernel family at this machine's vector
 * width) until each model's run time has settled, then loads each warm-up model through the SDK
 * (its load warm-up included) and executes it, so the cache holds the classes of every path a
 * first Execute takes, linked, and the kernels' method profiles (JEP 515). Opt-in: measured, the
 * cache did not make first executions faster (bench/README.md, FirstExecutionBench).
 */
@Command(name = "aot-train", mixinStandardHelpOptions = true,
    description = {"Run the kernel warm-up to the end and load and execute its models over gRPC, then exit: the "
        + "training workload of the JVM's AOT cache (bin/vnrt aot-cache). Exit 1 if a warm-up model could not run."})
final class AotTrainCommand implements Callable<Integer> {
  @Option(names = "--budget", paramLabel = "DURATION",
      description = "Stop the kernel warm-up after this long even if it has not settled (default 120s, at most 10m).")
  private String budget = "120s";

  @Option(names = "--executions", paramLabel = "N",
      description = "Executions of each warm-up model through the SDK after its load (default 20).")
  private int executions = 20;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    Duration limit;
    try {
      limit = DaemonSettings.duration(budget);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--budget: " + e.getMessage());
    }
    if (limit.isZero() || limit.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--budget must be more than 0s and at most 10m, got " + budget);
    }
    if (executions < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--executions must be at least 0, got " + executions);
    }
    PrintWriter out = spec.commandLine().getOut();
    RuntimeConfig config = RuntimeConfig.defaults();
    int cores = Math.max(1, Math.min(2, config.topology().devices().stream()
        .mapToInt(d -> d.coreIds().size()).max().orElse(1)));
    KernelWarmup.Report report = KernelWarmup.runInForeground(limit, cores, config.backing());
    out.println("kernel warm-up " + report.describe());
    report.models().forEach(m -> out.println("  " + m));
    out.flush();
    boolean failed = !report.failed().isEmpty();
    try (VnrtRuntime runtime = VnrtRuntime.start(config);
        DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
            Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
        VnrtClient client = VnrtClient.connect(server.targets().getFirst());
        Session session = client.openSession("vnrt-aot-train")) {
      for (Map.Entry<String, byte[]> m : KernelWarmup.models().entrySet()) {
        try (Model model = session.loadModel(m.getValue(), LoadOptions.defaults().onAnyCores(cores))) {
          Optional<ExecutionRequest> request = request(model.description());
          for (int i = 0; i < executions && request.isPresent(); i++) {
            model.execute(request.get());
          }
          out.printf("%s: loaded over gRPC, %d executions%n", m.getKey(), request.isPresent() ? executions : 0);
        } catch (RuntimeException e) {
          spec.commandLine().getErr().println("vnrt aot-train: " + m.getKey() + ": " + e.getMessage());
          failed = true;
        }
      }
    }
    out.flush();
    return failed ? 1 : 0;
  }

  /** Inputs of ones for a model whose inputs are all float32 of fixed shape; none for another. */
  private static Optional<ExecutionRequest> request(ModelDescription d) {
    Map<String, HostTensor> inputs = new LinkedHashMap<>();
    for (ModelDescription.Port p : d.inputs()) {
      if (p.dtype() != DType.FLOAT32 || !p.shape().stream().allMatch(ModelDescription.Dim::isFixed)) {
        return Optional.empty();
      }
      long[] shape = p.shape().stream().mapToLong(ModelDescription.Dim::size).toArray();
      float[] values = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
      Arrays.fill(values, 0.5f);
      inputs.put(p.name(), HostTensor.ofFloats(shape, values));
    }
    return Optional.of(ExecutionRequest.of(inputs));
  }
}
