package io.vnrt.runtime.memory;

import java.util.Locale;

/** Formats byte counts the way people read them in messages: "512 B", "1.5 GiB". */
final class ByteSize {
  static final long KiB = 1L << 10;
  static final long MiB = 1L << 20;
  static final long GiB = 1L << 30;

  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private ByteSize() {}

  static String format(long bytes) {
    if (bytes < KiB) {
      return bytes + " B";
    }
    int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
    return String.format(Locale.ROOT, "%.1f %s", bytes / (double) (1L << (10 * unit)), UNITS[unit]);
  }

  /** Whole GiB at least as large as bytes, for suggested settings such as "--shm-size=17g". */
  static long ceilGiB(long bytes) {
    return (bytes + GiB - 1) / GiB;
  }
}
