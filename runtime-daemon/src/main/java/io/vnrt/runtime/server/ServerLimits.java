package io.vnrt.runtime.server;

import java.time.Duration;

/**
 * Limits that keep one client from holding the daemon's connections and streams for everyone else.
 *
 * @param streamIdleTimeout a LoadModel or WriteTensor stream that sends nothing for this long is ended
 *     (DEADLINE_EXCEEDED) and releases what it held; zero: never
 * @param maxConnectionIdle a TCP connection without calls for this long is closed (a GOAWAY; clients reconnect
 *     when they next call); zero: never
 * @param maxConnectionsPerPeer TCP connections one peer address may hold at once; more are closed as they are
 *     accepted; zero: unlimited
 */
public record ServerLimits(Duration streamIdleTimeout, Duration maxConnectionIdle, int maxConnectionsPerPeer) {
  /** 30 s of stream silence, 5 minutes of connection idleness, 64 connections per peer. */
  public static final ServerLimits DEFAULTS = new ServerLimits(Duration.ofSeconds(30), Duration.ofMinutes(5), 64);

  /** Checks ranges. */
  public ServerLimits {
    if (streamIdleTimeout.isNegative() || maxConnectionIdle.isNegative() || maxConnectionsPerPeer < 0) {
      throw new IllegalArgumentException("server limits must be zero (off) or positive, got stream idle timeout "
          + streamIdleTimeout + ", connection idle " + maxConnectionIdle + ", connections per peer "
          + maxConnectionsPerPeer);
    }
  }
}
