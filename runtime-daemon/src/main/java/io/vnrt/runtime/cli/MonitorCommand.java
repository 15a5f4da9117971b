package io.vnrt.runtime.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.WatchMetricsRequest;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vnrt monitor}: one JSON report per period on stdout, in the spirit of neuron-monitor. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    description = "Print one JSON report per period (cores, executions with latency percentiles, errors, memory, "
        + "models) from the daemon's WatchMetrics stream, one object per line.")
final class MonitorCommand implements Callable<Integer> {
  @Option(names = "--target", paramLabel = "TARGET", defaultValue = TargetOptions.DEFAULT_TARGET,
      description = "Daemon address: host:port or unix:/path (default: ${DEFAULT-VALUE}).")
  private String target;

  @Option(names = "--period-ms", paramLabel = "MS", defaultValue = "1000",
      description = "Period between reports, 100..3600000 ms. Default: ${DEFAULT-VALUE}.")
  private long periodMs;

  @Option(names = "--count", paramLabel = "N", defaultValue = "0",
      description = "Stop after N reports (0: until interrupted). Default: ${DEFAULT-VALUE}.")
  private long count;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** One report a line: no insignificant whitespace, zero-valued fields included so every report has every key. */
  static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace()
      .alwaysPrintFieldsWithNoPresence();

  @Override
  public Integer call() throws InvalidProtocolBufferException {
    if (count < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 0 or more, got " + count);
    }
    Transports.OwnedChannel connection;
    try {
      connection = Transports.open(target);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    PrintWriter out = spec.commandLine().getOut();
    Context.CancellableContext stream = Context.current().withCancellation();
    Context previous = stream.attach();
    try {
      Iterator<MetricsSnapshot> reports = MonitorGrpc.newBlockingStub(connection.channel())
          .watchMetrics(WatchMetricsRequest.newBuilder().setPeriodMs(periodMs).build());
      for (long n = 0; (count == 0 || n < count) && reports.hasNext(); n++) {
        out.println(JSON.print(reports.next()));
        out.flush();
      }
      return 0;
    } catch (StatusRuntimeException e) {
      spec.commandLine().getErr().println("vnrt monitor: " + target + ": " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return 1;
    } finally {
      stream.detach(previous);
      stream.cancel(null);
      connection.shutdown();
    }
  }
}
