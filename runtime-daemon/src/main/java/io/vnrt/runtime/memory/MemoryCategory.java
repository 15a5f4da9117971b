package io.vnrt.runtime.memory;

/** What an HBM block holds; pools account their bytes by category. */
public enum MemoryCategory {
  /** Tensors allocated by clients or as execution inputs and outputs. */
  TENSORS,
  /** A loaded model's weights, including pre-packed copies. */
  WEIGHTS,
  /** A model's activation and workspace area, laid out by its memory plan. */
  SCRATCH,
  /** The runtime's own bookkeeping on the device. */
  RUNTIME
}
