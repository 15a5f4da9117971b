package io.vnrt.runtime.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.handler.ssl.SslContext;
import io.vnrt.client.internal.BulkHttp2;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ModelGrpc;
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
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a {@link VnrtRuntime} over gRPC: TCP and a Unix domain socket through Netty, and an
 * in-process transport for the embedded mode, each with the same services, plus
 * grpc.health.v1 and server reflection.
 */
public final class DaemonServer implements AutoCloseable {
  /** The message size limit when none is given (--max-message-size): 1 GiB. */
  public static final long DEFAULT_MAX_MESSAGE_BYTES = 1L << 30;
  /** The largest limit gRPC can take: its messages have 32-bit lengths. */
  public static final long MAX_MESSAGE_BYTES = Integer.MAX_VALUE;

  /** Initial HTTP/2 window: about four of the SDK's 4 MiB chunks in flight before an acknowledgement. */
  static final int FLOW_CONTROL_WINDOW_BYTES = 16 << 20;

  private static final Logger log = LoggerFactory.getLogger(DaemonServer.class);

  /**
   * Where to listen; at least one must be present.
   *
   * @param tcp a TCP address (port 0 picks a free port)
   * @param unixSocket a Unix domain socket path (a stale socket file is replaced)
   * @param inProcessName the name of an in-process server
   * @param healthTcp a plaintext TCP address serving only grpc.health.v1, for probes that cannot
   *     speak TLS or send tokens (kubelet's gRPC probes, the container HEALTHCHECK)
   * @param http a TCP address serving KServe v2's REST binding (with the TCP listener's TLS and tokens)
   */
  public record Listeners(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, Optional<String> inProcessName,
      Optional<InetSocketAddress> healthTcp, Optional<InetSocketAddress> http) {
    /** Checks that something listens. */
    public Listeners {
      if (tcp.isEmpty() && unixSocket.isEmpty() && inProcessName.isEmpty()) {
        throw new IllegalArgumentException("nothing to listen on: give a TCP address, a Unix socket or both");
      }
    }

    /** The listeners without a REST listener. */
    public Listeners(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, Optional<String> inProcessName,
        Optional<InetSocketAddress> healthTcp) {
      this(tcp, unixSocket, inProcessName, healthTcp, Optional.empty());
    }

    /** The listeners without a separate health port or a REST listener. */
    public Listeners(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, Optional<String> inProcessName) {
      this(tcp, unixSocket, inProcessName, Optional.empty(), Optional.empty());
    }

    /** The same listeners with a REST listener on {@code address}. */
    public Listeners withHttp(InetSocketAddress address) {
      return new Listeners(tcp, unixSocket, inProcessName, healthTcp, Optional.of(address));
    }
  }

  /**
   * How the daemon serves, besides where and how securely.
   *
   * @param modelRepository what KServe's RepositoryModelLoad reads (Triton's layout, DIR/name/version/model.onnx)
   * @param repositoryWarmup how long RepositoryModelLoad warms a model up before it answers
   * @param maxMessageBytes the largest message (or REST body) a client may send, 1 byte to {@link #MAX_MESSAGE_BYTES}
   * @param httpReadTimeout how long a REST request's body may stop arriving before it is answered 408
   * @param limits idle streams and connections: timeouts and the per-peer connection limit
   */
  public record Options(Optional<Path> modelRepository, Duration repositoryWarmup, long maxMessageBytes,
      Duration httpReadTimeout, ServerLimits limits) {
    /** How long a REST body may stall by default. */
    public static final Duration DEFAULT_HTTP_READ_TIMEOUT = Duration.ofSeconds(30);
    /** No repository, no warm-up, the default message limit. */
    public static final Options DEFAULT = new Options(Optional.empty(), Duration.ZERO, DEFAULT_MAX_MESSAGE_BYTES);

    /** Checks the limit and the timeout. */
    public Options {
      if (maxMessageBytes < 1 || maxMessageBytes > MAX_MESSAGE_BYTES) {
        throw new IllegalArgumentException("the message size limit must be 1 byte to " + MAX_MESSAGE_BYTES
            + " (2 GiB - 1, gRPC's largest), got " + maxMessageBytes);
      }
      if (httpReadTimeout.isNegative() || httpReadTimeout.isZero()) {
        throw new IllegalArgumentException("the REST read timeout must be positive, got " + httpReadTimeout);
      }
    }

    /** With the default REST read timeout and limits. */
    public Options(Optional<Path> modelRepository, Duration repositoryWarmup, long maxMessageBytes) {
      this(modelRepository, repositoryWarmup, maxMessageBytes, DEFAULT_HTTP_READ_TIMEOUT, ServerLimits.DEFAULTS);
    }

    /** The same options with another REST read timeout. */
    public Options withHttpReadTimeout(Duration timeout) {
      return new Options(modelRepository, repositoryWarmup, maxMessageBytes, timeout, limits);
    }

    /** The same options with other limits on idle streams and connections. */
    public Options withLimits(ServerLimits other) {
      return new Options(modelRepository, repositoryWarmup, maxMessageBytes, httpReadTimeout, other);
    }
  }

  private final HealthStatusManager health;
  private final List<String> serviceNames;
  private final DrainGate gate;
  private final List<Server> servers;
  private final Optional<InetSocketAddress> tcpAddress;
  private final Optional<Path> unixSocket;
  private final Optional<String> inProcessName;
  private final List<EventLoopGroup> eventLoops;
  private final StreamIdleWatch idleStreams;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final MonitorService monitor;
  private final Optional<InetSocketAddress> healthAddress;
  private final HttpFrontEnd http;

  private DaemonServer(HealthStatusManager health, List<String> serviceNames, DrainGate gate, List<Server> servers,
      Optional<InetSocketAddress> tcpAddress, Optional<Path> unixSocket, Optional<String> inProcessName,
      List<EventLoopGroup> eventLoops, MonitorService monitor, Optional<InetSocketAddress> healthAddress,
      StreamIdleWatch idleStreams, HttpFrontEnd http) {
    this.idleStreams = idleStreams;
    this.healthAddress = healthAddress;
    this.http = http;
    this.health = health;
    this.serviceNames = serviceNames;
    this.gate = gate;
    this.servers = servers;
    this.tcpAddress = tcpAddress;
    this.unixSocket = unixSocket;
    this.inProcessName = inProcessName;
    this.eventLoops = eventLoops;
    this.monitor = monitor;
  }

  /** Starts a server per listener, plaintext, without tokens or a KServe model repository; on failure, stops those already started. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners) throws IOException {
    return start(runtime, listeners, Security.NONE, Optional.empty());
  }

  /** Starts a server per listener with {@code security}, without a KServe model repository. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Security security) throws IOException {
    return start(runtime, listeners, security, Optional.empty());
  }

  /**
   * Starts a server per listener with {@code security} on the network listeners (TLS on TCP,
   * tokens on TCP and the Unix socket); KServe's RepositoryModelLoad reads {@code modelRepository}
   * (Triton's layout, DIR/name/version/model.onnx) when given. On failure, stops those already started.
   */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Security security,
      Optional<Path> modelRepository) throws IOException {
    return start(runtime, listeners, security, modelRepository, Duration.ZERO);
  }

  /** As above; models RepositoryModelLoad loads are warmed up for {@code repositoryWarmup} before it answers. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Security security,
      Optional<Path> modelRepository, Duration repositoryWarmup) throws IOException {
    return start(runtime, listeners, security, new Options(modelRepository, repositoryWarmup,
        DEFAULT_MAX_MESSAGE_BYTES));
  }

  /** As above, with {@code limits} on idle streams and connections. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Security security,
      Optional<Path> modelRepository, Duration repositoryWarmup, ServerLimits limits) throws IOException {
    return start(runtime, listeners, security, new Options(modelRepository, repositoryWarmup,
        DEFAULT_MAX_MESSAGE_BYTES).withLimits(limits));
  }

  /** Starts a server per listener with {@code security} and {@code options}; on failure, stops those already started. */
  public static DaemonServer start(VnrtRuntime runtime, Listeners listeners, Security security, Options options)
      throws IOException {
    Optional<Path> modelRepository = options.modelRepository();
    ServerLimits limits = options.limits();
    if (modelRepository.isPresent() && !Files.isDirectory(modelRepository.get())) {
      throw new IOException("model repository " + modelRepository.get() + " is not a directory; create it (with "
          + "NAME/VERSION/model.onnx inside) or drop --model-repository");
    }
    HealthStatusManager health = new HealthStatusManager();
    SessionInterceptor sessions = new SessionInterceptor(runtime.sessions(), RuntimeService.NO_SESSION);
    MonitorService monitor = new MonitorService(runtime);
    Connections connections = new Connections();
    KServeFrontEnd front = new KServeFrontEnd(runtime, modelRepository, options.repositoryWarmup());
    KServeService kserve = new KServeService(front);
    connections.onClose(kserve::connectionClosed);
    CallerIdentity callers = new CallerIdentity(security.shmAllow());
    StreamIdleWatch idleStreams = new StreamIdleWatch(runtime.config().ticker(), limits.streamIdleTimeout(), true);
    MessageSizeLimit sizeLimit = new MessageSizeLimit(options.maxMessageBytes());
    List<ServerServiceDefinition> services = services(runtime, sessions, monitor, health, kserve, callers, idleStreams,
        sizeLimit, options.maxMessageBytes(), true);
    DrainGate gate = new DrainGate();
    // credentials first: a refused caller never counts as work in progress
    AuthInterceptor auth = new AuthInterceptor(security.authToken(), security.adminToken());
    List<ServerInterceptor> network = List.of(auth, gate);

    List<Server> started = new ArrayList<>();
    EventLoopGroup unixLoops = null;
    HttpFrontEnd rest = null;
    EventLoopGroup tcpLoops = null;
    try {
      Optional<InetSocketAddress> bound = Optional.empty();
      if (listeners.tcp().isPresent()) {
        NettyServerBuilder builder = security.tls().isPresent()
            ? NettyServerBuilder.forAddress(listeners.tcp().get(), security.tls().get().credentials())
            : NettyServerBuilder.forAddress(listeners.tcp().get());
        int maxPerPeer = limits.maxConnectionsPerPeer();
        tcpLoops = ListenerChannels.tcpLoops();
        builder.channelFactory(() -> ListenerChannels.tcp(maxPerPeer))
            .bossEventLoopGroup(tcpLoops).workerEventLoopGroup(tcpLoops)
            .withChildOption(ChannelOption.ALLOCATOR, BulkHttp2.ALLOCATOR);
        Server server = configure(builder, services, network, options.maxMessageBytes(), limits, connections).build()
            .start();
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
        started.add(startOwnerOnlySocket(path, unixLoops, services, network, options.maxMessageBytes(), limits,
            connections));
      }
      Optional<InetSocketAddress> healthBound = Optional.empty();
      if (listeners.healthTcp().isPresent()) {
        // health only, plaintext and open: what it tells is already public through the probes
        Server probe = NettyServerBuilder.forAddress(listeners.healthTcp().get())
            .addService(health.getHealthService()).build().start();
        started.add(probe);
        healthBound = Optional.of((InetSocketAddress) probe.getListenSockets().getFirst());
      }
      if (listeners.inProcessName().isPresent()) {
        // handlers never block on I/O, so they may run on the caller's thread
        started.add(configure(InProcessServerBuilder.forName(listeners.inProcessName().get()).directExecutor(),
            services(runtime, sessions, monitor, health, kserve, callers, idleStreams, sizeLimit,
                options.maxMessageBytes(), false),
            List.of(gate), options.maxMessageBytes(), limits, connections).build().start());
      }
      if (listeners.http().isPresent()) {
        Optional<SslContext> tls = security.tls().isPresent()
            ? Optional.of(security.tls().get().httpContext()) : Optional.empty();
        try {
          rest = HttpFrontEnd.start(listeners.http().get(), tls, new HttpFrontEnd.Context(front, auth, gate,
              runtime.metrics(), options.maxMessageBytes(), options.httpReadTimeout(), security.shmAllow()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while binding the REST listener", e);
        } catch (RuntimeException e) {
          throw new IOException("cannot listen for REST on " + listeners.http().get() + ": " + e.getMessage(), e);
        }
      }
      List<String> names = new ArrayList<>();
      for (ServerServiceDefinition s : services) {
        names.add(s.getServiceDescriptor().getName());
        health.setStatus(s.getServiceDescriptor().getName(), ServingStatus.SERVING);
      }
      List<EventLoopGroup> loops = new ArrayList<>();
      if (unixLoops != null) {
        loops.add(unixLoops);
      }
      if (tcpLoops != null) {
        loops.add(tcpLoops);
      }
      return new DaemonServer(health, List.copyOf(names), gate, List.copyOf(started), bound,
          listeners.unixSocket().map(Path::toAbsolutePath), listeners.inProcessName(), List.copyOf(loops), monitor,
          healthBound, idleStreams, rest);
    } catch (IOException | RuntimeException e) {
      started.forEach(Server::shutdownNow);
      if (rest != null) {
        rest.close();
      }
      monitor.close();
      idleStreams.close();
      for (EventLoopGroup group : new EventLoopGroup[] {unixLoops, tcpLoops}) {
        if (group != null) {
          group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
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
      MonitorService monitor, HealthStatusManager health, KServeService kserve, CallerIdentity callers,
      StreamIdleWatch idleStreams, MessageSizeLimit sizeLimit, long maxMessageBytes, boolean serializing) {
    List<ServerServiceDefinition> services = new ArrayList<>();
    services.add(withSession(new RuntimeService(runtime, maxMessageBytes), sessions, sizeLimit));
    services.add(withSession(new MemoryService(runtime, serializing, idleStreams), sessions, sizeLimit));
    services.add(withSession(new ModelService(runtime.models(), idleStreams), sessions, sizeLimit));
    services.add(withSession(new ExecutionService(runtime.models()), sessions, sizeLimit));
    services.add(limited(monitor.bindService(), sizeLimit));
    services.add(limited(new AdminService(runtime.sessions(), runtime.config().ticker()).bindService(), sizeLimit));
    // KServe calls carry no vnrt session: they act in the daemon's own "kserve" session
    services.add(limited(kserve.bindService(), sizeLimit));
    services.add(health.getHealthService().bindService());
    // outermost first: the request id is in the MDC for everything below, the status counted last
    CallMetricsInterceptor callMetrics = new CallMetricsInterceptor(runtime.metrics());
    RequestIdInterceptor requestIds = new RequestIdInterceptor();
    return services.stream()
        .map(s -> ParseGuard.guard(ServerInterceptors.intercept(s, callers, callMetrics, requestIds)))
        .toList();
  }

  private static ServerServiceDefinition withSession(BindableService service, SessionInterceptor sessions,
      MessageSizeLimit sizeLimit) {
    return ServerInterceptors.intercept(limited(service.bindService(), sizeLimit), sessions);
  }

  /**
   * The service with its bulk requests parsed aliasing the transport's buffers, and every request
   * checked against the message limit before it is parsed.
   */
  private static ServerServiceDefinition limited(ServerServiceDefinition service, MessageSizeLimit sizeLimit) {
    // the size limit sees a request first; a unary request's buffers are then held until its call ends
    return ServerInterceptors.intercept(ServerInterceptors.useInputStreamMessages(
        Marshalling.withMarshallers(service, ALIASED_REQUESTS, BULK_RESPONSES)), HELD_REQUESTS, sizeLimit);
  }

  /**
   * Methods whose requests carry tensors or model bytes, parsed by an AliasingMarshaller: their
   * handlers copy those bytes (into HBM, the upload, an execution's input) before onMessage returns, or,
   * for unary calls, whose handlers run later, while {@link HeldRequestBuffers} holds them.
   */
  private static final Set<String> ALIASED_REQUESTS = Set.of(
      MemoryGrpc.getWriteTensorMethod().getFullMethodName(),
      ModelGrpc.getLoadModelMethod().getFullMethodName(),
      ExecutionGrpc.getExecuteMethod().getFullMethodName(),
      ExecutionGrpc.getExecuteStreamMethod().getFullMethodName(),
      GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName(),
      GRPCInferenceServiceGrpc.getModelStreamInferMethod().getFullMethodName(),
      GRPCInferenceServiceGrpc.getRepositoryModelLoadMethod().getFullMethodName());

  /**
   * Methods whose responses carry tensors in top-level bytes fields, written by a BulkMarshaller:
   * ReadTensor's chunks (which wrap the pinned HBM over Netty) and ModelInfer's raw outputs.
   */
  private static final Set<String> BULK_RESPONSES = Set.of(
      MemoryGrpc.getReadTensorMethod().getFullMethodName(),
      GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName());

  private static final HeldRequestBuffers HELD_REQUESTS = new HeldRequestBuffers(ALIASED_REQUESTS);

  /** {@code interceptors} run in list order, each before the services' own. */
  private static <T extends ServerBuilder<T>> T configure(T builder, List<ServerServiceDefinition> services,
      List<ServerInterceptor> interceptors, long maxMessageBytes, ServerLimits limits, Connections connections) {
    services.forEach(builder::addService);
    builder.addTransportFilter(connections);
    // the interceptor added last runs first
    interceptors.reversed().forEach(builder::intercept);
    BindableService reflection = ProtoReflectionServiceV1.newInstance();
    builder.addService(reflection);
    // the transport reads a little past the limit, so that MessageSizeLimit refuses such messages as requests
    builder.maxInboundMessageSize(MessageSizeLimit.transportLimit(maxMessageBytes));
    builder.decompressorRegistry(Compression.decompressors()).compressorRegistry(Compression.compressors());
    if (builder instanceof NettyServerBuilder netty) {
      // notice vanished clients (their streams are cancelled, their sessions then expire)
      netty.initialFlowControlWindow(FLOW_CONTROL_WINDOW_BYTES);
      netty.keepAliveTime(30, TimeUnit.SECONDS).keepAliveTimeout(10, TimeUnit.SECONDS)
          .permitKeepAliveTime(10, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true);
      if (!limits.maxConnectionIdle().isZero()) {
        // a connection with no call for this long gets a GOAWAY: held-open idle connections do not pile up
        netty.maxConnectionIdle(limits.maxConnectionIdle().toNanos(), TimeUnit.NANOSECONDS);
      }
    }
    return builder;
  }

  /**
   * Binds the Unix socket inside a fresh owner-only directory next to {@code path}, makes it
   * owner-only (0600), then moves it into place: no other user can connect between bind and chmod.
   */
  private static Server startOwnerOnlySocket(Path path, EventLoopGroup loops, List<ServerServiceDefinition> services,
      List<ServerInterceptor> interceptors, long maxMessageBytes, ServerLimits limits, Connections connections)
      throws IOException {
    Path parent = path.getParent();
    Path staging = Files.createTempDirectory(parent, ".vnrt-sock-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path bound = staging.resolve("s");
    Server server = null;
    try {
      NettyServerBuilder builder = NettyServerBuilder.forAddress(new DomainSocketAddress(bound.toString()))
          .channelFactory(ListenerChannels::unix)
          .withChildOption(ChannelOption.ALLOCATOR, BulkHttp2.ALLOCATOR)
          .bossEventLoopGroup(loops)
          .workerEventLoopGroup(loops);
      server = configure(builder, services, interceptors, maxMessageBytes, limits, connections).build().start();
      Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
      Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
      return server;
    } catch (IOException | RuntimeException e) {
      if (server != null) {
        server.shutdownNow();
      }
      Files.deleteIfExists(bound);
      throw e;
    } finally {
      Files.deleteIfExists(staging);
    }
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

  /** The bound address of the health-only plaintext listener, if one was asked for. */
  public Optional<InetSocketAddress> healthAddress() {
    return healthAddress;
  }

  /** The bound address of the REST listener, if one was asked for. */
  public Optional<InetSocketAddress> httpAddress() {
    return Optional.ofNullable(http).map(HttpFrontEnd::address);
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

  /**
   * Starts draining: health turns NOT_SERVING for every service and new work is refused with
   * UNAVAILABLE, while calls in progress go on. Idempotent.
   */
  public void beginDrain() {
    if (gate.isDraining()) {
      return;
    }
    gate.startDraining();
    health.setStatus("", ServingStatus.NOT_SERVING);
    serviceNames.forEach(n -> health.setStatus(n, ServingStatus.NOT_SERVING));
    log.info("draining: refusing new work, {} calls in progress", gate.inFlight());
  }

  /** Waits up to {@code timeout} for the calls in progress to end; true if they all did. */
  public boolean awaitDrained(Duration timeout) throws InterruptedException {
    boolean idle = gate.awaitIdle(timeout);
    if (idle) {
      log.info("drained: no call in progress");
    } else {
      log.warn("drain timeout of {} ms passed with {} calls still in progress; they will be cancelled",
          timeout.toMillis(), gate.inFlight());
    }
    return idle;
  }

  /** {@link #beginDrain()}, then {@link #awaitDrained(Duration)}. */
  public boolean drain(Duration timeout) throws InterruptedException {
    beginDrain();
    return awaitDrained(timeout);
  }

  /** Ends the client streams idle past the stream idle timeout now (the watch also does once a second); how many. */
  int expireIdleStreams() {
    return idleStreams.sweep();
  }

  /** Calls in progress (health and reflection not counted). */
  public int callsInProgress() {
    return gate.inFlight();
  }

  /** Stops with a 5 s grace period for calls in progress. */
  @Override
  public void close() {
    close(Duration.ofSeconds(5));
  }

  /**
   * Turns health to NOT_SERVING, refuses new calls, gives those in progress {@code grace} to
   * finish, cancels the rest, and removes the socket file. Only the first call does anything.
   */
  public void close(Duration grace) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    monitor.close();
    if (http != null) {
      http.close();
    }
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
    idleStreams.close();
    for (EventLoopGroup group : eventLoops) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
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
