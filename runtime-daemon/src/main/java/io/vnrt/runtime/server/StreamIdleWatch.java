package io.vnrt.runtime.server;

import io.vnrt.runtime.session.Ticker;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Ends client streams that have gone quiet: a LoadModel or WriteTensor stream that sends nothing for the idle
 * timeout fails with DEADLINE_EXCEEDED and drops what it held (the model bytes received, the upload budget, the
 * pinned tensor), so one stalled client cannot hold them for everyone else. Checked once a second; tests call
 * {@link #sweep()} with a fake clock.
 */
final class StreamIdleWatch implements AutoCloseable {
  /** A stream being watched. */
  interface Watched {
    /** When its last message arrived, on the watch's ticker. */
    long lastActivityNanos();

    /** Fails the stream for having been idle; false if it was busy or already over. */
    boolean expireIdle(Duration idleTimeout);
  }

  private final Ticker ticker;
  private final Duration idleTimeout;
  private final Set<Watched> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer;

  /** Watches with {@code ticker}; {@code idleTimeout} zero turns the watch off. {@code schedule}: sweep once a second. */
  StreamIdleWatch(Ticker ticker, Duration idleTimeout, boolean schedule) {
    this.ticker = ticker;
    this.idleTimeout = idleTimeout;
    if (schedule && !idleTimeout.isZero()) {
      timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vnrt-stream-idle-watch");
        t.setDaemon(true);
        return t;
      });
      timer.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
    } else {
      timer = null;
    }
  }

  long now() {
    return ticker.nanos();
  }

  void watch(Watched stream) {
    if (!idleTimeout.isZero()) {
      streams.add(stream);
    }
  }

  void forget(Watched stream) {
    streams.remove(stream);
  }

  /** Expires every stream idle for longer than the timeout; returns how many. */
  int sweep() {
    long now = ticker.nanos();
    int expired = 0;
    for (Watched s : streams) {
      if (now - s.lastActivityNanos() >= idleTimeout.toNanos() && s.expireIdle(idleTimeout)) {
        streams.remove(s);
        expired++;
      }
    }
    return expired;
  }

  /** Streams being watched. */
  int watching() {
    return streams.size();
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
