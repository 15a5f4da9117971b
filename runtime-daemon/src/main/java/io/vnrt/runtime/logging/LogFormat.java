package io.vnrt.runtime.logging;

import java.util.Locale;

/** How log lines are written: readable text, or one JSON object per line for log collectors. */
public enum LogFormat {
  /** {@code 2026-01-02T03:04:05.678Z [INFO] DaemonServer - message request_id=ab12}. */
  TEXT,
  /** {@code {"ts":"...","level":"INFO","logger":"...","thread":"...","msg":"...","request_id":"ab12"}}. */
  JSON;

  /** Parses "text" or "json" (any case). */
  public static LogFormat parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown log format '" + text + "': expected text or json", e);
    }
  }
}
