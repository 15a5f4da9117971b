package io.vnrt.client.internal;

import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * One gRPC channel over several daemons with the round_robin policy: either over a fixed list of
 * "host:port" targets, through a name resolver for the scheme {@code vnrt-static} that resolves
 * {@code vnrt-static:///h1:p1,h2:p2} to those addresses, once, and never changes them; or over
 * the addresses of one DNS name ({@code dns:///host:port}), through gRPC's own DNS resolver, which
 * re-resolves when a connection is lost.
 */
public final class StaticTargets {
  /** The URI scheme of the resolver. */
  public static final String SCHEME = "vnrt-static";

  static {
    NameResolverRegistry.getDefaultRegistry().register(new Provider());
  }

  private StaticTargets() {
  }

  /** A round_robin channel over {@code targets} (each "host:port"). */
  public static ManagedChannel roundRobin(List<String> targets) {
    List<SocketAddress> addresses = parse(targets);
    StringBuilder uri = new StringBuilder(SCHEME).append(":///");
    for (int i = 0; i < addresses.size(); i++) {
      InetSocketAddress a = (InetSocketAddress) addresses.get(i);
      uri.append(i == 0 ? "" : ",").append(a.getHostString()).append(':').append(a.getPort());
    }
    return build(uri.toString());
  }

  /** A round_robin channel over every address of {@code dnsTarget}, as {@link #parseDns} accepts it. */
  public static ManagedChannel roundRobinDns(String dnsTarget) {
    parseDns(dnsTarget);
    return build(dnsTarget);
  }

  /**
   * The unresolved "host:port" of a {@code dns:///host:port} target; fails saying what is expected
   * (no DNS server authority, an explicit port).
   */
  public static InetSocketAddress parseDns(String dnsTarget) {
    String prefix = "dns:///";
    if (!dnsTarget.startsWith(prefix)) {
      throw new IllegalArgumentException("target '" + dnsTarget + "' is not dns:///host:port "
          + "(e.g. dns:///vnrt.vnrt-system.svc.cluster.local:50051); a DNS server authority is not supported");
    }
    return (InetSocketAddress) parse(List.of(dnsTarget.substring(prefix.length()))).getFirst();
  }

  private static ManagedChannel build(String uri) {
    return NettyChannelBuilder.forTarget(uri)
        .defaultLoadBalancingPolicy("round_robin")
        .usePlaintext()
        .maxInboundMessageSize(Transports.MAX_INBOUND_MESSAGE_BYTES)
        .initialFlowControlWindow(Transports.FLOW_CONTROL_WINDOW_BYTES)
        .build();
  }

  /** Parses "host:port" targets (IPv6 hosts in brackets); fails naming a bad one. */
  static List<SocketAddress> parse(List<String> targets) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("no targets: give at least one host:port");
    }
    List<SocketAddress> out = new ArrayList<>();
    for (String t : targets) {
      int colon = t.lastIndexOf(':');
      if (t.startsWith("unix:") || colon <= 0 || colon == t.length() - 1) {
        throw new IllegalArgumentException("target '" + t + "' is not host:port (e.g. 127.0.0.1:50051); "
            + "a multi-target client balances TCP daemons only");
      }
      String host = t.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(t.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("target '" + t + "' has no numeric port", e);
      }
      out.add(InetSocketAddress.createUnresolved(host, port));
    }
    return out;
  }

  private static final class Provider extends NameResolverProvider {
    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
      if (!SCHEME.equals(targetUri.getScheme())) {
        return null;
      }
      String list = targetUri.getPath().startsWith("/") ? targetUri.getPath().substring(1) : targetUri.getPath();
      List<SocketAddress> addresses = new ArrayList<>();
      for (SocketAddress a : parse(List.of(list.split(",")))) {
        InetSocketAddress u = (InetSocketAddress) a;
        addresses.add(new InetSocketAddress(u.getHostString(), u.getPort()));
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "vnrt";
        }

        @Override
        public void start(Listener2 listener) {
          List<EquivalentAddressGroup> groups = addresses.stream().map(EquivalentAddressGroup::new).toList();
          if (groups.isEmpty()) {
            listener.onError(Status.INVALID_ARGUMENT.withDescription("no addresses in " + targetUri));
            return;
          }
          listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(
              io.grpc.StatusOr.fromValue(groups)).build());
        }

        @Override
        public void shutdown() {
        }
      };
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 1;
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }
  }
}
