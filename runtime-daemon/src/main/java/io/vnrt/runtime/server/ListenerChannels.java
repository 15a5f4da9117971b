package io.vnrt.runtime.server;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.vnrt.client.internal.BulkHttp2;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners' server sockets: Netty's epoll transport where it is available (NIO otherwise, TCP only), each
 * accepted connection set up for bulk bytes ({@link BulkHttp2}) and, on TCP, refused as it is accepted when its
 * peer address already holds the most allowed ({@code --max-connections-per-peer}): one client cannot take every
 * file descriptor the daemon has by opening connections and leaving them idle. A refused peer sees its connection
 * closed.
 */
final class ListenerChannels {
  private ListenerChannels() {
  }

  /** The event loops of a TCP listener, matching {@link #tcp}'s channels. */
  static EventLoopGroup tcpLoops() {
    return new MultiThreadIoEventLoopGroup(Epoll.isAvailable() ? EpollIoHandler.newFactory()
        : NioIoHandler.newFactory());
  }

  /** A TCP server socket; {@code maxPerPeer} 0 for no limit. */
  static ServerChannel tcp(int maxPerPeer) {
    ServerChannel channel = Epoll.isAvailable() ? new EpollServerSocketChannel() : new NioServerSocketChannel();
    channel.pipeline().addLast(new Acceptor(maxPerPeer));
    return channel;
  }

  /** A Unix domain server socket (epoll only). */
  static ServerChannel unix() {
    ServerChannel channel = new EpollServerDomainSocketChannel();
    channel.pipeline().addLast(new Acceptor(0));
    return channel;
  }

  /**
   * Sees each accepted connection before Netty registers it: ahead of the bootstrap's own acceptor in the server
   * channel's pipeline, since it is added when the channel is made.
   */
  @ChannelHandler.Sharable
  private static final class Acceptor extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ListenerChannels.class);
    /** A refusal is logged once per this many, so a flood does not flood the log as well. */
    private static final long LOG_EVERY = 1000;

    private final int maxPerPeer;
    private final Map<InetAddress, Integer> open = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();

    Acceptor(int maxPerPeer) {
      this.maxPerPeer = maxPerPeer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel child = (Channel) msg;
      InetAddress peer = maxPerPeer > 0 && child.remoteAddress() instanceof InetSocketAddress a ? a.getAddress()
          : null;
      if (peer != null) {
        int count = open.merge(peer, 1, Integer::sum);
        if (count > maxPerPeer) {
          open.merge(peer, -1, Integer::sum);
          child.unsafe().closeForcibly();
          if (refused.getAndIncrement() % LOG_EVERY == 0) {
            log.warn("refused a connection from {}: it already holds {} (max-connections-per-peer); {} refused so "
                + "far", peer.getHostAddress(), maxPerPeer, refused.get());
          }
          return;
        }
        child.closeFuture().addListener(f -> open.computeIfPresent(peer, (p, c) -> c <= 1 ? null : c - 1));
      }
      BulkHttp2.configure(child);
      ctx.fireChannelRead(child);
    }
  }
}
