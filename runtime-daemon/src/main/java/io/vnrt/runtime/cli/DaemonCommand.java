package io.vnrt.runtime.cli;

import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.BackingChoice;
import io.vnrt.runtime.exec.DeviceSpec;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.exec.VisibleCores;
import io.vnrt.runtime.server.DaemonServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vnrt daemon}: owns the devices and serves them until SIGTERM or SIGINT. */
@Command(name = "daemon", mixinStandardHelpOptions = true,
    description = "Start the daemon: create the devices' HBM pools and serve the vnrt API until SIGTERM/SIGINT.")
final class DaemonCommand implements Callable<Integer> {
  @Option(names = "--profile", defaultValue = "cpu", paramLabel = "NAME",
      description = "Device profile: cpu (one core per processor, 4 GiB), inf2 (2 cores, 32 GiB), trn1 (2 cores, "
          + "32 GiB), trn2 (8 cores, 96 GiB). Default: ${DEFAULT-VALUE}.")
  private String profile;

  @Option(names = "--devices", paramLabel = "N", description = "Number of devices (default 1).")
  private Integer devices;

  @Option(names = "--cores-per-device", paramLabel = "N", description = "Cores per device (default: the profile's).")
  private Integer coresPerDevice;

  @Option(names = "--hbm", paramLabel = "SIZE",
      description = "HBM per device, e.g. 512MiB or 16GiB (default: the profile's).")
  private String hbm;

  @Option(names = "--visible-cores", paramLabel = "LIST",
      description = "Only these global cores exist for clients, e.g. 0-1,4 (default: $" + VisibleCores.ENV
          + ", else all).")
  private String visibleCores;

  @Option(names = "--hbm-backing", defaultValue = "anonymous", paramLabel = "anonymous|DIR",
      description = "Map HBM from anonymous memory, or from sparse files in DIR such as /dev/shm. "
          + "Default: ${DEFAULT-VALUE}.")
  private String backing;

  @Option(names = "--host-memory", defaultValue = "4GiB", paramLabel = "SIZE",
      description = "Limit of daemon host memory for PLACEMENT_HOST tensors. Default: ${DEFAULT-VALUE}.")
  private String hostMemory;

  @Option(names = "--listen", defaultValue = "127.0.0.1:50051", paramLabel = "HOST:PORT",
      description = "TCP address (port 0 picks one; 'none' disables TCP). Default: ${DEFAULT-VALUE}.")
  private String listen;

  @Option(names = "--uds", paramLabel = "PATH", description = "Also listen on this Unix domain socket.")
  private Path uds;

  @Option(names = "--model-repository", paramLabel = "DIR",
      description = "Models KServe's RepositoryModelLoad can load, in Triton's layout: DIR/NAME/VERSION/model.onnx.")
  private Path modelRepository;

  @Option(names = "--lease-ttl-ms", defaultValue = "60000", paramLabel = "MS",
      description = "Session lease when a client asks for none. Default: ${DEFAULT-VALUE}.")
  private long leaseTtlMs;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException, InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    RuntimeConfig config = config();
    DaemonServer.Listeners listeners = new DaemonServer.Listeners(tcpAddress(listen), Optional.ofNullable(uds),
        Optional.empty());
    VnrtRuntime runtime;
    try {
      runtime = VnrtRuntime.start(config);
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("vnrt daemon: " + e.getMessage());
      return 1;
    }
    DaemonServer server;
    try {
      server = DaemonServer.start(runtime, listeners, java.util.Optional.ofNullable(modelRepository));
    } catch (IOException e) {
      runtime.close();
      spec.commandLine().getErr().println("vnrt daemon: cannot listen: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      runtime.close();
      stopped.countDown();
    }, "vnrt-shutdown"));

    out.printf("vnrt %s daemon listening on %s%n", VnrtRuntime.VERSION, String.join(", ", server.targets()));
    out.printf("topology %s; HBM backing %s%n", config.topology().summary(), config.backing());
    for (DeviceSpec d : config.topology().devices()) {
      out.printf("  device %d: cores %s, %s HBM%n", d.deviceId(), d.coreIds(), ByteSize.format(d.hbmBytes()));
    }
    out.flush();
    server.awaitTermination();
    stopped.await();
    return 0;
  }

  private RuntimeConfig config() {
    try {
      String visible = visibleCores != null ? visibleCores : System.getenv(VisibleCores.ENV);
      Topology topology = Topology.of(Profile.parse(profile), Optional.ofNullable(devices),
          Optional.ofNullable(coresPerDevice), Optional.ofNullable(hbm).map(ByteSize::parse),
          Optional.ofNullable(visible).filter(v -> !v.isBlank()).map(VisibleCores::parse));
      RuntimeConfig defaults = RuntimeConfig.defaults();
      Duration lease = Duration.ofMillis(leaseTtlMs);
      Duration maxLease = lease.compareTo(defaults.maxLeaseTtl()) > 0 ? lease : defaults.maxLeaseTtl();
      return defaults.withTopology(topology)
          .withBacking(BackingChoice.parse(backing))
          .withHostMemoryBytes(ByteSize.parse(hostMemory))
          .withLeases(lease, maxLease);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  private Optional<InetSocketAddress> tcpAddress(String text) {
    try {
      return parseListen(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** Parses --listen: "HOST:PORT", "[IPv6]:PORT", or "none". */
  static Optional<InetSocketAddress> parseListen(String text) {
    if (text.equals("none")) {
      return Optional.empty();
    }
    int colon = text.lastIndexOf(':');
    String example = "expected HOST:PORT such as 127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051, or 'none'";
    if (colon <= 0) {
      throw new IllegalArgumentException("invalid --listen '" + text + "': " + example);
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port in --listen '" + text + "': " + example, e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " in --listen is out of range 0-65535");
    }
    InetSocketAddress address = new InetSocketAddress(host, port);
    if (address.isUnresolved()) {
      throw new IllegalArgumentException("cannot resolve host '" + host + "' in --listen '" + text + "'");
    }
    return Optional.of(address);
  }
}
