package io.vnrt.runtime.cli;

import io.grpc.StatusRuntimeException;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.client.internal.Errors;
import picocli.CommandLine;

/** Opens the SDK client for a --target and its TLS and token options, turning malformed ones into a usage error. */
final class Clients {
  private Clients() {
  }

  static VnrtClient connect(CommandLine.Model.CommandSpec spec, TargetOptions target) {
    try {
      return VnrtClient.connect(target.target, target.connectOptions());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** A message for a refused raw-stub call, such as the Admin ones. */
  static String explain(TargetOptions target, StatusRuntimeException e) {
    return target.explain((VnrtException) Errors.translate(e));
  }
}
