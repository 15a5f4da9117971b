package io.vnrt.runtime.server;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessSocketAddress;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.vnrt.runtime.memory.SharedMemoryAccess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * Who is calling, as far as the transport proves it, for the shared-memory checks: a file is mapped only for a
 * caller whose user owns it. In-process callers are this process. The Unix socket is created owner-only (0600),
 * so only the daemon's own user (or root, who may open any file anyway) can connect to it. A loopback TCP peer's
 * user is the owner of its socket, which the kernel lists in /proc/net/tcp and tcp6 (as identd reads it). A TCP
 * peer on another host proves no user.
 */
final class CallerIdentity implements ServerInterceptor {
  private static final Context.Key<Attributes> TRANSPORT = Context.key("vnrt-transport-attributes");
  private static final Context.Key<List<String>> ACCESS_PATTERNS = Context.key("vnrt-shm-allow");
  private static final List<Path> SOCKET_TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

  private final List<String> shmAllow;

  /** {@code shmAllow}: the file-name patterns of {@code --shm-allow}, which any caller may map. */
  CallerIdentity(List<String> shmAllow) {
    this.shmAllow = List.copyOf(shmAllow);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Context context = Context.current().withValue(TRANSPORT, call.getAttributes())
        .withValue(ACCESS_PATTERNS, shmAllow);
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** What the current call may map; a call that did not pass this interceptor proves no user. */
  static SharedMemoryAccess sharedMemoryAccess() {
    return sharedMemoryAccessWhenAsked().get();
  }

  /**
   * What the current call may map, worked out on the first {@code get} (from any thread): a loopback TCP
   * caller's user is read from the kernel's socket tables, whose size grows with every socket on the host, so
   * calls that never map a file (nearly all) should not pay for it.
   */
  static Supplier<SharedMemoryAccess> sharedMemoryAccessWhenAsked() {
    Attributes attributes = TRANSPORT.get();
    List<String> allowed = ACCESS_PATTERNS.get() == null ? List.of() : ACCESS_PATTERNS.get();
    if (attributes == null) {
      SharedMemoryAccess none = new SharedMemoryAccess(OptionalInt.empty(), allowed);
      return () -> none;
    }
    SocketAddress remote = attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    SocketAddress local = attributes.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
    return new Supplier<>() {
      private SharedMemoryAccess access;

      @Override
      public synchronized SharedMemoryAccess get() {
        if (access == null) {
          access = new SharedMemoryAccess(peerUid(remote, local), allowed);
        }
        return access;
      }
    };
  }

  /** The current call's connection ({@link Connections#ID}), or -1 outside a call that passed this interceptor. */
  static long connection() {
    Attributes attributes = TRANSPORT.get();
    Long id = attributes == null ? null : attributes.get(Connections.ID);
    return id == null ? -1 : id;
  }

  static OptionalInt peerUid(SocketAddress remote, SocketAddress local) {
    if (remote instanceof InProcessSocketAddress || remote instanceof DomainSocketAddress) {
      return OptionalInt.of(SharedMemoryAccess.daemonUid());
    }
    if (remote instanceof InetSocketAddress peer && local instanceof InetSocketAddress server
        && peer.getAddress() != null && peer.getAddress().isLoopbackAddress()) {
      return loopbackOwner(peer, server);
    }
    return OptionalInt.empty();
  }

  /** The owner of the socket whose local end is {@code peer} and remote end {@code server}'s port. */
  private static OptionalInt loopbackOwner(InetSocketAddress peer, InetSocketAddress server) {
    for (Path table : SOCKET_TABLES) {
      List<String> lines;
      try {
        lines = Files.readAllLines(table);
      } catch (IOException e) {
        continue; // no IPv6 here, or no /proc: that table proves nothing
      }
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid ..."
        String[] f = line.trim().split("\\s+");
        if (f.length < 8) {
          continue;
        }
        InetSocketAddress localEnd = address(f[1]);
        InetSocketAddress remoteEnd = address(f[2]);
        if (localEnd != null && remoteEnd != null && localEnd.equals(peer)
            && remoteEnd.getPort() == server.getPort()) {
          return OptionalInt.of(Integer.parseInt(f[7]));
        }
      }
    }
    return OptionalInt.empty();
  }

  /** "0100007F:C35B" (IPv4, the address in host byte order) or 32 hex digits of IPv6 in four host-order words. */
  private static InetSocketAddress address(String field) {
    int colon = field.indexOf(':');
    if (colon < 0) {
      return null;
    }
    String hex = field.substring(0, colon);
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < hex.length() / 8; word++) {
      long value = Long.parseLong(hex.substring(word * 8, word * 8 + 8), 16);
      for (int b = 0; b < 4; b++) {
        bytes[word * 4 + b] = (byte) (value >>> (8 * b)); // little-endian x86-64
      }
    }
    try {
      // an IPv4-mapped IPv6 address comes back as the IPv4 address, as the peer's does
      return new InetSocketAddress(InetAddress.getByAddress(bytes), Integer.parseInt(field.substring(colon + 1), 16));
    } catch (UnknownHostException | NumberFormatException e) {
      return null;
    }
  }
}
