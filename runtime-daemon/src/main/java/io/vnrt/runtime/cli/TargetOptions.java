package io.vnrt.runtime.cli;

import io.grpc.Status;
import io.vnrt.client.VnrtException;
import io.vnrt.client.ConnectOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to a running daemon. */
final class TargetOptions {
  /** The daemon's default address. */
  static final String DEFAULT_TARGET = "127.0.0.1:50051";
  /** Environment variable naming the token file when --token-file is absent. */
  static final String TOKEN_FILE_ENV = "VNRT_TOKEN_FILE";

  @Option(names = "--target", paramLabel = "TARGET", defaultValue = DEFAULT_TARGET,
      description = "Daemon address: host:port or unix:/path (default: ${DEFAULT-VALUE}).")
  String target;

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Use TLS, trusting the CA certificates in PEM.")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate for mutual TLS.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key (PKCS#8) of --tls-cert.")
  Path tlsKey;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "Send the bearer token in FILE (the daemon's --auth-token-file, or --admin-token-file for admin "
          + "commands); default: $VNRT_TOKEN_FILE, if set.")
  Path tokenFile;

  /** Connection options from the flags; IllegalArgumentException saying what is wrong. */
  ConnectOptions connectOptions() {
    ConnectOptions options = ConnectOptions.plaintext();
    if (tlsCa != null) {
      options = options.withTrustedCa(tlsCa);
    }
    if (tlsCert != null || tlsKey != null) {
      if (tlsCert == null || tlsKey == null || tlsCa == null) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together, and need --tls-ca");
      }
      options = options.withClientCertificate(tlsCert, tlsKey);
    }
    Path token = tokenFile != null ? tokenFile
        : Optional.ofNullable(System.getenv(TOKEN_FILE_ENV)).filter(v -> !v.isBlank()).map(Path::of).orElse(null);
    if (token != null) {
      try {
        options = options.withBearerToken(Files.readString(token, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read token file " + token + ": " + e.getMessage(), e);
      }
    }
    return options;
  }

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
