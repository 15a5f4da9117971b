package io.vnrt.client;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.StaticTargets;
import io.vnrt.proto.v1.GetRuntimeInfoRequest;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.proto.v1.RuntimeGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client of several daemons ("host:port" each). Two kinds of traffic, by design:
 * <ul>
 *   <li>Calls that need no session (runtime info, health, the KServe API by model name when every
 *       daemon serves the model) go through {@link #balancedChannel()}: one gRPC channel with the
 *       round_robin policy over all targets, so they spread evenly and skip daemons that are down.</li>
 *   <li>A session lives in one daemon (its tensors and models are that daemon's memory), so
 *       {@link #openSessions} opens one session per target, each over its own connection; a model
 *       loaded through one of them is executed by the daemon that loaded it.</li>
 * </ul>
 */
public final class VnrtCluster implements AutoCloseable {
  private final List<String> targets;
  private final ManagedChannel balanced;
  private final List<VnrtClient> clients;

  private VnrtCluster(List<String> targets, ManagedChannel balanced, List<VnrtClient> clients) {
    this.targets = targets;
    this.balanced = balanced;
    this.clients = clients;
  }

  /** Connects to every target ("host:port"); connections are made lazily. */
  public static VnrtCluster connect(List<String> targets) {
    List<String> copy = List.copyOf(targets);
    ManagedChannel balanced = StaticTargets.roundRobin(copy);
    List<VnrtClient> clients = new ArrayList<>();
    for (String t : copy) {
      clients.add(VnrtClient.connect(t));
    }
    return new VnrtCluster(copy, balanced, List.copyOf(clients));
  }

  /** Connects to a comma-separated list of "host:port" targets. */
  public static VnrtCluster connect(String commaSeparatedTargets) {
    return connect(List.of(commaSeparatedTargets.split("\\s*,\\s*")));
  }

  /** The targets, in the order given. */
  public List<String> targets() {
    return targets;
  }

  /** The round_robin channel over every target, for calls that need no session. */
  public Channel balancedChannel() {
    return balanced;
  }

  /** One client per target, in the order given. */
  public List<VnrtClient> clients() {
    return clients;
  }

  /** Runtime info of whichever daemon the balancer picks next. */
  public GetRuntimeInfoResponse runtimeInfo() {
    try {
      return RuntimeGrpc.newBlockingStub(balanced).getRuntimeInfo(GetRuntimeInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** Opens one session on every daemon, in target order; on failure closes those already opened. */
  public List<Session> openSessions(String clientName) {
    List<Session> opened = new ArrayList<>();
    try {
      for (VnrtClient c : clients) {
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

  /** Closes every per-target client (and its sessions) and the balanced channel. */
  @Override
  public void close() {
    clients.forEach(VnrtClient::close);
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
