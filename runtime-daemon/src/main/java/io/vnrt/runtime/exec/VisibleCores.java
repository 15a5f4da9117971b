package io.vnrt.runtime.exec;

import java.util.BitSet;

/**
 * A restriction to some global cores, as in NEURON_RT_VISIBLE_CORES: "0-1,4" means cores 0, 1
 * and 4. Everything else is hidden from clients.
 *
 * @param cores the visible global core ids
 */
public record VisibleCores(BitSet cores) {
  /** The environment variable read by the daemon when --visible-cores is absent. */
  public static final String ENV = "VNRT_VISIBLE_CORES";

  /** Copies the set. */
  public VisibleCores {
    cores = (BitSet) cores.clone();
  }

  /** Parses a list of core ids and inclusive ranges: "0-1,4", "3", "0-7". */
  public static VisibleCores parse(String text) {
    BitSet set = new BitSet();
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty visible-cores list: expected core ids and ranges such as 0-1,4");
    }
    for (String part : text.split(",")) {
      String p = part.trim();
      try {
        int dash = p.indexOf('-');
        if (dash < 0) {
          set.set(Integer.parseInt(p));
        } else {
          int from = Integer.parseInt(p.substring(0, dash).trim());
          int to = Integer.parseInt(p.substring(dash + 1).trim());
          if (from > to) {
            throw new IllegalArgumentException("visible-cores range '" + p + "' runs backwards; write "
                + to + "-" + from);
          }
          set.set(from, to + 1);
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("invalid visible-cores entry '" + p + "' in '" + text
            + "': expected core ids and ranges such as 0-1,4", e);
      }
    }
    return new VisibleCores(set);
  }

  /** A copy of the visible set. */
  @Override
  public BitSet cores() {
    return (BitSet) cores.clone();
  }

  /** True when {@code coreId} is visible. */
  public boolean contains(int coreId) {
    return cores.get(coreId);
  }

  /** The highest visible core id. */
  public int highest() {
    return cores.length() - 1;
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder();
    for (int start = cores.nextSetBit(0); start >= 0; ) {
      int end = cores.nextClearBit(start) - 1;
      if (!out.isEmpty()) {
        out.append(',');
      }
      out.append(start == end ? String.valueOf(start) : start + "-" + end);
      start = cores.nextSetBit(end + 1);
    }
    return out.toString();
  }
}
