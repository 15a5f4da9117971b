package io.vnrt.runtime.cli;

import io.grpc.Context;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.WatchMetricsRequest;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vnrt monitor}: one JSON report per period on stdout, in the spirit of neuron-monitor. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    description = "Print one JSON report per period (cores, executions with latency percentiles, errors, memory, "
        + "models) from the daemon's WatchMetrics stream, one object per line.")
final class MonitorCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Option(names = "--period-ms", paramLabel = "MS", defaultValue = "1000",
      description = "Period between reports, 100..3600000 ms. Default: ${DEFAULT-VALUE}.")
  private long periodMs;

  @Option(names = "--count", paramLabel = "N", defaultValue = "0",
      description = "Stop after N reports (0: until interrupted). Default: ${DEFAULT-VALUE}.")
  private long count;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** The daemon's WatchMetrics accepts 100 ms to an hour: say so before asking it. */
  static void checkPeriod(CommandLine.Model.CommandSpec spec, long periodMs) {
    if (periodMs < 100 || periodMs > 3_600_000) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--period-ms must be 100..3600000, got "
          + periodMs);
    }
  }

  @Override
  public Integer call() {
    if (count < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 0 or more, got " + count);
    }
    checkPeriod(spec, periodMs);
    Transports.OwnedChannel connection = target.open();
    PrintWriter out = spec.commandLine().getOut();
    Context.CancellableContext stream = Context.current().withCancellation();
    Context previous = stream.attach();
    try {
      Iterator<MetricsSnapshot> reports = MonitorGrpc.newBlockingStub(connection.channel())
          .watchMetrics(WatchMetricsRequest.newBuilder().setPeriodMs(periodMs).build());
      for (long n = 0; (count == 0 || n < count) && reports.hasNext(); n++) {
        // one report a line, zero-valued fields included so that every report has every key
        out.println(Json.compact(reports.next()));
        out.flush();
      }
      return 0;
    } finally {
      stream.detach(previous);
      stream.cancel(null);
      connection.shutdown();
    }
  }
}
