package io.vnrt.runtime.cli;

import io.vnrt.proto.v1.CoreMetrics;
import io.vnrt.proto.v1.DeviceMemoryUsage;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.ModelMetrics;
import io.vnrt.runtime.ByteSize;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** One frame of {@code vnrt top}: cores with utilisation bars, memory per device and category, models. */
final class TopView {
  static final int BAR_WIDTH = 30;
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
      .withZone(ZoneOffset.UTC);

  private TopView() {
  }

  /** The frame's lines, without escape codes. */
  static List<String> render(String target, MetricsSnapshot s) {
    List<String> lines = new ArrayList<>();
    lines.add(String.format(Locale.ROOT, "vnrt top - %s - %s - period %d ms - %d sessions - q quits", target,
        TIME.format(Instant.ofEpochMilli(s.getTimestampMs())), s.getPeriodMs(), s.getSessions()));
    lines.add("");
    lines.add("CORES");
    for (CoreMetrics c : s.getCoresList()) {
      lines.add(String.format(Locale.ROOT, "  nc%-3d dev %-2d %s %5.1f%%  %8d exec", c.getCoreId(), c.getDeviceId(),
          bar(c.getUtilization()), 100 * c.getUtilization(), c.getExecutions()));
    }
    lines.add("");
    lines.add("MEMORY");
    for (DeviceMemoryUsage d : s.getMemoryList()) {
      double used = d.getCapacityBytes() == 0 ? 0 : (double) d.getUsedBytes() / d.getCapacityBytes();
      lines.add(String.format(Locale.ROOT, "  dev %-2d %s %5.1f%%  %s / %s (peak %s)", d.getDeviceId(), bar(used),
          100 * used, ByteSize.format(d.getUsedBytes()), ByteSize.format(d.getCapacityBytes()),
          ByteSize.format(d.getPeakUsedBytes())));
      StringBuilder categories = new StringBuilder("         ");
      for (Map.Entry<String, Long> e : d.getUsedBytesByCategoryMap().entrySet().stream()
          .sorted(Map.Entry.comparingByKey()).toList()) {
        categories.append(' ').append(e.getKey()).append(' ').append(ByteSize.format(e.getValue())).append(" ");
      }
      lines.add(categories.toString().stripTrailing());
    }
    lines.add("");
    lines.add("MODELS");
    lines.add(String.format(Locale.ROOT, "  %-24s %-10s %8s %6s %11s %11s", "NAME", "ID", "EXEC", "FAIL", "P50 us",
        "P99 us"));
    if (s.getModelsCount() == 0) {
      lines.add("  (no models loaded)");
    }
    for (ModelMetrics m : s.getModelsList()) {
      lines.add(String.format(Locale.ROOT, "  %-24s %-10s %8d %6d %11.1f %11.1f", cut(m.getName(), 24),
          cut(m.getModelId(), 10), m.getCompleted(), m.getFailed(), m.getLatency().getP50Us(),
          m.getLatency().getP99Us()));
    }
    if (s.getErrorsCount() > 0) {
      lines.add("");
      StringBuilder errors = new StringBuilder("ERRORS ");
      s.getErrorsMap().entrySet().stream().sorted(Map.Entry.comparingByKey())
          .forEach(e -> errors.append(' ').append(e.getKey()).append(' ').append(e.getValue()));
      lines.add(errors.toString());
    }
    return lines;
  }

  /** {@code [#######.......]} for a fraction 0..1 (clamped). */
  static String bar(double fraction) {
    int filled = (int) Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH);
    return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "]";
  }

  private static String cut(String s, int width) {
    return s.length() <= width ? s : s.substring(0, width - 1) + "~";
  }
}
