package io.vnrt.runtime.logging;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Map;
import org.slf4j.MDC;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** Writes each event as one line (text, or a JSON object) with the thread's MDC entries. */
final class LineLogger extends LegacyAbstractLogger {
  private final String shortName;

  LineLogger(String name) {
    this.name = name;
    this.shortName = name.substring(name.lastIndexOf('.') + 1);
  }

  @Override
  public boolean isTraceEnabled() {
    return LogSettings.enabled(name, Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return LogSettings.enabled(name, Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return LogSettings.enabled(name, Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return LogSettings.enabled(name, Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return LogSettings.enabled(name, Level.ERROR);
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
      Throwable throwable) {
    String message = MessageFormatter.basicArrayFormat(pattern, arguments);
    Map<String, String> mdc = MDC.getCopyOfContextMap();
    String line = LogSettings.format() == LogFormat.JSON
        ? json(Instant.now(), level, Thread.currentThread().getName(), message, mdc, throwable)
        : text(Instant.now(), level, message, mdc, throwable);
    // one println per event: PrintStream writes it whole, so lines of different threads never interleave
    LogSettings.out().println(line);
  }

  String text(Instant time, Level level, String message, Map<String, String> mdc, Throwable throwable) {
    StringBuilder line = new StringBuilder(128).append(time).append(" [").append(level).append("] ")
        .append(shortName).append(" - ").append(message);
    if (mdc != null) {
      mdc.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
    }
    if (throwable != null) {
      line.append(System.lineSeparator()).append(stackTrace(throwable).stripTrailing());
    }
    return line.toString();
  }

  String json(Instant time, Level level, String thread, String message, Map<String, String> mdc,
      Throwable throwable) {
    StringBuilder line = new StringBuilder(160).append('{');
    field(line, "ts", time.toString());
    field(line.append(','), "level", level.toString());
    field(line.append(','), "logger", name);
    field(line.append(','), "thread", thread);
    field(line.append(','), "msg", message);
    if (mdc != null) {
      mdc.forEach((k, v) -> field(line.append(','), k, v));
    }
    if (throwable != null) {
      field(line.append(','), "error", throwable.toString());
      field(line.append(','), "stack", stackTrace(throwable));
    }
    return line.append('}').toString();
  }

  private static void field(StringBuilder line, String key, String value) {
    JsonText.quote(line, key);
    line.append(':');
    JsonText.quote(line, value);
  }

  private static String stackTrace(Throwable throwable) {
    StringWriter trace = new StringWriter();
    throwable.printStackTrace(new PrintWriter(trace));
    return trace.toString();
  }
}
