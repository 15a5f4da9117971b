package io.vnrt.client;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.StaticTargets;
import io.vnrt.proto.v1.GetRuntimeInfoRequest;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.RuntimeGrpc;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client of several daemons: a list of "host:port" targets, or one DNS name whose addresses are
 * the daemons ({@code dns:///host:port}, e.g. a Kubernetes headless service). Two kinds of
 * traffic, by design:
 * <ul>
 *   <li>Calls that need no session (runtime info, health, the KServe API by model name when every
 *       daemon serves the model) go through {@link #balancedChannel()}: one gRPC channel with the
 *       round_robin policy over all daemons, so they spread evenly and skip daemons that are down.
 *       For a DNS target gRPC's own DNS resolver finds the addresses, and looks again when a
 *       connection is lost.</li>
 *   <li>A session lives in one daemon (its tensors and models are that daemon's memory), so
 *       {@link #openSessions} opens one session per daemon, each over its own connection; a model
 *       loaded through one of them is executed by the daemon that loaded it. For a DNS target the
 *       daemons are the name's addresses at the moment of the call ({@link InetAddress#getAllByName});
 *       a daemon that appears later gets a session only from a later call.</li>
 * </ul>
 */
public final class VnrtCluster implements AutoCloseable {
  private final List<String> targets;
  private final ManagedChannel balanced;
  /** The DNS name and port of a {@code dns:///} cluster; null for a list of targets. */
  private final InetSocketAddress dnsName;
  /** One client per "host:port" daemon, in the order first seen; guarded by this. */
  private final Map<String, VnrtClient> clients = new LinkedHashMap<>();

  private VnrtCluster(List<String> targets, ManagedChannel balanced, InetSocketAddress dnsName) {
    this.targets = targets;
    this.balanced = balanced;
    this.dnsName = dnsName;
  }

  /**
   * Connects to every target ("host:port"), or to the daemons behind one {@code dns:///host:port}
   * target; connections are made lazily.
   */
  public static VnrtCluster connect(List<String> targets) {
    List<String> copy = List.copyOf(targets);
    if (copy.stream().anyMatch(t -> t.startsWith("dns:"))) {
      if (copy.size() != 1) {
        throw new IllegalArgumentException("a dns:/// target stands alone, not in a list: " + copy);
      }
      InetSocketAddress name = StaticTargets.parseDns(copy.getFirst());
      return new VnrtCluster(copy, StaticTargets.roundRobinDns(copy.getFirst()), name);
    }
    VnrtCluster cluster = new VnrtCluster(copy, StaticTargets.roundRobin(copy), null);
    synchronized (cluster) {
      for (String t : copy) {
        cluster.clients.computeIfAbsent(t, VnrtClient::connect);
      }
    }
    return cluster;
  }

  /** Connects to a comma-separated list of "host:port" targets, or to one {@code dns:///host:port}. */
  public static VnrtCluster connect(String commaSeparatedTargets) {
    return connect(List.of(commaSeparatedTargets.split("\\s*,\\s*")));
  }

  /** The targets, in the order given. */
  public List<String> targets() {
    return targets;
  }

  /** The round_robin channel over every daemon, for calls that need no session. */
  public Channel balancedChannel() {
    return balanced;
  }

  /**
   * One client per daemon: per target in the order given, or, for a DNS target, per address that
   * {@link #openSessions} has found so far.
   */
  public synchronized List<VnrtClient> clients() {
    return List.copyOf(clients.values());
  }

  /** Runtime info of whichever daemon the balancer picks next. */
  public GetRuntimeInfoResponse runtimeInfo() {
    try {
      return RuntimeGrpc.newBlockingStub(balanced).getRuntimeInfo(GetRuntimeInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /**
   * Opens one session on every daemon, in target order (for a DNS target: on every address the
   * name resolves to now, in the resolver's order); on failure closes those already opened.
   */
  public List<Session> openSessions(String clientName) {
    List<Session> opened = new ArrayList<>();
    try {
      for (VnrtClient c : daemons()) {
        opened.add(c.openSession(clientName));
      }
    } catch (RuntimeException e) {
      for (Session s : opened) {
        s.close();
      }
      throw e;
    }
    return List.copyOf(opened);
  }

  private synchronized List<VnrtClient> daemons() {
    if (dnsName == null) {
      return List.copyOf(clients.values());
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(dnsName.getHostString());
    } catch (UnknownHostException e) {
      throw new VnrtException(Status.Code.UNAVAILABLE, NrtCode.NRT_CODE_UNSPECIFIED, "cannot resolve '"
          + dnsName.getHostString() + "' of " + targets.getFirst() + ": " + e.getMessage(),
          Map.of("target", targets.getFirst()), e);
    }
    List<VnrtClient> out = new ArrayList<>();
    for (InetAddress a : addresses) {
      String host = a instanceof Inet6Address ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
      out.add(clients.computeIfAbsent(host + ":" + dnsName.getPort(), VnrtClient::connect));
    }
    return out;
  }

  /** Closes every per-daemon client (and its sessions) and the balanced channel. */
  @Override
  public void close() {
    clients().forEach(VnrtClient::close);
    balanced.shutdown();
    try {
      if (!balanced.awaitTermination(5, TimeUnit.SECONDS)) {
        balanced.shutdownNow();
      }
    } catch (InterruptedException e) {
      balanced.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
