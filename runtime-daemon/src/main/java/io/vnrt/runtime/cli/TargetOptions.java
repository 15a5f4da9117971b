package io.vnrt.runtime.cli;

import io.grpc.Status;
import io.vnrt.client.VnrtException;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to a running daemon. */
final class TargetOptions {
  /** The daemon's default address. */
  static final String DEFAULT_TARGET = "127.0.0.1:50051";

  @Option(names = "--target", paramLabel = "TARGET", defaultValue = DEFAULT_TARGET,
      description = "Daemon address: host:port or unix:/path (default: ${DEFAULT-VALUE}).")
  String target;

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  /** A message for a failed call, with what to do when the daemon is unreachable. */
  String explain(VnrtException e) {
    if (e.code() == Status.Code.UNAVAILABLE) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      return "cannot reach a vnrt daemon at " + target + ": " + e.getMessage()
          + (root == e ? "" : " (" + root.getMessage() + ")")
          + "\nStart one with `bin/vnrt daemon`, or pass --target.";
    }
    return "the daemon at " + target + " refused: " + e.getMessage();
  }
}
