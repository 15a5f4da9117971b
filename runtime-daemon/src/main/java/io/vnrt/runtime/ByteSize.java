package io.vnrt.runtime;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and display of byte counts ("512MiB", "16GiB", "1.5G" in; "48.0 MiB" out). */
public final class ByteSize {
  private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
  public static final long KiB = 1L << 10;
  public static final long MiB = 1L << 20;
  public static final long GiB = 1L << 30;

  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private ByteSize() {
  }

  /**
   * Parses a size: a number with an optional unit. KiB/MiB/GiB/TiB and the one-letter K/M/G/T
   * are powers of 1024 (as in -Xmx); KB/MB/GB/TB are powers of 1000; B or no unit is bytes.
   *
   * @throws IllegalArgumentException naming the text and the accepted forms
   */
  public static long parse(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(invalid(text));
    }
    long multiplier = switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "", "b" -> 1L;
      case "k", "kib" -> 1L << 10;
      case "m", "mib" -> 1L << 20;
      case "g", "gib" -> 1L << 30;
      case "t", "tib" -> 1L << 40;
      case "kb" -> 1_000L;
      case "mb" -> 1_000_000L;
      case "gb" -> 1_000_000_000L;
      case "tb" -> 1_000_000_000_000L;
      default -> throw new IllegalArgumentException(invalid(text));
    };
    BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(multiplier));
    try {
      return bytes.setScale(0, RoundingMode.CEILING).longValueExact();
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("size '" + text + "' is larger than 2^63-1 bytes", e);
    }
  }

  private static String invalid(String text) {
    return "invalid size '" + text + "': expected a number with an optional unit, e.g. 512MiB, 16GiB, 1.5G, "
        + "4096 (units B, K/KiB, M/MiB, G/GiB, T/TiB in powers of 1024; KB, MB, GB, TB in powers of 1000)";
  }

  /** Formats bytes for people: "512 B", "48.0 MiB", "1.5 GiB". */
  public static String format(long bytes) {
    if (bytes < KiB) {
      return bytes + " B";
    }
    int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
    return String.format(Locale.ROOT, "%.1f %s", bytes / (double) (1L << (10 * unit)), UNITS[unit]);
  }

  /** Whole GiB at least as large as bytes, for suggested settings such as "--shm-size=17g". */
  public static long ceilGiB(long bytes) {
    return (bytes + GiB - 1) / GiB;
  }
}
