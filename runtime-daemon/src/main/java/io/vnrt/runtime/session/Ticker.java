package io.vnrt.runtime.session;

/** A monotonic clock in nanoseconds; tests inject a fake one instead of sleeping. */
@FunctionalInterface
public interface Ticker {
  /** The system's monotonic clock. */
  Ticker SYSTEM = System::nanoTime;

  /** Nanoseconds since an arbitrary origin. */
  long nanos();
}
