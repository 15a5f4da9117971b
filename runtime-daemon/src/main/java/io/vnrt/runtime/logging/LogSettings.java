package io.vnrt.runtime.logging;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import org.slf4j.event.Level;

/**
 * The logging configuration, read on every event so that the command line can set it after the
 * first logger exists. Defaults: text, INFO, to standard error.
 */
public final class LogSettings {
  /**
   * Loggers (by name prefix) held to a higher threshold: libraries stay at INFO when the daemon's
   * own logging goes to DEBUG, and Netty's warnings about socket options Unix sockets lack are dropped.
   */
  private static final Map<String, Level> QUIETER = Map.of(
      "io.grpc.netty.shaded.io.netty.bootstrap.", Level.ERROR,
      "io.grpc.", Level.INFO,
      "io.micrometer.", Level.INFO);

  private static volatile LogFormat format = LogFormat.TEXT;
  private static volatile Level threshold = Level.INFO;
  /** Null: whatever System.err is at the time of the event (so System.setErr redirects logs too). */
  private static volatile PrintStream out;

  private LogSettings() {
  }

  /** Sets the format and the least severe level written. */
  public static void configure(LogFormat newFormat, Level newThreshold) {
    format = newFormat;
    threshold = newThreshold;
  }

  /**
   * Writes to {@code stream} from now on (null: standard error); returns the stream set before, or
   * null (tests capture lines and put it back).
   */
  public static PrintStream redirect(PrintStream stream) {
    PrintStream before = out;
    out = stream;
    return before;
  }

  /** Parses a level name: trace, debug, info, warn or error (any case). */
  public static Level parseLevel(String text) {
    try {
      return Level.valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown log level '" + text + "': expected trace, debug, info, warn or error",
          e);
    }
  }

  /** The format lines are written in now. */
  public static LogFormat format() {
    return format;
  }

  /** The least severe level written now. */
  public static Level threshold() {
    return threshold;
  }

  static PrintStream out() {
    PrintStream stream = out;
    return stream != null ? stream : System.err;
  }

  /** Whether a logger writes events of {@code level}. */
  static boolean enabled(String loggerName, Level level) {
    Level least = threshold;
    for (Map.Entry<String, Level> quieter : QUIETER.entrySet()) {
      if (loggerName.startsWith(quieter.getKey()) && quieter.getValue().toInt() > least.toInt()) {
        least = quieter.getValue();
      }
    }
    return level.toInt() >= least.toInt();
  }
}
