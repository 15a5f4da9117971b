package io.vnrt.runtime.server;

import io.vnrt.runtime.VnrtRuntimeException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Triton's trace settings, global and per model, validated as Triton validates them, stored and
 * reported. vnrt collects no traces: the settings are kept so that clients that set and read them
 * (perf_analyzer, tritonclient's update_trace_settings) work, and the README says so.
 */
final class TraceSettings {
  private static final Map<String, List<String>> DEFAULTS = defaults();
  private static final Set<String> LEVELS = Set.of("OFF", "TIMESTAMPS", "TENSORS");
  private static final Set<String> MODES = Set.of("triton", "opentelemetry");

  private final Map<String, List<String>> global = new LinkedHashMap<>(DEFAULTS);
  private final Map<String, Map<String, List<String>>> byModel = new LinkedHashMap<>();

  private static Map<String, List<String>> defaults() {
    Map<String, List<String>> d = new LinkedHashMap<>();
    d.put("trace_file", List.of(""));
    d.put("trace_level", List.of("OFF"));
    d.put("trace_rate", List.of("1000"));
    d.put("trace_count", List.of("-1"));
    d.put("log_frequency", List.of("0"));
    d.put("trace_mode", List.of("triton"));
    return d;
  }

  /**
   * Applies {@code changes} to the global settings ({@code model} empty) or to one model's, and
   * returns the settings then in effect for it. An empty value list clears a setting: a model's
   * falls back to the global one, a global one to its default. Nothing changes when any change is
   * invalid.
   */
  synchronized Map<String, List<String>> update(String model, Map<String, List<String>> changes) {
    for (Map.Entry<String, List<String>> c : changes.entrySet()) {
      check(c.getKey(), c.getValue());
    }
    Map<String, List<String>> target = model.isEmpty() ? global
        : byModel.computeIfAbsent(model, k -> new LinkedHashMap<>());
    for (Map.Entry<String, List<String>> c : changes.entrySet()) {
      if (c.getValue().isEmpty()) {
        if (model.isEmpty()) {
          target.put(c.getKey(), DEFAULTS.get(c.getKey()));
        } else {
          target.remove(c.getKey());
        }
      } else {
        target.put(c.getKey(), List.copyOf(c.getValue()));
      }
    }
    Map<String, List<String>> effective = new LinkedHashMap<>(global);
    if (!model.isEmpty()) {
      effective.putAll(byModel.getOrDefault(model, Map.of()));
    }
    return effective;
  }

  /** Forgets a model's own settings (it was unloaded). */
  synchronized void forget(String model) {
    byModel.remove(model);
  }

  private static void check(String key, List<String> values) {
    if (!DEFAULTS.containsKey(key)) {
      throw VnrtRuntimeException.invalid("unknown trace setting '" + key + "'; known: " + DEFAULTS.keySet(),
          "setting", key);
    }
    if (values.isEmpty()) {
      return;
    }
    switch (key) {
      case "trace_level" -> {
        for (String v : values) {
          if (!LEVELS.contains(v)) {
            throw VnrtRuntimeException.invalid("trace_level '" + v + "' is not one of " + LEVELS, "setting", key);
          }
        }
      }
      case "trace_rate", "trace_count", "log_frequency" -> {
        long min = key.equals("trace_count") ? -1 : key.equals("trace_rate") ? 1 : 0;
        if (values.size() != 1) {
          throw VnrtRuntimeException.invalid(key + " takes one value, got " + values, "setting", key);
        }
        long n;
        try {
          n = Long.parseLong(values.getFirst());
        } catch (NumberFormatException e) {
          n = Long.MIN_VALUE;
        }
        if (n < min) {
          throw VnrtRuntimeException.invalid(key + " must be a whole number, at least " + min + ", got '"
              + values.getFirst() + "'", "setting", key);
        }
      }
      case "trace_mode" -> {
        if (values.size() != 1 || !MODES.contains(values.getFirst())) {
          throw VnrtRuntimeException.invalid("trace_mode must be one of " + MODES + ", got " + values, "setting",
              key);
        }
      }
      default -> {
        if (values.size() != 1) {
          throw VnrtRuntimeException.invalid(key + " takes one value, got " + values, "setting", key);
        }
      }
    }
  }
}
