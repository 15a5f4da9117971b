package io.vnrt.runtime.cli;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.vnrt.client.internal.Transports;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vnrt health}: asks grpc.health.v1 whether the daemon serves; exit 0 only if it does (container HEALTHCHECK). */
@Command(name = "health", mixinStandardHelpOptions = true,
    description = "Check the daemon through grpc.health.v1: prints the status, exits 0 when SERVING, 1 otherwise.")
final class HealthCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Option(names = "--service", paramLabel = "NAME", defaultValue = "",
      description = "A service to check, e.g. vnrt.v1.Memory (default: the daemon as a whole).")
  private String service;

  @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "3000",
      description = "How long to wait for an answer. Default: ${DEFAULT-VALUE}.")
  private long timeoutMs;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Transports.OwnedChannel connection = target.open();
    ManagedChannel channel = connection.channel();
    try {
      HealthCheckResponse.ServingStatus status = HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
          .check(HealthCheckRequest.newBuilder().setService(service).build())
          .getStatus();
      spec.commandLine().getOut().println(status);
      spec.commandLine().getOut().flush();
      return status == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1;
    } finally {
      connection.shutdown();
    }
  }
}
