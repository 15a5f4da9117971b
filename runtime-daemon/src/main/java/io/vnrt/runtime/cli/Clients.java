package io.vnrt.runtime.cli;

import io.vnrt.client.VnrtClient;
import picocli.CommandLine;

/** Opens the SDK client for a --target, turning a malformed target into a usage error. */
final class Clients {
  private Clients() {
  }

  static VnrtClient connect(CommandLine.Model.CommandSpec spec, String target) {
    try {
      return VnrtClient.connect(target);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }
}
