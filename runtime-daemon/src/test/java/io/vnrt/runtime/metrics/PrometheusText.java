package io.vnrt.runtime.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Parses the Prometheus text format into {@code name{label="value",...}} (labels sorted) -> value. */
public final class PrometheusText {
  private PrometheusText() {
  }

  /** Every sample of the exposition; comment lines are checked to be HELP or TYPE. */
  public static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("#")) {
        if (!line.startsWith("# HELP ") && !line.startsWith("# TYPE ")) {
          throw new IllegalArgumentException("unexpected comment line: " + line);
        }
        continue;
      }
      int space = line.lastIndexOf(' ');
      String series = line.substring(0, space);
      double value = Double.parseDouble(line.substring(space + 1).replace("+Inf", "Infinity"));
      samples.put(normalize(series), value);
    }
    return samples;
  }

  /** A series key as the tests write it: {@code name{a="1",b="2"}} with labels sorted, or just the name. */
  public static String key(String name, String... labelPairs) {
    TreeSet<String> labels = new TreeSet<>();
    for (int i = 0; i < labelPairs.length; i += 2) {
      labels.add(labelPairs[i] + "=\"" + labelPairs[i + 1] + "\"");
    }
    return labels.isEmpty() ? name : name + "{" + String.join(",", labels) + "}";
  }

  private static String normalize(String series) {
    int brace = series.indexOf('{');
    if (brace < 0) {
      return series;
    }
    String name = series.substring(0, brace);
    String body = series.substring(brace + 1, series.lastIndexOf('}'));
    TreeSet<String> labels = new TreeSet<>();
    // label values here never hold '",' so splitting on it is safe for the daemon's own meters
    for (String pair : body.split("\",")) {
      if (!pair.isEmpty()) {
        labels.add(pair.endsWith("\"") ? pair : pair + "\"");
      }
    }
    return name + "{" + String.join(",", labels) + "}";
  }
}
