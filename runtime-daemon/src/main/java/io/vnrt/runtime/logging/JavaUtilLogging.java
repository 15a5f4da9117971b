package io.vnrt.runtime.logging;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes java.util.logging, which gRPC and its shaded Netty log to, into the daemon's own lines
 * (text or JSON, with the request id), instead of the JDK's two-line console format on standard
 * error. A gRPC status carried as the record's throwable (an oversized message the transport cut
 * off, a stream reset) is a call's outcome, not a fault in the daemon: it is written as its code
 * and description, without a stack trace.
 */
public final class JavaUtilLogging {
  private JavaUtilLogging() {
  }

  /**
   * Replaces the root JUL logger's handlers with one writing through the daemon's logging.
   * Idempotent, and routes again when something (a LogManager reset or re-read configuration in
   * the same JVM) has since replaced the handlers.
   */
  public static synchronized void route() {
    java.util.logging.Logger root = LogManager.getLogManager().getLogger("");
    for (Handler h : root.getHandlers()) {
      if (h instanceof Bridge) {
        return;
      }
    }
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    root.addHandler(new Bridge());
  }

  /** Formats each record once and hands it to the SLF4J logger of the same name. */
  private static final class Bridge extends Handler {
    @Override
    public void publish(LogRecord record) {
      Logger log = LoggerFactory.getLogger(record.getLoggerName() == null ? "jul" : record.getLoggerName());
      int level = record.getLevel().intValue();
      String message = message(record);
      Throwable thrown = record.getThrown();
      if (thrown != null && isStatus(thrown)) {
        message = message + ": " + thrown.getMessage();
        thrown = null;
      }
      if (level >= Level.SEVERE.intValue()) {
        log.error(message, thrown);
      } else if (level >= Level.WARNING.intValue()) {
        log.warn(message, thrown);
      } else if (level >= Level.INFO.intValue()) {
        log.info(message, thrown);
      } else if (level >= Level.FINE.intValue()) {
        log.debug(message, thrown);
      } else {
        log.trace(message, thrown);
      }
    }

    private static String message(LogRecord record) {
      String m = record.getMessage() == null ? "" : record.getMessage();
      Object[] p = record.getParameters();
      if (p != null && p.length > 0 && m.contains("{0")) {
        m = java.text.MessageFormat.format(m, p);
      }
      return m;
    }

    /** io.grpc.StatusRuntimeException, io.grpc.StatusException (by name: this package knows no gRPC). */
    private static boolean isStatus(Throwable t) {
      String name = t.getClass().getName();
      return name.equals("io.grpc.StatusRuntimeException") || name.equals("io.grpc.StatusException");
    }

    @Override
    public void flush() {
      // every line is written whole as it is published
    }

    @Override
    public void close() {
      // nothing is held
    }
  }
}
