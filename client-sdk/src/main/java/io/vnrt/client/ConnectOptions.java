package io.vnrt.client;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link VnrtClient#connect(String, ConnectOptions)} authenticates: TLS trusting a CA (PEM),
 * optionally presenting a client certificate for mutual TLS, and a bearer token sent as
 * "authorization: Bearer TOKEN" on every call. Immutable; start from {@link #plaintext()}.
 *
 * <pre>{@code
 * VnrtClient.connect("vnrt.example:50051", ConnectOptions.plaintext()
 *     .withTrustedCa(Path.of("ca.pem"))
 *     .withClientCertificate(Path.of("client.pem"), Path.of("client-key.pem"))
 *     .withBearerToken(token));
 * }</pre>
 *
 * @param trustedCa CA certificates (PEM) the daemon's certificate must chain to; present: TLS
 * @param clientCertificate the client's certificate chain (PEM) for mutual TLS
 * @param clientKey the client's PKCS#8 private key (PEM)
 * @param bearerToken the token of the daemon's --auth-token-file (or --admin-token-file)
 * @param authority the host name the daemon's certificate must name, when not the target's
 */
public record ConnectOptions(Optional<Path> trustedCa, Optional<Path> clientCertificate, Optional<Path> clientKey,
    Optional<String> bearerToken, Optional<String> authority) {

  /** Checks that a client certificate comes with its key, and that both need TLS. */
  public ConnectOptions {
    Objects.requireNonNull(trustedCa);
    Objects.requireNonNull(bearerToken);
    Objects.requireNonNull(authority);
    if (clientCertificate.isPresent() != clientKey.isPresent()) {
      throw new IllegalArgumentException("a client certificate needs its private key and the other way round");
    }
    if (clientCertificate.isPresent() && trustedCa.isEmpty()) {
      throw new IllegalArgumentException("a client certificate is sent over TLS only: give the trusted CA too");
    }
  }

  /** No TLS and no token: what {@link VnrtClient#connect(String)} uses. */
  public static ConnectOptions plaintext() {
    return new ConnectOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty());
  }

  /** With TLS, trusting the CA certificates in this PEM file. */
  public ConnectOptions withTrustedCa(Path caPem) {
    return new ConnectOptions(Optional.of(caPem), clientCertificate, clientKey, bearerToken, authority);
  }

  /** With a client certificate and key (PEM) for mutual TLS; needs {@link #withTrustedCa(Path)}. */
  public ConnectOptions withClientCertificate(Path certificatePem, Path privateKeyPem) {
    return new ConnectOptions(trustedCa, Optional.of(certificatePem), Optional.of(privateKeyPem), bearerToken,
        authority);
  }

  /** With a bearer token sent on every call. */
  public ConnectOptions withBearerToken(String token) {
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException("bearer token is empty");
    }
    return new ConnectOptions(trustedCa, clientCertificate, clientKey, Optional.of(token.strip()), authority);
  }

  /** Expecting the daemon's certificate to name {@code host} instead of the target's host. */
  public ConnectOptions withAuthority(String host) {
    return new ConnectOptions(trustedCa, clientCertificate, clientKey, bearerToken, Optional.of(host));
  }

  /** True when the connection uses TLS. */
  public boolean tls() {
    return trustedCa.isPresent();
  }
}
