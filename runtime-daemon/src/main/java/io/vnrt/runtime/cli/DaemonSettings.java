package io.vnrt.runtime.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The daemon's effective settings and where each came from: a flag beats the environment
 * (VNRT_ and the key in upper case with '_' for '-'), which beats the config file ("key = value"
 * lines, '#' comments), which beats the default.
 */
final class DaemonSettings {
  /** Environment variable naming a config file when --config is absent. */
  static final String CONFIG_ENV = "VNRT_CONFIG";

  /**
   * One setting.
   *
   * @param key the flag without its dashes, also the config file key
   * @param defaultValue the default, or null when unset by default
   * @param expected what a valid value looks like, for error messages
   */
  record Setting(String key, String defaultValue, String expected) {
    /** The environment variable: VNRT_HBM for hbm. */
    String env() {
      return "VNRT_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }
  }

  /**
   * An effective value.
   *
   * @param value the text, empty when unset
   * @param source "flag --hbm", "env VNRT_HBM", "file vnrt.conf:3" or "default"
   */
  record Value(Optional<String> value, String source) {
  }

  /** A setting or file that cannot be used: the message names the key, the value and what was expected. */
  static final class SettingsException extends Exception {
    SettingsException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  static final List<Setting> ALL = List.of(
      new Setting("profile", "cpu", "one of cpu, inf2, trn1, trn2"),
      new Setting("devices", null, "a whole number of devices, at least 1"),
      new Setting("cores-per-device", null, "a whole number of cores, at least 1"),
      new Setting("hbm", null, "a size such as 512MiB or 16GiB"),
      new Setting("visible-cores", null, "a core list such as 0-1,4"),
      new Setting("hbm-backing", "anonymous", "'anonymous' or a directory such as /dev/shm"),
      new Setting("host-memory", "4GiB", "a size such as 4GiB"),
      new Setting("listen", "127.0.0.1:50051", "HOST:PORT such as 0.0.0.0:50051, or 'none'"),
      new Setting("uds", null, "an absolute socket path such as /run/vnrt/vnrt.sock"),
      new Setting("lease-ttl-ms", "60000", "a whole number of milliseconds, at least 1"),
      new Setting("tls-cert", null, "a PEM certificate chain file"),
      new Setting("tls-key", null, "a PEM (PKCS#8) private key file"),
      new Setting("tls-client-ca", null, "a PEM file of the CAs client certificates must chain to"),
      new Setting("auth-token-file", null, "a file holding the bearer token clients must send"),
      new Setting("admin-token-file", null, "a file holding the admin bearer token"),
      new Setting("max-sessions", "0", "a whole number of sessions, 0 for unlimited"),
      new Setting("session-hbm-quota", "0", "a size such as 1GiB, 0 for unlimited"),
      new Setting("session-model-quota", "0", "a whole number of models, 0 for unlimited"),
      new Setting("session-execution-quota", "0", "a whole number of executions, 0 for unlimited"),
      new Setting("drain-timeout", "30s", "a duration such as 500ms, 30s or 2m"),
      new Setting("repository-warmup", "0s", "a duration such as 500ms, 2s or 1m"),
      new Setting("kernel-warmup", "60s", "a duration such as 30s or 2m, 0s for none"),
      new Setting("load-warmup", "1", "a whole number of executions, 0 for none"),
      new Setting("load-warmup-budget", "0s", "a duration such as 500ms or 5s, 0s for exactly load-warmup runs"),
      new Setting("metrics-listen", "none", "HOST:PORT for the Prometheus endpoint such as 127.0.0.1:9464, or 'none'"),
      new Setting("log-format", "text", "'text' or 'json'"),
      new Setting("log-level", "info", "one of trace, debug, info, warn, error"),
      new Setting("model-repository", null, "a directory in Triton's layout, NAME/VERSION/model.onnx"),
      new Setting("health-listen", "none", "HOST:PORT for a plaintext health-only listener such as 0.0.0.0:50052, "
          + "or 'none'"),
      new Setting("http-listen", "none", "HOST:PORT for KServe v2's REST binding such as 0.0.0.0:8000, or 'none'"),
      new Setting("max-message-size", "1GiB", "a size from 1 byte to 2GiB-1 such as 64MiB or 1GiB"),
      new Setting("shm-allow", null, "comma-separated glob patterns of /dev/shm file names any client may map, "
          + "such as 'triton_*'"),
      new Setting("stream-idle-timeout", "30s", "a duration such as 30s or 2m, 0s for never"),
      new Setting("max-connection-idle", "5m", "a duration such as 30s or 5m, 0s for never"),
      new Setting("max-connections-per-peer", "64", "a whole number of connections, 0 for unlimited"));

  private final Map<String, Value> values;

  private DaemonSettings(Map<String, Value> values) {
    this.values = values;
  }

  /**
   * Resolves every setting. {@code flags}: the flags given, by key; {@code file}: the config
   * file, from --config or else $VNRT_CONFIG.
   */
  static DaemonSettings resolve(Map<String, String> flags, Map<String, String> env, Optional<Path> file)
      throws SettingsException {
    Optional<Path> configFile = file.or(() -> Optional.ofNullable(env.get(CONFIG_ENV)).filter(s -> !s.isBlank())
        .map(Path::of));
    Map<String, Value> fromFile = configFile.isPresent() ? readFile(configFile.get()) : Map.of();
    Map<String, Value> out = new LinkedHashMap<>();
    for (Setting s : ALL) {
      Value v;
      if (flags.get(s.key()) != null) {
        v = new Value(Optional.of(flags.get(s.key())), "flag --" + s.key());
      } else if (env.get(s.env()) != null) {
        v = new Value(Optional.of(env.get(s.env())), "env " + s.env());
      } else if (fromFile.containsKey(s.key())) {
        v = fromFile.get(s.key());
      } else {
        v = new Value(Optional.ofNullable(s.defaultValue()), "default");
      }
      out.put(s.key(), v);
    }
    return new DaemonSettings(out);
  }

  /** Reads "key = value" (or "key: value") lines; unknown keys, repeated keys and other lines are errors. */
  static Map<String, Value> readFile(Path file) throws SettingsException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SettingsException("cannot read config file " + file + ": " + Failures.reason(e), e);
    }
    Map<String, Value> out = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      String where = file + ":" + (i + 1);
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      int colon = line.indexOf(':');
      int sep = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
      if (sep <= 0) {
        throw new SettingsException("config file " + where + ": expected 'key = value', got '" + line + "'", null);
      }
      String key = line.substring(0, sep).strip();
      String value = line.substring(sep + 1).strip();
      if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
          || value.startsWith("'") && value.endsWith("'"))) {
        value = value.substring(1, value.length() - 1);
      }
      if (ALL.stream().noneMatch(s -> s.key().equals(key))) {
        throw new SettingsException("config file " + where + ": unknown key '" + key + "'; known keys: "
            + ALL.stream().map(Setting::key).collect(Collectors.joining(", ")), null);
      }
      if (out.containsKey(key)) {
        throw new SettingsException("config file " + where + ": key '" + key + "' is set again (first at "
            + out.get(key).source().substring("file ".length()) + ")", null);
      }
      out.put(key, new Value(Optional.of(value), "file " + where));
    }
    return out;
  }

  /** True when {@code key} has its default value (no flag, environment variable or file set it). */
  boolean isDefault(String key) {
    return value(key).source().equals("default");
  }

  /** The raw value of {@code key}, if set. */
  Optional<String> raw(String key) {
    return value(key).value();
  }

  private Value value(String key) {
    Value v = values.get(key);
    if (v == null) {
      throw new IllegalArgumentException("no setting '" + key + "'");
    }
    return v;
  }

  /**
   * The value of {@code key} parsed, or empty when unset; a value the parser refuses becomes a
   * SettingsException naming the key, the value, where it came from and what was expected.
   */
  <T> Optional<T> parsed(String key, Function<String, T> parser) throws SettingsException {
    Value v = value(key);
    if (v.value().isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(parser.apply(v.value().get().strip()));
    } catch (IllegalArgumentException e) {
      throw invalid(key, e);
    }
  }

  /** A SettingsException for {@code key}'s value, with {@code cause}'s explanation. */
  SettingsException invalid(String key, Exception cause) {
    Value v = value(key);
    String text = v.value().orElse("");
    Setting s = ALL.stream().filter(x -> x.key().equals(key)).findFirst().orElseThrow();
    // a parser's own "invalid size '12XB': expected ..." would repeat what this message starts with
    String detail = (cause.getMessage() == null ? cause.toString() : cause.getMessage())
        .replaceFirst("^invalid [^']*'" + Pattern.quote(text.strip()) + "': ", "");
    return new SettingsException("invalid " + key + " '" + text + "' (from " + v.source() + "): " + detail
        + (detail.contains("expected") ? "" : "; expected " + s.expected()), cause);
  }

  /** Parses a whole number at least {@code min}. */
  static Function<String, Integer> atLeast(int min) {
    return text -> {
      int n;
      try {
        n = Integer.parseInt(text);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a whole number", e);
      }
      if (n < min) {
        throw new IllegalArgumentException(n + " is below " + min);
      }
      return n;
    };
  }

  /** Parses "500ms", "30s", "2m" or a plain number of milliseconds. */
  static Duration duration(String text) {
    String t = text.toLowerCase(Locale.ROOT);
    long unitMs;
    String digits;
    if (t.endsWith("ms")) {
      unitMs = 1;
      digits = t.substring(0, t.length() - 2);
    } else if (t.endsWith("s")) {
      unitMs = 1000;
      digits = t.substring(0, t.length() - 1);
    } else if (t.endsWith("m")) {
      unitMs = 60_000;
      digits = t.substring(0, t.length() - 1);
    } else {
      unitMs = 1;
      digits = t;
    }
    try {
      long n = Long.parseLong(digits.strip());
      if (n < 0) {
        throw new IllegalArgumentException("a duration cannot be negative");
      }
      return Duration.ofMillis(Math.multiplyExact(n, unitMs));
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("not a duration", e);
    }
  }

  /** "key = value   (source)" per setting, unset ones as "key = (unset)"; token files named, never read. */
  String describe() {
    int width = ALL.stream().mapToInt(s -> s.key().length()).max().orElse(0);
    StringBuilder out = new StringBuilder();
    for (Setting s : ALL) {
      Value v = values.get(s.key());
      out.append(String.format(Locale.ROOT, "%-" + width + "s = %-28s # %s%n", s.key(),
          v.value().orElse("(unset)"), v.source()));
    }
    return out.toString();
  }
}
