package io.vnrt.runtime.server;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP listener's server socket, closing a connection as it is accepted when its peer address already holds
 * the most allowed ({@code --max-connections-per-peer}): one client cannot take every file descriptor the daemon
 * has by opening connections and leaving them idle. A refused peer sees its connection closed.
 */
final class PeerLimitedServerChannel extends NioServerSocketChannel {
  private static final Logger log = LoggerFactory.getLogger(PeerLimitedServerChannel.class);
  /** A refusal is logged once per this many, so a flood does not flood the log as well. */
  private static final long LOG_EVERY = 1000;

  private final int maxPerPeer;
  private final Map<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final AtomicLong refused = new AtomicLong();

  PeerLimitedServerChannel(int maxPerPeer) {
    this.maxPerPeer = maxPerPeer;
  }

  @Override
  protected int doReadMessages(List<Object> accepted) throws Exception {
    int first = accepted.size();
    int n = super.doReadMessages(accepted);
    for (int i = accepted.size() - 1; i >= first; i--) {
      Channel child = (Channel) accepted.get(i);
      InetAddress peer = child.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
      if (peer == null) {
        continue;
      }
      int count = open.merge(peer, 1, Integer::sum);
      if (count > maxPerPeer) {
        open.merge(peer, -1, Integer::sum);
        accepted.remove(i);
        n--;
        child.unsafe().closeForcibly();
        if (refused.getAndIncrement() % LOG_EVERY == 0) {
          log.warn("refused a connection from {}: it already holds {} (max-connections-per-peer); {} refused so far",
              peer.getHostAddress(), maxPerPeer, refused.get());
        }
        continue;
      }
      child.closeFuture().addListener(f -> open.computeIfPresent(peer, (p, c) -> c <= 1 ? null : c - 1));
    }
    return n;
  }
}
