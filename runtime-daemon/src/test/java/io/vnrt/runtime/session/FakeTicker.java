package io.vnrt.runtime.session;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so. */
public final class FakeTicker implements Ticker {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  @Override
  public long nanos() {
    return now.get();
  }

  /** Moves the clock forward. */
  public void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }
}
