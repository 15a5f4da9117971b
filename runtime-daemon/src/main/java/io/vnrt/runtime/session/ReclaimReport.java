package io.vnrt.runtime.session;

import io.vnrt.runtime.ByteSize;

/**
 * What ending a session gave back.
 *
 * @param tensors handles freed (tensors and slices)
 * @param bytes bytes returned to the pools at once (memory pinned by a running read returns when it ends)
 */
public record ReclaimReport(int tensors, long bytes) {
  /** Nothing was reclaimed. */
  public static final ReclaimReport NOTHING = new ReclaimReport(0, 0);

  /** "3 tensors, 48.0 MiB". */
  public String describe() {
    return tensors + (tensors == 1 ? " tensor, " : " tensors, ") + ByteSize.format(bytes);
  }
}
