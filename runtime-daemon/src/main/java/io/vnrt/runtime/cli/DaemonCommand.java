package io.vnrt.runtime.cli;

import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.BackingChoice;
import io.vnrt.runtime.exec.DeviceSpec;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.exec.VisibleCores;
import io.vnrt.runtime.logging.JavaUtilLogging;
import io.vnrt.runtime.logging.LogFormat;
import io.vnrt.runtime.logging.LogSettings;
import io.vnrt.runtime.metrics.MetricsHttpServer;
import io.vnrt.runtime.server.DaemonServer;
import io.vnrt.runtime.server.ServiceWarmup;
import io.vnrt.runtime.server.EngineInfos;
import io.vnrt.runtime.server.Security;
import io.vnrt.runtime.server.ServerLimits;
import io.vnrt.runtime.session.QuotaLimits;
import java.nio.file.Files;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vnrt daemon}: owns the devices and serves them until SIGTERM or SIGINT, then drains.
 * Every setting comes from a flag, the environment, a config file or its default, in that order.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true,
    description = {"Start the daemon: create the devices' HBM pools and serve the vnrt API until SIGTERM/SIGINT.",
        "Each option may also come from the environment (VNRT_ and its name in upper case, e.g. VNRT_HBM) or from "
            + "the --config file ('hbm = 16GiB' lines); flags win over the environment, which wins over the file."})
final class DaemonCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(DaemonCommand.class);

  @Option(names = "--config", paramLabel = "FILE",
      description = "Read settings from FILE: 'key = value' lines, '#' comments (default: $VNRT_CONFIG, if set).")
  private Path configFile;

  @Option(names = "--print-config", description = "Print every effective setting and where it came from, then exit.")
  private boolean printConfig;

  @Option(names = "--profile", paramLabel = "NAME",
      description = "Device profile: cpu (one core per processor, 4 GiB), inf2 (2 cores, 32 GiB), trn1 (2 cores, "
          + "32 GiB), trn2 (8 cores, 96 GiB). Default: cpu.")
  private String profile;

  @Option(names = "--devices", paramLabel = "N", description = "Number of devices (default 1).")
  private String devices;

  @Option(names = "--cores-per-device", paramLabel = "N", description = "Cores per device (default: the profile's).")
  private String coresPerDevice;

  @Option(names = "--hbm", paramLabel = "SIZE",
      description = "HBM per device, e.g. 512MiB or 16GiB (default: the profile's).")
  private String hbm;

  @Option(names = "--visible-cores", paramLabel = "LIST",
      description = "Only these global cores exist for clients, e.g. 0-1,4 (default: all).")
  private String visibleCores;

  @Option(names = "--hbm-backing", paramLabel = "anonymous|DIR",
      description = "Map HBM from anonymous memory, or from sparse files in DIR such as /dev/shm. Default: anonymous.")
  private String backing;

  @Option(names = "--host-memory", paramLabel = "SIZE",
      description = "Limit of daemon host memory for PLACEMENT_HOST tensors. Default: 4GiB.")
  private String hostMemory;

  @Option(names = "--listen", paramLabel = "HOST:PORT",
      description = "TCP address (port 0 picks one; 'none' disables TCP). Default: 127.0.0.1:50051.")
  private String listen;

  @Option(names = "--uds", paramLabel = "PATH",
      description = "Also listen on this Unix domain socket, created owner-only (0600).")
  private String uds;

  @Option(names = "--lease-ttl-ms", paramLabel = "MS",
      description = "Session lease when a client asks for none. Default: 60000.")
  private String leaseTtlMs;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS on TCP with this certificate chain.")
  private String tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The PKCS#8 private key of --tls-cert.")
  private String tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "PEM",
      description = "Require client certificates chaining to these CAs (mutual TLS).")
  private String tlsClientCa;

  @Option(names = "--auth-token-file", paramLabel = "FILE",
      description = "Require 'authorization: Bearer <token>' with the token in FILE on TCP and the Unix socket "
          + "(health and reflection stay open).")
  private String authTokenFile;

  @Option(names = "--admin-token-file", paramLabel = "FILE",
      description = "Enable the Admin service (vnrt sessions, vnrt reclaim) for the token in FILE.")
  private String adminTokenFile;

  @Option(names = "--max-sessions", paramLabel = "N", description = "Sessions open at once (default 0: unlimited).")
  private String maxSessions;

  @Option(names = "--session-hbm-quota", paramLabel = "SIZE",
      description = "Device HBM one session's tensors and models (weights, scratch) may hold (default 0: unlimited).")
  private String sessionHbmQuota;

  @Option(names = "--session-model-quota", paramLabel = "N",
      description = "Models one session may load (default 0: unlimited).")
  private String sessionModelQuota;

  @Option(names = "--session-execution-quota", paramLabel = "N",
      description = "Executions one session may have in flight (default 0: unlimited).")
  private String sessionExecutionQuota;

  @Option(names = "--shm-allow", paramLabel = "PATTERNS",
      description = "Glob patterns (comma-separated) of /dev/shm file names any client may register as shared "
          + "memory; other files only for a client whose user owns them. Default: none.")
  private String shmAllow;

  @Option(names = "--stream-idle-timeout", paramLabel = "DURATION",
      description = "End a LoadModel or WriteTensor stream that sends nothing for this long (default 30s; 0s: never).")
  private String streamIdleTimeout;

  @Option(names = "--max-connection-idle", paramLabel = "DURATION",
      description = "Close a TCP connection with no call for this long (default 5m; 0s: never).")
  private String maxConnectionIdle;

  @Option(names = "--max-connections-per-peer", paramLabel = "N",
      description = "TCP connections one peer address may hold at once (default 64; 0: unlimited).")
  private String maxConnectionsPerPeer;

  @Option(names = "--drain-timeout", paramLabel = "DURATION",
      description = "On SIGTERM, how long calls in progress may take to finish, e.g. 30s (default 30s).")
  private String drainTimeout;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks one). Default: off.")
  private String metricsListen;

  @Option(names = "--log-format", paramLabel = "text|json",
      description = "Log lines as text or as one JSON object each. Default: text.")
  private String logFormat;

  @Option(names = "--log-level", paramLabel = "LEVEL",
      description = "Least severe level logged: trace, debug, info, warn, error. Default: info.")
  private String logLevel;

  @Option(names = "--health-listen", paramLabel = "HOST:PORT",
      description = "Also serve grpc.health.v1 alone, in plaintext and without tokens, on this address (for probes "
          + "when the main listener uses TLS or tokens). Default: none.")
  private String healthListen;

  @Option(names = "--model-repository", paramLabel = "DIR",
      description = "Models KServe's RepositoryModelLoad can load, in Triton's layout: DIR/NAME/VERSION/model.onnx.")
  private String modelRepository;

  @Option(names = "--repository-warmup", paramLabel = "DURATION",
      description = "Warm each model KServe's RepositoryModelLoad loads up for this long, symbolic dims 1, before the"
          + " load answers (default 0s: none).")
  private String repositoryWarmup;

  @Option(names = "--http-listen", paramLabel = "HOST:PORT",
      description = "Also serve KServe v2's REST binding (Triton's HTTP API, binary tensors included) on this "
          + "address, with the TCP listener's TLS and tokens (port 0 picks one). Default: none.")
  private String httpListen;

  @Option(names = "--max-message-size", paramLabel = "SIZE",
      description = "Largest message a client may send, e.g. 64MiB (at most 2GiB-1); a larger one is refused with "
          + "RESOURCE_EXHAUSTED. Default: 1GiB, or half the JVM's memory when that is less.")
  private String maxMessageSize;

  @Option(names = "--kernel-warmup", paramLabel = "DURATION",
      description = "At start, compile the kernels in the background on small models, for at most this long: the "
          + "first models loaded then run compiled code at once. It runs at the lowest OS priority and waits while "
          + "loads or executions run (default 60s; 0s: none).")
  private String kernelWarmup;

  @Option(names = "--load-warmup", paramLabel = "RUNS",
      description = "Run each model this many times on generated inputs at load, before the load answers, when the "
          + "load asks for no warm-up of its own: the plan is compiled and the memory touched before the first "
          + "request (default 1; 0: none; a load can also skip it).")
  private String loadWarmup;

  @Option(names = "--load-warmup-budget", paramLabel = "DURATION",
      description = "After those runs, keep running the model until its run time settles (the JIT has compiled "
          + "its kernels), for at most this long, counted in the load time (default 0s: exactly --load-warmup runs; "
          + "never more than half the time left before the load's deadline).")
  private String loadWarmupBudget;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  private final Map<String, String> env;

  /** Reads the environment from {@code env} (the process's in production, a map in tests). */
  DaemonCommand(Map<String, String> env) {
    this.env = env;
  }

  /** What the daemon is started with, all settings parsed. */
  private record Plan(RuntimeConfig runtime, DaemonServer.Listeners listeners, Security security, ServerLimits limits,
      Duration drainTimeout, Optional<InetSocketAddress> metrics, LogFormat logFormat, org.slf4j.event.Level logLevel,
      Optional<Path> modelRepository, Duration repositoryWarmup, Duration kernelWarmup, long maxMessageBytes,
      Optional<String> notice) {
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    DaemonSettings settings;
    Plan plan;
    try {
      settings = DaemonSettings.resolve(flags(), env, Optional.ofNullable(configFile));
      plan = plan(settings);
    } catch (DaemonSettings.SettingsException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    if (printConfig) {
      out.print(settings.describe());
      out.flush();
      return 0;
    }
    RuntimeConfig config = plan.runtime();
    LogSettings.configure(plan.logFormat(), plan.logLevel());
    JavaUtilLogging.route();
    Optional<InetSocketAddress> metricsAddress = plan.metrics();
    VnrtRuntime runtime;
    try {
      runtime = VnrtRuntime.start(config);
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("vnrt daemon: " + e.getMessage());
      return 1;
    }
    DaemonServer server;
    try {
      server = DaemonServer.start(runtime, plan.listeners(), plan.security(), new DaemonServer.Options(
          plan.modelRepository(), plan.repositoryWarmup(), plan.maxMessageBytes()).withLimits(plan.limits()));
    } catch (IOException | IllegalArgumentException e) {
      runtime.close();
      spec.commandLine().getErr().println("vnrt daemon: " + listenFailure(e, null));
      return 1;
    }
    MetricsHttpServer metricsServer = null;
    if (metricsAddress.isPresent()) {
      try {
        List<String> tokens = new ArrayList<>();
        plan.security().authToken().ifPresent(tokens::add);
        plan.security().adminToken().ifPresent(tokens::add);
        metricsServer = MetricsHttpServer.start(metricsAddress.get(), runtime.metrics(), tokens);
      } catch (IOException e) {
        server.close();
        runtime.close();
        spec.commandLine().getErr().println("vnrt daemon: " + listenFailure(e, metricsAddress.get()) + " (metrics)");
        return 1;
      }
    }
    MetricsHttpServer metricsToClose = metricsServer;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (metricsToClose != null) {
        metricsToClose.close();
      }
      try {
        server.drain(plan.drainTimeout());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server.close(Duration.ofSeconds(1));
      runtime.close();
      log.info("stopped");
      stopped.countDown();
    }, "vnrt-shutdown"));

    out.printf("vnrt %s daemon listening on %s%s%n", VnrtRuntime.VERSION, String.join(", ", server.targets()),
        plan.security().tls().isEmpty() ? "" : plan.security().tls().get().clientCa().isPresent()
            ? " (TCP with mutual TLS)" : " (TCP with TLS)");
    server.healthAddress().ifPresent(a -> out.printf("health (plaintext, health only) on %s:%d%n",
        a.getAddress().getHostAddress(), a.getPort()));
    server.httpAddress().ifPresent(a -> out.printf("KServe v2 REST on %s://%s:%d/v2%n",
        plan.security().tls().isPresent() ? "https" : "http", a.getAddress().getHostAddress(), a.getPort()));
    if (metricsServer != null) {
      InetSocketAddress bound = metricsServer.address();
      out.printf("metrics at http://%s:%d/metrics%n", bound.getAddress().getHostAddress(), bound.getPort());
    }
    out.printf("topology %s; HBM backing %s%n", config.topology().summary(), config.backing());
    for (DeviceSpec d : config.topology().devices()) {
      out.printf("  device %d: cores %s, %s HBM%n", d.deviceId(), d.coreIds(), ByteSize.format(d.hbmBytes()));
    }
    EngineLines.machine(EngineInfos.current(Optional.empty())).forEach(out::println);
    AotCacheLine.Line aot = AotCacheLine.current();
    if (aot.warning()) {
      log.warn("{}", aot.text());
    } else {
      out.println(aot.text());
    }
    if (plan.kernelWarmup().isZero()) {
      out.println("kernel warm-up: off (--kernel-warmup 0s): the first executions run before the JIT has compiled"
          + " the kernels and the request path");
    } else {
      // diagnostics: -Dvnrt.serviceWarmup=false leaves the request path to the first clients (to measure what it saves)
      boolean service = Boolean.parseBoolean(System.getProperty("vnrt.serviceWarmup", "true"));
      if (service) {
        ServiceWarmup.start(config, plan.maxMessageBytes(), plan.security().authToken())
            .thenAccept(r -> log.info("service warm-up {}", r.describe()));
      }
      runtime.startKernelWarmup(plan.kernelWarmup());
      out.printf("kernel warm-up: compiling the kernels in the background, at most %d s (logged when done)%s%n",
          plan.kernelWarmup().toSeconds(), service ? "; the request path too, on a server of its own, for about 2 s" : "");
    }
    out.println(loadWarmupLine(config));
    out.printf("messages up to %s%n", ByteSize.format(plan.maxMessageBytes()));
    plan.notice().ifPresent(n -> log.warn("{}", n));
    out.flush();
    server.awaitTermination();
    stopped.await();
    return 0;
  }

  /**
   * Why a listener could not start, for a user: an address in use is named with how to find who
   * holds it, an address that is not this machine's says so. {@code address} is the one tried,
   * when the failure does not name it (gRPC's says "Failed to bind to address /127.0.0.1:50051").
   */
  static String listenFailure(Exception e, InetSocketAddress address) {
    // Netty's epoll transport reports bind(2) failures as its own IOException, not BindException
    String reason = null;
    for (Throwable t = e; t != null && reason == null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      reason = t instanceof BindException || m.contains("already in use") || m.contains("assign requested address")
          ? m : null;
    }
    if (reason == null) {
      return "cannot listen: " + e.getMessage();
    }
    String where = address != null ? address.getAddress().getHostAddress() + ":" + address.getPort()
        : String.valueOf(e.getMessage()).replaceFirst("^Failed to bind to address /?", "");
    String port = where.substring(where.lastIndexOf(':') + 1);
    if (reason.contains("in use")) {
      return "cannot listen on " + where + ": the address is already in use by another process (`ss -ltnp "
          + "'sport = :" + port + "'` shows which, perhaps another vnrt daemon); stop it, or pick a free port "
          + "(port 0 picks one)";
    }
    if (reason.contains("assign requested address")) {
      return "cannot listen on " + where + ": that is not an address of this machine; use 127.0.0.1, 0.0.0.0 or "
          + "one of its own addresses";
    }
    return "cannot listen on " + where + ": " + reason;
  }

  private Map<String, String> flags() {
    Map<String, String> flags = new HashMap<>();
    flags.put("profile", profile);
    flags.put("devices", devices);
    flags.put("cores-per-device", coresPerDevice);
    flags.put("hbm", hbm);
    flags.put("visible-cores", visibleCores);
    flags.put("hbm-backing", backing);
    flags.put("host-memory", hostMemory);
    flags.put("listen", listen);
    flags.put("uds", uds);
    flags.put("lease-ttl-ms", leaseTtlMs);
    flags.put("tls-cert", tlsCert);
    flags.put("tls-key", tlsKey);
    flags.put("tls-client-ca", tlsClientCa);
    flags.put("auth-token-file", authTokenFile);
    flags.put("admin-token-file", adminTokenFile);
    flags.put("max-sessions", maxSessions);
    flags.put("session-hbm-quota", sessionHbmQuota);
    flags.put("session-model-quota", sessionModelQuota);
    flags.put("session-execution-quota", sessionExecutionQuota);
    flags.put("drain-timeout", drainTimeout);
    flags.put("metrics-listen", metricsListen);
    flags.put("log-format", logFormat);
    flags.put("log-level", logLevel);
    flags.put("model-repository", modelRepository);
    flags.put("repository-warmup", repositoryWarmup);
    flags.put("kernel-warmup", kernelWarmup);
    flags.put("load-warmup", loadWarmup);
    flags.put("load-warmup-budget", loadWarmupBudget);
    flags.put("health-listen", healthListen);
    flags.put("max-message-size", maxMessageSize);
    flags.put("http-listen", httpListen);
    flags.put("shm-allow", shmAllow);
    flags.put("stream-idle-timeout", streamIdleTimeout);
    flags.put("max-connection-idle", maxConnectionIdle);
    flags.put("max-connections-per-peer", maxConnectionsPerPeer);
    return flags;
  }

  /** The start-up line of what a load that asks for no warm-up gets. */
  static String loadWarmupLine(RuntimeConfig config) {
    int runs = config.loadWarmupRuns();
    if (runs == 0) {
      return "load warm-up: off (--load-warmup 0): a load that asks for none runs nothing before it answers";
    }
    String count = runs + (runs == 1 ? " run" : " runs");
    Duration budget = config.loadWarmupBudget();
    return budget.isZero() ? "load warm-up: " + count + " on generated inputs by default"
        : String.format(java.util.Locale.ROOT, "load warm-up: %s on generated inputs by default, then until the run"
            + " time settles, at most %s more", count, budget.toMillis() % 1000 == 0 ? budget.toSeconds() + " s"
            : budget.toMillis() + " ms");
  }

  private static Plan plan(DaemonSettings s) throws DaemonSettings.SettingsException {
    Profile profile = s.parsed("profile", Profile::parse).orElseThrow();
    Optional<Integer> devices = s.parsed("devices", DaemonSettings.atLeast(1));
    Optional<Integer> cores = s.parsed("cores-per-device", DaemonSettings.atLeast(1));
    Optional<Long> hbm = s.parsed("hbm", ByteSize::parse);
    Optional<VisibleCores> visible = s.parsed("visible-cores", VisibleCores::parse);
    BackingChoice backing = s.parsed("hbm-backing", BackingChoice::parse).orElseThrow();
    long hostMemory = s.parsed("host-memory", ByteSize::parse).orElseThrow();
    Optional<InetSocketAddress> tcp = s.parsed("listen", DaemonCommand::parseListen).orElseThrow();
    Optional<Path> uds = s.parsed("uds", DaemonCommand::absolutePath);
    long leaseMs = s.parsed("lease-ttl-ms", DaemonSettings.atLeast(1)).orElseThrow();
    int maxSessions = s.parsed("max-sessions", DaemonSettings.atLeast(0)).orElseThrow();
    long hbmQuota = s.parsed("session-hbm-quota", ByteSize::parse).orElseThrow();
    int modelQuota = s.parsed("session-model-quota", DaemonSettings.atLeast(0)).orElseThrow();
    int executionQuota = s.parsed("session-execution-quota", DaemonSettings.atLeast(0)).orElseThrow();
    Duration drain = s.parsed("drain-timeout", DaemonSettings::duration).orElseThrow();
    Optional<InetSocketAddress> metrics = s.parsed("metrics-listen", t -> parseListen(t, "--metrics-listen"))
        .orElseThrow();
    LogFormat logFormat = s.parsed("log-format", LogFormat::parse).orElseThrow();
    Optional<Path> modelRepository = s.parsed("model-repository", DaemonCommand::directory);
    Duration repositoryWarmup = s.parsed("repository-warmup", DaemonSettings::duration).orElseThrow();
    if (repositoryWarmup.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new DaemonSettings.SettingsException("repository-warmup must be at most 1m, got " + repositoryWarmup, null);
    }
    org.slf4j.event.Level logLevel = s.parsed("log-level", LogSettings::parseLevel).orElseThrow();
    Duration kernelWarmup = s.parsed("kernel-warmup", DaemonSettings::duration).orElseThrow();
    int loadWarmupRuns = s.parsed("load-warmup", DaemonSettings.atLeast(0)).orElseThrow();
    if (loadWarmupRuns > RuntimeConfig.MAX_LOAD_WARMUP_RUNS) {
      throw new DaemonSettings.SettingsException("load-warmup must be at most " + RuntimeConfig.MAX_LOAD_WARMUP_RUNS
          + " executions, got " + loadWarmupRuns, null);
    }
    Duration loadWarmupBudget = s.parsed("load-warmup-budget", DaemonSettings::duration).orElseThrow();
    if (loadWarmupBudget.compareTo(RuntimeConfig.MAX_LOAD_WARMUP_BUDGET) > 0) {
      throw new DaemonSettings.SettingsException("load-warmup-budget must be at most "
          + RuntimeConfig.MAX_LOAD_WARMUP_BUDGET.toMinutes() + "m, got " + loadWarmupBudget, null);
    }
    if (kernelWarmup.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new DaemonSettings.SettingsException("kernel-warmup must be at most 10m, got " + kernelWarmup, null);
    }

    Topology topology;
    try {
      topology = Topology.of(profile, devices, cores, hbm, visible);
    } catch (IllegalArgumentException e) {
      throw new DaemonSettings.SettingsException(e.getMessage(), e);
    }
    RuntimeConfig defaults = RuntimeConfig.defaults();
    Duration lease = Duration.ofMillis(leaseMs);
    Duration maxLease = lease.compareTo(defaults.maxLeaseTtl()) > 0 ? lease : defaults.maxLeaseTtl();
    RuntimeConfig config;
    try {
      config = defaults.withTopology(topology).withBacking(backing).withHostMemoryBytes(hostMemory)
          .withLeases(lease, maxLease)
          .withQuotas(new QuotaLimits(hbmQuota, modelQuota, executionQuota), maxSessions)
          .withLoadWarmup(loadWarmupRuns, loadWarmupBudget);
    } catch (IllegalArgumentException e) {
      throw new DaemonSettings.SettingsException(e.getMessage(), e);
    }
    if (tcp.isEmpty() && uds.isEmpty()) {
      throw new DaemonSettings.SettingsException("nothing to listen on: listen is 'none' and uds is unset; "
          + "give a TCP address, a Unix socket or both", null);
    }
    Optional<InetSocketAddress> healthTcp = s.parsed("health-listen", t -> parseListen(t, "--health-listen"))
        .orElseThrow();
    MessageLimit limit = messageLimit(s, Runtime.getRuntime().maxMemory());
    Optional<InetSocketAddress> http = s.parsed("http-listen", t -> parseListen(t, "--http-listen")).orElseThrow();
    ServerLimits limits = new ServerLimits(s.parsed("stream-idle-timeout", DaemonSettings::duration).orElseThrow(),
        s.parsed("max-connection-idle", DaemonSettings::duration).orElseThrow(),
        s.parsed("max-connections-per-peer", DaemonSettings.atLeast(0)).orElseThrow());
    Security security = security(s, tcp.isPresent());
    if (metrics.isPresent() && !metrics.get().getAddress().isLoopbackAddress() && security.authToken().isEmpty()
        && security.adminToken().isEmpty()) {
      throw new DaemonSettings.SettingsException("metrics-listen " + metricsListenText(metrics.get()) + " is not a"
          + " loopback address and no token is set: anyone who reaches it would read every model's and client's"
          + " name. Listen on 127.0.0.1, or set auth-token-file (scrapes then send the token as a bearer token)",
          null);
    }
    return new Plan(config, new DaemonServer.Listeners(tcp, uds, Optional.empty(), healthTcp, http), security, limits,
        drain, metrics, logFormat, logLevel, modelRepository, repositoryWarmup, kernelWarmup,
        limit.bytes(), limit.notice());
  }

  /**
   * The message size limit and, when it had to be lowered, why.
   *
   * @param bytes the limit
   * @param notice a warning to log at start, when the default did not fit the JVM
   */
  record MessageLimit(long bytes, Optional<String> notice) {
  }

  /**
   * --max-message-size checked against gRPC's 32-bit lengths and {@code jvmMemory} (a message is
   * held whole while it is read, in direct buffers bounded by default by the max heap): a value
   * asked for above it is refused, the default above it is lowered to half of it with a notice.
   */
  static MessageLimit messageLimit(DaemonSettings s, long jvmMemory) throws DaemonSettings.SettingsException {
    long maxMessage = s.parsed("max-message-size", ByteSize::parse).orElseThrow();
    if (maxMessage < 1 || maxMessage > DaemonServer.MAX_MESSAGE_BYTES) {
      throw s.invalid("max-message-size", new IllegalArgumentException("gRPC messages have 32-bit lengths"));
    }
    if (maxMessage <= jvmMemory) {
      return new MessageLimit(maxMessage, Optional.empty());
    }
    if (!s.isDefault("max-message-size")) {
      throw s.invalid("max-message-size", new IllegalArgumentException("more than this JVM can hold ("
          + ByteSize.format(jvmMemory) + ", its max heap, which also bounds direct buffers): a message is held whole "
          + "while it is read; raise -Xmx (JDK_JAVA_OPTIONS) or lower max-message-size"));
    }
    long lowered = jvmMemory / 2;
    return new MessageLimit(lowered, Optional.of("max-message-size: the default of " + ByteSize.format(maxMessage)
        + " is more than this JVM can hold (" + ByteSize.format(jvmMemory) + ", its max heap): messages are limited to "
        + ByteSize.format(lowered) + "; raise -Xmx (JDK_JAVA_OPTIONS) or set max-message-size"));
  }

  private static Security security(DaemonSettings s, boolean tcp) throws DaemonSettings.SettingsException {
    Optional<Path> cert = s.parsed("tls-cert", DaemonCommand::readableFile);
    Optional<Path> key = s.parsed("tls-key", DaemonCommand::readableFile);
    Optional<Path> clientCa = s.parsed("tls-client-ca", DaemonCommand::readableFile);
    if (cert.isPresent() != key.isPresent()) {
      throw new DaemonSettings.SettingsException("tls-cert and tls-key go together: "
          + (cert.isPresent() ? "tls-key" : "tls-cert") + " is missing", null);
    }
    if (clientCa.isPresent() && cert.isEmpty()) {
      throw new DaemonSettings.SettingsException("tls-client-ca needs tls-cert and tls-key: mutual TLS is TLS "
          + "with client certificates", null);
    }
    if (cert.isPresent() && !tcp) {
      throw new DaemonSettings.SettingsException("tls-cert is set but listen is 'none': TLS is for the TCP "
          + "listener (the Unix socket is protected by its permissions)", null);
    }
    Optional<Security.Tls> tls = cert.map(c -> new Security.Tls(c, key.orElseThrow(), clientCa));
    List<String> shmAllow = s.parsed("shm-allow", DaemonCommand::patterns).orElse(List.of());
    return new Security(tls, token(s, "auth-token-file"), token(s, "admin-token-file"), shmAllow);
  }

  /** "triton_*,app-*" as its patterns; each must be a valid glob of a file name (no '/'). */
  private static List<String> patterns(String text) {
    List<String> out = new ArrayList<>();
    for (String p : text.split(",")) {
      String pattern = p.strip();
      if (pattern.isEmpty()) {
        continue;
      }
      if (pattern.contains("/")) {
        throw new IllegalArgumentException("'" + pattern + "' contains '/'; patterns match file names directly "
            + "under /dev/shm");
      }
      java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + pattern);
      out.add(pattern);
    }
    return List.copyOf(out);
  }

  private static String metricsListenText(InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  private static Optional<String> token(DaemonSettings s, String key) throws DaemonSettings.SettingsException {
    Optional<Path> file = s.parsed(key, DaemonCommand::readableFile);
    if (file.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Security.readToken(file.get(), "--" + key));
    } catch (IOException e) {
      throw s.invalid(key, e);
    }
  }

  private static Path readableFile(String text) {
    Path p = Path.of(text);
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw new IllegalArgumentException("no readable file " + p.toAbsolutePath());
    }
    return p;
  }

  private static Path directory(String text) {
    Path p = Path.of(text).toAbsolutePath();
    if (!Files.isDirectory(p)) {
      throw new IllegalArgumentException("no directory " + p);
    }
    return p;
  }

  private static Path absolutePath(String text) {
    Path p = Path.of(text).toAbsolutePath();
    if (p.getParent() == null || !Files.isDirectory(p.getParent())) {
      throw new IllegalArgumentException("directory " + p.getParent() + " does not exist");
    }
    return p;
  }

  /** Parses --listen: "HOST:PORT", "[IPv6]:PORT", or "none". */
  static Optional<InetSocketAddress> parseListen(String text) {
    return parseListen(text, "--listen");
  }

  /** Parses an address option named {@code option}: "HOST:PORT", "[IPv6]:PORT", or "none". */
  static Optional<InetSocketAddress> parseListen(String text, String option) {
    if (text.equals("none")) {
      return Optional.empty();
    }
    int colon = text.lastIndexOf(':');
    String example = "expected HOST:PORT such as 127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051, or 'none'";
    if (colon <= 0) {
      throw new IllegalArgumentException("invalid " + option + " '" + text + "': " + example);
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port in " + option + " '" + text + "': " + example, e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " in " + option + " is out of range 0-65535");
    }
    InetSocketAddress address = new InetSocketAddress(host, port);
    if (address.isUnresolved()) {
      throw new IllegalArgumentException("cannot resolve host '" + host + "' in " + option + " '" + text + "'");
    }
    return Optional.of(address);
  }
}
