package io.vnrt.runtime.logging;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.BasicMDCAdapter;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The SLF4J binding of the daemon and the CLI: one line per event, text or JSON (see
 * {@link LogSettings}), with the MDC (request ids). Found by SLF4J through
 * META-INF/services/org.slf4j.spi.SLF4JServiceProvider.
 */
public final class VnrtLoggingProvider implements SLF4JServiceProvider {
  private ILoggerFactory loggers;
  private IMarkerFactory markers;
  private MDCAdapter mdc;

  @Override
  public ILoggerFactory getLoggerFactory() {
    return loggers;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return markers;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return mdc;
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  @Override
  public void initialize() {
    Map<String, Logger> byName = new ConcurrentHashMap<>();
    loggers = name -> byName.computeIfAbsent(name, LineLogger::new);
    markers = new BasicMarkerFactory();
    mdc = new BasicMDCAdapter();
  }
}
