package io.vnrt.runtime.session;

import io.vnrt.runtime.ByteSize;

/**
 * What ending a session gave back.
 *
 * @param tensors handles freed (tensors and slices)
 * @param models models unloaded
 * @param bytes bytes returned to the pools at once (memory pinned by a running read returns when it ends)
 */
public record ReclaimReport(int tensors, int models, long bytes) {
  /** Nothing was reclaimed. */
  public static final ReclaimReport NOTHING = new ReclaimReport(0, 0, 0);

  /** Both reports together. */
  public ReclaimReport plus(ReclaimReport other) {
    return new ReclaimReport(tensors + other.tensors, models + other.models, bytes + other.bytes);
  }

  /** "3 tensors, 1 model, 48.0 MiB". */
  public String describe() {
    return tensors + (tensors == 1 ? " tensor, " : " tensors, ") + (models == 0 ? ""
        : models + (models == 1 ? " model, " : " models, ")) + ByteSize.format(bytes);
  }
}
