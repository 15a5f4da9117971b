package io.vnrt.runtime.cli;

import io.vnrt.client.ConnectOptions;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.NrtCode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * How every client command reaches its daemon: the one place that defines {@code --target},
 * {@code --tls-ca}, {@code --tls-cert}, {@code --tls-key} and {@code --token-file} (each
 * defaulting to its VNRT_* environment variable), opens the connection, and turns a failed call
 * into a message that says what was wrong and what to do.
 */
final class TargetOptions {
  /** The daemon's default address. */
  static final String DEFAULT_TARGET = "127.0.0.1:50051";
  /** Environment variable of the daemon address when --target is absent. */
  static final String TARGET_ENV = "VNRT_TARGET";
  /** Environment variable naming the token file when --token-file is absent. */
  static final String TOKEN_FILE_ENV = "VNRT_TOKEN_FILE";
  static final String TLS_CA_ENV = "VNRT_TLS_CA";
  static final String TLS_CERT_ENV = "VNRT_TLS_CERT";
  static final String TLS_KEY_ENV = "VNRT_TLS_KEY";

  /** How long the TLS probe behind a plaintext failure may take. */
  private static final int PROBE_TIMEOUT_MS = 2000;

  /**
   * gRPC's own log (java.util.logging), which would print a warning with a stack trace when a
   * name does not resolve: every failure reaches the command as a status and is explained there.
   * Held here so that the level set on it stays.
   */
  private static final Logger GRPC_LOG = Logger.getLogger("io.grpc");

  @Option(names = "--target", paramLabel = "TARGET",
      description = "Daemon address: host:port or unix:/path (default: $" + TARGET_ENV + ", else " + DEFAULT_TARGET
          + ").")
  private String target;

  @Option(names = "--tls-ca", paramLabel = "PEM",
      description = "Use TLS, trusting the CA certificates in PEM (default: $" + TLS_CA_ENV + ", if set).")
  private Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "PEM",
      description = "Client certificate for mutual TLS (default: $" + TLS_CERT_ENV + ", if set).")
  private Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM",
      description = "Private key (PKCS#8) of --tls-cert (default: $" + TLS_KEY_ENV + ", if set).")
  private Path tlsKey;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "Send the bearer token in FILE: the daemon's --auth-token-file, or its --admin-token-file for "
          + "sessions and reclaim (default: $" + TOKEN_FILE_ENV + ", if set).")
  private Path tokenFile;

  @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
  private CommandLine.Model.CommandSpec command;

  private final Map<String, String> env;
  private boolean admin;

  /** Options whose defaults come from {@code env} (the process's environment, or a map in tests). */
  TargetOptions(Map<String, String> env) {
    this.env = env;
  }

  /** The daemon address: --target, else $VNRT_TARGET, else 127.0.0.1:50051. */
  String target() {
    return target != null ? target : fromEnv(TARGET_ENV).orElse(DEFAULT_TARGET);
  }

  /** Marks the calls as Admin ones, so that a refused token is explained with --admin-token-file. */
  TargetOptions forAdmin() {
    admin = true;
    return this;
  }

  /** An SDK client for the target; malformed options are a usage error. */
  VnrtClient connect() {
    GRPC_LOG.setLevel(Level.OFF);
    try {
      return VnrtClient.connect(target(), connectOptions());
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  /** A raw channel to the target, for the services the SDK does not wrap; malformed options are a usage error. */
  Transports.OwnedChannel open() {
    GRPC_LOG.setLevel(Level.OFF);
    try {
      return Transports.open(target(), connectOptions());
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(command.commandLine(), message);
  }

  private Optional<Path> path(Path flag, String variable) {
    return flag != null ? Optional.of(flag) : fromEnv(variable).map(Path::of);
  }

  private Optional<String> fromEnv(String variable) {
    return Optional.ofNullable(env.get(variable)).filter(v -> !v.isBlank());
  }

  /** Connection options from the flags and the environment; IllegalArgumentException saying what is wrong. */
  ConnectOptions connectOptions() {
    ConnectOptions options = ConnectOptions.plaintext();
    Optional<Path> ca = path(tlsCa, TLS_CA_ENV);
    Optional<Path> cert = path(tlsCert, TLS_CERT_ENV);
    Optional<Path> key = path(tlsKey, TLS_KEY_ENV);
    if (ca.isPresent()) {
      options = options.withTrustedCa(readable(ca.get(), "--tls-ca"));
    }
    if (cert.isPresent() || key.isPresent()) {
      if (cert.isEmpty() || key.isEmpty() || ca.isEmpty()) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together, and need --tls-ca");
      }
      options = options.withClientCertificate(readable(cert.get(), "--tls-cert"), readable(key.get(), "--tls-key"));
    }
    Optional<Path> token = path(tokenFile, TOKEN_FILE_ENV);
    if (token.isPresent()) {
      try {
        options = options.withBearerToken(Files.readString(readable(token.get(), "--token-file"),
            StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --token-file " + token.get() + ": " + e.getMessage(), e);
      }
    }
    return options;
  }

  private static Path readable(Path file, String option) {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new IllegalArgumentException(option + " " + file + ": no readable file there");
    }
    return file;
  }

  /**
   * What a failed call means for the user, in a line or two: the daemon is not there (start one,
   * or pass --target), it speaks TLS and --tls-ca is missing, it does not speak TLS, its
   * certificate is not trusted, it wants a token or refused the one given, or what it said.
   */
  String explain(Throwable failure) {
    RuntimeException translated = Errors.translate(failure);
    if (!(translated instanceof VnrtException e)) {
      return String.valueOf(failure.getMessage());
    }
    String at = " at " + target();
    return switch (e.code()) {
      case UNAVAILABLE -> unavailable(e, at);
      case UNAUTHENTICATED, PERMISSION_DENIED -> refusedCredentials(e, at);
      case DEADLINE_EXCEEDED -> "the daemon" + at + " did not answer in time";
      default -> "the daemon" + at + " refused: " + e.code() + ": " + e.getMessage();
    };
  }

  private String refusedCredentials(VnrtException e, String at) {
    if (e.nrtCode() == NrtCode.NRT_CLOSED) {
      return "the daemon" + at + " ended the session: " + e.getMessage();
    }
    Optional<Path> token = path(tokenFile, TOKEN_FILE_ENV);
    if (token.isEmpty()) {
      return "the daemon" + at + " wants " + (admin ? "its admin token" : "a token") + ": pass --token-file FILE with "
          + "the token of its " + (admin ? "--admin-token-file" : "--auth-token-file") + ", or set " + TOKEN_FILE_ENV;
    }
    return "the daemon" + at + " refused the token in " + token.get() + ": " + e.getMessage();
  }

  private String unavailable(VnrtException e, String at) {
    Throwable root = rootCause(e);
    if (root instanceof UnknownHostException || e.getMessage().startsWith("Unable to resolve host")) {
      return "cannot resolve the host of --target " + target() + ": pass host:port of a running daemon";
    }
    if (has(e, SSLException.class) && root.getClass().getSimpleName().equals("NotSslRecordException")) {
      return "the daemon" + at + " does not speak TLS: drop --tls-ca (and --tls-cert, --tls-key), or start it with "
          + "--tls-cert and --tls-key";
    }
    String reason = String.valueOf(root.getMessage());
    String alert = reason.toUpperCase(Locale.ROOT);
    boolean clientCertificate = tlsCert != null || fromEnv(TLS_CERT_ENV).isPresent();
    if (alert.contains("CERTIFICATE_REQUIRED") && !clientCertificate) {
      return "the daemon" + at + " requires a client certificate (mutual TLS): pass --tls-cert PEM and --tls-key PEM, "
          + "signed by a CA of its --tls-client-ca";
    }
    if (clientCertificate && has(e, SSLException.class) && alert.contains("ALERT")) {
      // a client holding no certificate of the CAs the daemon asks for sends none: CERTIFICATE_REQUIRED too
      return "the daemon" + at + " refused the client certificate in --tls-cert (" + reason + "): pass one signed by a "
          + "CA of its --tls-client-ca";
    }
    if (has(e, CertificateException.class) || has(e, SSLException.class)) {
      return "TLS with the daemon" + at + " failed: " + reason + "; check that --tls-ca is the CA that signed its "
          + "--tls-cert" + (clientCertificate ? "" : " (and whether it wants a client certificate: --tls-cert, "
          + "--tls-key)");
    }
    if (root instanceof FileNotFoundException && target().startsWith("unix:")) {
      return "cannot reach a vnrt daemon" + at + " (no socket there); start one with `bin/vnrt daemon --uds PATH`, "
          + "or pass --target";
    }
    if (has(e, ConnectException.class)) {
      return "cannot reach a vnrt daemon" + at + " (" + connectProblem(root) + "); start one with `bin/vnrt daemon`, "
          + "or pass --target";
    }
    if (path(tlsCa, TLS_CA_ENV).isEmpty() && speaksTls()) {
      return "the daemon" + at + " speaks TLS: pass --tls-ca PEM, the CA certificate that signed its --tls-cert";
    }
    return "cannot reach a vnrt daemon" + at + " (" + e.getMessage() + (root == e ? "" : ": " + root.getMessage())
        + "); start one with `bin/vnrt daemon`, or pass --target";
  }

  private static String connectProblem(Throwable root) {
    String m = String.valueOf(root.getMessage());
    return m.contains("Connection refused") ? "connection refused" : m.contains("No such file") ? "no such socket" : m;
  }

  /**
   * Whether the target answers a TLS handshake: a plaintext client reaching a TLS daemon sees the
   * connection close without a word, so the CLI asks the port itself. The handshake uses the
   * JDK's default trust store and sends nothing else; an untrusted certificate still proves TLS.
   */
  private boolean speaksTls() {
    String t = target();
    int colon = t.lastIndexOf(':');
    if (t.startsWith("unix:") || colon <= 0) {
      return false;
    }
    String host = t.substring(0, colon).replaceAll("^\\[|]$", "");
    try (SSLSocket socket = (SSLSocket) SSLSocketFactory.getDefault().createSocket()) {
      socket.connect(new InetSocketAddress(host, Integer.parseInt(t.substring(colon + 1))), PROBE_TIMEOUT_MS);
      socket.setSoTimeout(PROBE_TIMEOUT_MS);
      socket.startHandshake();
      return true;
    } catch (SSLHandshakeException e) {
      return has(e, CertificateException.class) || String.valueOf(e.getMessage()).contains("fatal alert");
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static boolean has(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static Throwable rootCause(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }
}
