package io.vnrt.runtime.server;

import io.vnrt.proto.inference.LogSettingsRequest;
import io.vnrt.proto.inference.LogSettingsResponse;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.logging.LogFormat;
import io.vnrt.runtime.logging.LogSettings;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.event.Level;

/**
 * Triton's LogSettings over the daemon's logging, which writes everything at or above one level:
 * log_verbose_level 1 is DEBUG and 2 or more TRACE, else log_info on is INFO, else log_warning on is
 * WARN, else ERROR; log_format is the daemon's "text" or "json" (Triton's "default" and "ISO8601"
 * are text, whose timestamps are ISO 8601). Combinations that are not a level (info on with
 * warnings off, errors off) and log_file (the daemon logs to standard error) are refused.
 */
final class KServeLogSettings {
  /** The settings Triton defines. */
  static final List<String> KEYS = List.of("log_file", "log_info", "log_warning", "log_error", "log_verbose_level",
      "log_format");

  private KServeLogSettings() {
  }

  /** Applies {@code changes} (none: just reads) and returns every setting as it then is. */
  static synchronized LogSettingsResponse update(Map<String, LogSettingsRequest.SettingValue> changes) {
    Level level = LogSettings.threshold();
    boolean info = level.toInt() <= Level.INFO.toInt();
    boolean warning = level.toInt() <= Level.WARN.toInt();
    int verbose = level == Level.TRACE ? 2 : level == Level.DEBUG ? 1 : 0;
    LogFormat format = LogSettings.format();
    for (Map.Entry<String, LogSettingsRequest.SettingValue> c : changes.entrySet()) {
      LogSettingsRequest.SettingValue v = c.getValue();
      switch (c.getKey()) {
        case "log_info" -> info = bool(c.getKey(), v);
        case "log_warning" -> warning = bool(c.getKey(), v);
        case "log_error" -> {
          if (!bool(c.getKey(), v)) {
            throw VnrtRuntimeException.invalid("log_error cannot be turned off: the daemon always logs errors",
                "setting", "log_error");
          }
        }
        case "log_verbose_level" -> {
          if (v.getParameterChoiceCase() != LogSettingsRequest.SettingValue.ParameterChoiceCase.UINT32_PARAM) {
            throw VnrtRuntimeException.invalid("log_verbose_level takes a uint32_param, got "
                + v.getParameterChoiceCase(), "setting", "log_verbose_level");
          }
          verbose = v.getUint32Param();
        }
        case "log_format" -> format = format(string(c.getKey(), v));
        case "log_file" -> {
          if (!string(c.getKey(), v).isEmpty()) {
            throw VnrtRuntimeException.invalid("log_file cannot be set: the daemon logs to standard error (redirect "
                + "it, or let the container runtime collect it); send \"\" or leave log_file out", "setting",
                "log_file");
          }
        }
        default -> throw VnrtRuntimeException.invalid("unknown log setting '" + c.getKey() + "'; known: " + KEYS,
            "setting", c.getKey());
      }
    }
    if (info && !warning) {
      throw VnrtRuntimeException.invalid("log_info on with log_warning off is not a level: the daemon logs every "
          + "message at or above one level (turn log_warning on, or log_info off)", "setting", "log_warning");
    }
    Level next = verbose >= 2 ? Level.TRACE : verbose == 1 ? Level.DEBUG : info ? Level.INFO
        : warning ? Level.WARN : Level.ERROR;
    LogSettings.configure(format, next);
    return current();
  }

  private static LogSettingsResponse current() {
    Level level = LogSettings.threshold();
    LogSettingsResponse.Builder b = LogSettingsResponse.newBuilder();
    b.putSettings("log_file", LogSettingsResponse.SettingValue.newBuilder().setStringParam("").build());
    b.putSettings("log_info", flag(level.toInt() <= Level.INFO.toInt()));
    b.putSettings("log_warning", flag(level.toInt() <= Level.WARN.toInt()));
    b.putSettings("log_error", flag(true));
    b.putSettings("log_verbose_level", LogSettingsResponse.SettingValue.newBuilder()
        .setUint32Param(level == Level.TRACE ? 2 : level == Level.DEBUG ? 1 : 0).build());
    b.putSettings("log_format", LogSettingsResponse.SettingValue.newBuilder()
        .setStringParam(LogSettings.format().name().toLowerCase(Locale.ROOT)).build());
    return b.build();
  }

  private static LogSettingsResponse.SettingValue flag(boolean on) {
    return LogSettingsResponse.SettingValue.newBuilder().setBoolParam(on).build();
  }

  private static boolean bool(String key, LogSettingsRequest.SettingValue v) {
    if (v.getParameterChoiceCase() != LogSettingsRequest.SettingValue.ParameterChoiceCase.BOOL_PARAM) {
      throw VnrtRuntimeException.invalid(key + " takes a bool_param, got " + v.getParameterChoiceCase(), "setting",
          key);
    }
    return v.getBoolParam();
  }

  private static String string(String key, LogSettingsRequest.SettingValue v) {
    if (v.getParameterChoiceCase() != LogSettingsRequest.SettingValue.ParameterChoiceCase.STRING_PARAM) {
      throw VnrtRuntimeException.invalid(key + " takes a string_param, got " + v.getParameterChoiceCase(), "setting",
          key);
    }
    return v.getStringParam();
  }

  private static LogFormat format(String text) {
    return switch (text) {
      case "default", "ISO8601" -> LogFormat.TEXT;
      default -> {
        try {
          yield LogFormat.parse(text);
        } catch (IllegalArgumentException e) {
          throw VnrtRuntimeException.invalid("log_format '" + text + "' is not one of text, json (or Triton's default,"
              + " ISO8601, both text)", "setting", "log_format");
        }
      }
    };
  }
}
