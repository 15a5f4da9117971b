package io.vnrt.runtime.models;

import java.util.List;

/**
 * What an execution produced and where the time went.
 *
 * @param outputs the outputs asked for, in the order asked (every output when none were named)
 * @param timing queue and compute time, and the batch the request ran in
 */
public record ExecutionResult(List<OutputValue> outputs, Timing timing) {
  /** Copies the list. */
  public ExecutionResult {
    outputs = List.copyOf(outputs);
  }

  /**
   * One output.
   *
   * @param name output name
   * @param dtype element type
   * @param shape dimensions
   * @param target where it went
   * @param data the bytes when {@code target} is inline (owned by the caller: wrap, don't copy); else null
   */
  public record OutputValue(String name, io.vnrt.runtime.kernels.DType dtype, long[] shape, OutputTarget target,
      byte[] data) {
    /** Bytes of the output. */
    public long byteSize() {
      long n = dtype.byteSize();
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /**
   * Where the time went.
   *
   * @param queueMicros waiting in the core group's queue
   * @param computeMicros running the plan (shared by every request of a batch)
   * @param batchSize requests merged into the run (1 without batching)
   */
  public record Timing(long queueMicros, long computeMicros, int batchSize) {
  }
}
