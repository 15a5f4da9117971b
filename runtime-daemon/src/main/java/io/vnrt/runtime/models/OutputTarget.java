package io.vnrt.runtime.models;

/** Where an execution output goes. */
public sealed interface OutputTarget {

  /** Returned with the result as bytes. */
  record Inline() implements OutputTarget {
  }

  /**
   * Written into a device tensor of the calling session, whose dtype and byte size must match.
   *
   * @param handle the tensor's handle
   */
  record DeviceTensor(String handle) implements OutputTarget {
  }

  /**
   * Written into a registered shared-memory region of the calling session.
   *
   * @param region the region's name
   * @param offsetBytes offset in the region
   * @param lengthBytes room given; at least the output's byte size
   */
  record SharedMemory(String region, long offsetBytes, long lengthBytes) implements OutputTarget {
  }

  /** The inline target. */
  OutputTarget INLINE = new Inline();
}
