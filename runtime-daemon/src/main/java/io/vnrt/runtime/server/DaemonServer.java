package io.vnrt.runtime.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a {@link VnrtRuntime} over gRPC: TCP and a Unix domain socket through Netty, and an
 * in-process transport for the embedded mode, each with the same services, plus
 * grpc.health.v1 and server reflection.
 */
public final class DaemonServer implements AutoCloseable {
  /** Largest inbound message: a 16 MiB chunk plus room for its envelope. */
  public static final int MAX_INBOUND_MESSAGE_BYTES = RuntimeConfig.MAX_CHUNK_BYTES + (64 << 10);

  /** Initial HTTP/2 window: several 1 MiB chunks in flight before the first acknowledgement (auto-tuned beyond). */
  static final int FLOW_CONTROL_WINDOW_BYTES = 8 << 20;

  private static final Logger log = LoggerFactory.getLogger(DaemonServer.class);

  /**
   * Where to listen; at least one must be present.
   *
   * @param tcp a TCP address (port 0 picks a free port)
   * @param unixSocket a Unix domain socket path (a stale socket file is replaced)
   * @param inProcessName the name of an in-process server
   */
  public record Listeners(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, Optional<String> inProcessName) {
    /** Checks that something listens. */
    public Listeners {
      if (tcp.isEmpty() && unixSocket.isEmpty() && inProcessName.isEmpty()) {
        throw new IllegalArgumentException("nothing to listen on: give a TCP address, a Unix socket or both");
      }
    }
  }

  private final HealthStatusManager health;
  private final List<Server> servers;
  private final Optional<InetSocketAddress> tcpAddress;
  private final Optional<Path> unixSocket;
  private final Optional<String> inProcessName;
  private final EventLoopGroup unixEventLoops;

  private DaemonServer(HealthStatusManager health, List<Server> servers, Optional<InetSocketAddress> tcpAddress,
      Optional<Path> unixSocket, Optional<String> inProcessName, EventLoopGroup unixEventLoops) {
    this.health = health;
    this.servers = servers;
    this.tcpAddress = tcpAddress;
    this.unixSocket = unixSocket;
    this.inProcessName = inProcessName;
    this.unixEventLoops = unixEventLoops;
  }

  /** Starts a server per listener, without a KServe model repository; on failure, stops those already started. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners) throws IOException {
    return start(runtime, listeners, Optional.empty());
  }

  /**
   * Starts a server per listener; KServe's RepositoryModelLoad reads {@code modelRepository}
   * (Triton's layout, DIR/name/version/model.onnx) when given. On failure, stops those already started.
   */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Optional<Path> modelRepository)
      throws IOException {
    if (modelRepository.isPresent() && !Files.isDirectory(modelRepository.get())) {
      throw new IOException("model repository " + modelRepository.get() + " is not a directory; create it (with "
          + "NAME/VERSION/model.onnx inside) or drop --model-repository");
    }
    HealthStatusManager health = new HealthStatusManager();
    SessionInterceptor sessions = new SessionInterceptor(runtime.sessions(), RuntimeService.NO_SESSION);
    KServeService kserve = new KServeService(runtime, modelRepository);
    List<ServerServiceDefinition> services = services(runtime, sessions, health, kserve, true);

    List<Server> started = new ArrayList<>();
    EventLoopGroup unixLoops = null;
    try {
      Optional<InetSocketAddress> bound = Optional.empty();
      if (listeners.tcp().isPresent()) {
        Server server = configure(NettyServerBuilder.forAddress(listeners.tcp().get()), services).build().start();
        started.add(server);
        bound = Optional.of((InetSocketAddress) server.getListenSockets().getFirst());
      }
      if (listeners.unixSocket().isPresent()) {
        Path path = listeners.unixSocket().get().toAbsolutePath();
        if (!Epoll.isAvailable()) {
          throw new IOException("Unix domain sockets need Netty's epoll transport, unavailable here: "
              + Epoll.unavailabilityCause());
        }
        replaceStaleSocket(path);
        unixLoops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new DomainSocketAddress(path.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(unixLoops)
            .workerEventLoopGroup(unixLoops);
        started.add(configure(builder, services).build().start());
      }
      if (listeners.inProcessName().isPresent()) {
        // handlers never block on I/O, so they may run on the caller's thread
        started.add(configure(InProcessServerBuilder.forName(listeners.inProcessName().get()).directExecutor(),
            services(runtime, sessions, health, kserve, false)).build().start());
      }
      for (ServerServiceDefinition s : services) {
        health.setStatus(s.getServiceDescriptor().getName(), ServingStatus.SERVING);
      }
      return new DaemonServer(health, List.copyOf(started), bound, listeners.unixSocket().map(Path::toAbsolutePath),
          listeners.inProcessName(), unixLoops);
    } catch (IOException | RuntimeException e) {
      started.forEach(Server::shutdownNow);
      if (unixLoops != null) {
        unixLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      throw e;
    }
  }

  /**
   * The services of one listener. {@code serializing}: the transport serializes each message
   * while it is being sent (Netty), so read chunks may alias HBM; the in-process transport hands
   * the message object itself to the client, which must then get a copy.
   */
  private static List<ServerServiceDefinition> services(VnrtRuntime runtime, SessionInterceptor sessions,
      HealthStatusManager health, KServeService kserve, boolean serializing) {
    List<ServerServiceDefinition> services = new ArrayList<>();
    services.add(ServerInterceptors.intercept(new RuntimeService(runtime, MAX_INBOUND_MESSAGE_BYTES), sessions));
    services.add(ServerInterceptors.intercept(new MemoryService(runtime, serializing), sessions));
    services.add(ServerInterceptors.intercept(new ModelService(runtime.models()), sessions));
    services.add(ServerInterceptors.intercept(new ExecutionService(runtime.models()), sessions));
    services.addAll(PlannedServices.all());
    // KServe calls carry no vnrt session: they act in the daemon's own "kserve" session
    services.add(kserve.bindService());
    services.add(health.getHealthService().bindService());
    return services;
  }

  private static <T extends ServerBuilder<T>> T configure(T builder, List<ServerServiceDefinition> services) {
    services.forEach(builder::addService);
    BindableService reflection = ProtoReflectionServiceV1.newInstance();
    builder.addService(reflection);
    builder.maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES);
    if (builder instanceof NettyServerBuilder netty) {
      // notice vanished clients (their streams are cancelled, their sessions then expire)
      netty.initialFlowControlWindow(FLOW_CONTROL_WINDOW_BYTES);
      netty.keepAliveTime(30, TimeUnit.SECONDS).keepAliveTimeout(10, TimeUnit.SECONDS)
          .permitKeepAliveTime(10, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true);
    }
    return builder;
  }

  /** Removes a socket file nobody listens on; refuses to touch a live socket or a non-socket file. */
  private static void replaceStaleSocket(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
      throw new IOException(path + " exists and is not a socket; remove it or choose another --uds path");
    }
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(path));
      throw new IOException("another process is listening on " + path + "; stop it or choose another --uds path");
    } catch (ConnectException stale) {
      log.info("replacing stale socket {}", path);
      Files.delete(path);
    }
  }

  /** The bound TCP address (with the real port when 0 was asked for). */
  public Optional<InetSocketAddress> tcpAddress() {
    return tcpAddress;
  }

  /** The Unix socket path. */
  public Optional<Path> unixSocket() {
    return unixSocket;
  }

  /** The in-process server's name. */
  public Optional<String> inProcessName() {
    return inProcessName;
  }

  /** Client targets for the listeners: "127.0.0.1:50051", "unix:/run/vnrt.sock", "in-process:name". */
  public List<String> targets() {
    List<String> out = new ArrayList<>();
    tcpAddress.ifPresent(a -> out.add(hostPort(a)));
    unixSocket.ifPresent(p -> out.add("unix:" + p));
    inProcessName.ifPresent(n -> out.add("in-process:" + n));
    return out;
  }

  private static String hostPort(SocketAddress address) {
    InetSocketAddress a = (InetSocketAddress) address;
    String host = a.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** Blocks until every listener has stopped. */
  public void awaitTermination() throws InterruptedException {
    for (Server s : servers) {
      s.awaitTermination();
    }
  }

  /** Stops with a 5 s grace period for calls in progress. */
  @Override
  public void close() {
    close(Duration.ofSeconds(5));
  }

  /**
   * Turns health to NOT_SERVING, refuses new calls, gives those in progress {@code grace} to
   * finish, cancels the rest, and removes the socket file.
   */
  public void close(Duration grace) {
    health.enterTerminalState();
    servers.forEach(Server::shutdown);
    long deadline = System.nanoTime() + grace.toNanos();
    try {
      for (Server s : servers) {
        if (!s.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          s.shutdownNow();
          s.awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      servers.forEach(Server::shutdownNow);
      Thread.currentThread().interrupt();
    }
    if (unixEventLoops != null) {
      unixEventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    unixSocket.ifPresent(p -> {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        log.warn("could not remove socket {}: {}", p, e.getMessage());
      }
    });
  }
}
