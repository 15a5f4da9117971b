package io.vnrt.client.internal;

import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.ConnectOptions;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Builds the Netty channel for a target: {@code host:port} over TCP, {@code unix:/path} over a Unix socket. */
public final class Transports {
  /** The metadata key of the bearer token. */
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
      Metadata.ASCII_STRING_MARSHALLER);

  /** Largest message the SDK accepts: the daemon's default message limit (1 GiB), so large inline outputs arrive. */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 1 << 30;

  /** Initial HTTP/2 window: about four of the SDK's 4 MiB chunks in flight before an acknowledgement. */
  public static final int FLOW_CONTROL_WINDOW_BYTES = 16 << 20;

  private Transports() {
  }

  /**
   * A channel the SDK owns, with whatever else must stop with it.
   *
   * @param channel the gRPC channel
   * @param eventLoops the channel's own event loop group, or null
   */
  public record OwnedChannel(ManagedChannel channel, EventLoopGroup eventLoops) {
    /** Shuts the channel down, waiting up to five seconds for calls to end. */
    public void shutdown() {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      } finally {
        if (eventLoops != null) {
          eventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
      }
    }
  }

  /** Opens a plaintext channel to {@code target}: "host:port", "[v6]:port", "unix:/path" or "unix:///path". */
  public static OwnedChannel open(String target) {
    return open(target, ConnectOptions.plaintext());
  }

  /**
   * Opens a channel to {@code target} with TLS when the options trust a CA (TCP only), and the
   * bearer token attached to every call.
   */
  public static OwnedChannel open(String target, ConnectOptions options) {
    if (target == null || target.isBlank()) {
      throw new IllegalArgumentException("target is empty; expected host:port or unix:/path/to/socket");
    }
    if (target.startsWith("unix:")) {
      String path = target.substring("unix:".length());
      if (path.startsWith("//")) {
        path = path.substring(2);
      }
      if (options.tls()) {
        throw new IllegalArgumentException("TLS is for TCP targets; the Unix socket '" + target
            + "' is protected by its file permissions instead");
      }
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("unix target '" + target
            + "' needs an absolute path, e.g. unix:/run/vnrt.sock");
      }
      if (!Epoll.isAvailable()) {
        throw new IllegalStateException("Unix domain sockets need Netty's epoll transport, unavailable here: "
            + Epoll.unavailabilityCause());
      }
      EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
      ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(path))
          .channelFactory(() -> bulk(new EpollDomainSocketChannel()), DomainSocketAddress.class)
          .eventLoopGroup(group)
          .overrideAuthority("localhost")
          .withOption(ChannelOption.ALLOCATOR, BulkHttp2.ALLOCATOR)
          .usePlaintext()
          .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
          .initialFlowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
          .intercept(credentials(options))
          .build();
      return new OwnedChannel(channel, group);
    }
    int colon = target.lastIndexOf(':');
    if (colon <= 0 || colon == target.length() - 1) {
      throw new IllegalArgumentException("target '" + target
          + "' is not host:port or unix:/path (e.g. 127.0.0.1:50051)");
    }
    NettyChannelBuilder builder = options.tls()
        ? NettyChannelBuilder.forTarget(target, tlsCredentials(options))
        : NettyChannelBuilder.forTarget(target).usePlaintext();
    options.authority().ifPresent(builder::overrideAuthority);
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory()
        : NioIoHandler.newFactory());
    ManagedChannel channel = builder
        .eventLoopGroup(group)
        .channelFactory(() -> bulk(epoll ? new EpollSocketChannel() : new NioSocketChannel()))
        .withOption(ChannelOption.ALLOCATOR, BulkHttp2.ALLOCATOR)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .initialFlowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
        .intercept(credentials(options))
        .build();
    return new OwnedChannel(channel, group);
  }

  /** {@code channel}, set up for bulk bytes once gRPC's handler is in it. */
  private static Channel bulk(Channel channel) {
    BulkHttp2.configure(channel);
    return channel;
  }

  private static ChannelCredentials tlsCredentials(ConnectOptions options) {
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    Path ca = options.trustedCa().orElseThrow();
    try {
      tls.trustManager(ca.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the trusted CA file " + ca + ": " + e.getMessage(), e);
    }
    if (options.clientCertificate().isPresent()) {
      Path cert = options.clientCertificate().get();
      Path key = options.clientKey().orElseThrow();
      try {
        tls.keyManager(cert.toFile(), key.toFile());
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the client certificate " + cert + " or key " + key + ": "
            + e.getMessage(), e);
      }
    }
    return tls.build();
  }

  /** Attaches the bearer token, if any, to every call. */
  private static ClientInterceptor credentials(ConnectOptions options) {
    Metadata headers = new Metadata();
    options.bearerToken().ifPresent(t -> headers.put(AUTHORIZATION, "Bearer " + t));
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }
}
