package io.vnrt.runtime.server;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * How the network listeners authenticate clients: TLS (mutual when a client CA is given) on the
 * TCP listener, and bearer tokens checked on TCP and the Unix socket. The in-process listener
 * trusts its own process.
 *
 * @param tls the TCP listener's certificate, key and optional client CA; empty: plaintext
 * @param authToken the token every vnrt call must carry; empty: no token needed
 * @param adminToken the token the Admin service needs (also accepted everywhere else); empty:
 *     Admin calls are refused
 * @param shmAllow glob patterns of file names under /dev/shm that any client may register as shared memory;
 *     other files only for a caller whose user owns them ({@code --shm-allow})
 */
public record Security(Optional<Tls> tls, Optional<String> authToken, Optional<String> adminToken,
    List<String> shmAllow) {
  /** Plaintext, no tokens, Admin disabled, shared memory only for files the caller owns. */
  public static final Security NONE = new Security(Optional.empty(), Optional.empty(), Optional.empty());

  /** Copies the list. */
  public Security {
    shmAllow = List.copyOf(shmAllow);
  }

  /** Shared memory only for files the caller owns. */
  public Security(Optional<Tls> tls, Optional<String> authToken, Optional<String> adminToken) {
    this(tls, authToken, adminToken, List.of());
  }

  /**
   * PEM files of the TCP listener's TLS.
   *
   * @param certChain the server certificate chain
   * @param privateKey its PKCS#8 private key
   * @param clientCa CA certificates client certificates must chain to; present: clients must
   *     present one (mutual TLS)
   */
  public record Tls(Path certChain, Path privateKey, Optional<Path> clientCa) {
    /** The server credentials, or IOException naming the file that cannot be read. */
    ServerCredentials credentials() throws IOException {
      TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder();
      try {
        builder.keyManager(certChain.toFile(), privateKey.toFile());
      } catch (IOException e) {
        throw new IOException("cannot read --tls-cert " + certChain + " or --tls-key " + privateKey + ": " + e, e);
      }
      if (clientCa.isPresent()) {
        try {
          builder.trustManager(clientCa.get().toFile());
        } catch (IOException e) {
          throw new IOException("cannot read --tls-client-ca " + clientCa.get() + ": " + e, e);
        }
        builder.clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
      }
      return builder.build();
    }

    /** The same certificate, key and client CA for the REST listener (Netty's TLS, the JDK's provider). */
    SslContext httpContext() throws IOException {
      SslContextBuilder b;
      try {
        b = SslContextBuilder.forServer(certChain.toFile(), privateKey.toFile());
        if (clientCa.isPresent()) {
          b.trustManager(clientCa.get().toFile()).clientAuth(ClientAuth.REQUIRE);
        }
        return b.applicationProtocolConfig(new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "http/1.1")).build();
      } catch (IllegalArgumentException | SSLException e) {
        throw new IOException("cannot use --tls-cert " + certChain + " / --tls-key " + privateKey
            + " for the REST listener: " + e.getMessage(), e);
      }
    }
  }

  /**
   * Reads a token file: its content without surrounding white space. IOException when missing or
   * empty, naming the option.
   */
  public static String readToken(Path file, String option) throws IOException {
    String token;
    try {
      token = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new IOException("cannot read " + option + " " + file + ": " + e.getMessage(), e);
    }
    if (token.isEmpty()) {
      throw new IOException(option + " " + file + " is empty; expected a token of at least 16 characters");
    }
    if (token.length() < 16 || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new IOException(option + " " + file + " holds " + token.length() + " characters; expected a token of at "
          + "least 16 printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)");
    }
    return token;
  }
}
