package io.vnrt.runtime.models;

/**
 * What to load and where: the fields of a LoadModel header (or a KServe repository load).
 *
 * @param name the model's name, unique among the session's models (and how KServe finds it)
 * @param deviceId the device to load onto
 * @param startCore first global core of the group; ignored when {@code autoPlace}
 * @param coreCount cores in the group (0 means 1)
 * @param autoPlace place the group on the device's least-loaded cores
 * @param sizeBytes bytes of ONNX the load carries; a streamed load must deliver exactly this many
 * @param batching dynamic batching, or {@link Batching#NONE}
 * @param queueDepth executions of this model that may wait in its core group's queue (0: the default)
 */
public record LoadSpec(String name, int deviceId, int startCore, int coreCount, boolean autoPlace, long sizeBytes,
    Batching batching, int queueDepth) {

  /** Normalises a core count of 0 to 1 and a missing batching to none. */
  public LoadSpec {
    name = name == null ? "" : name.strip();
    coreCount = coreCount == 0 ? 1 : coreCount;
    batching = batching == null ? Batching.NONE : batching;
  }

  /** An auto-placed, unbatched load of {@code sizeBytes} onto {@code deviceId} with {@code coreCount} cores. */
  public static LoadSpec auto(String name, int deviceId, int coreCount, long sizeBytes) {
    return new LoadSpec(name, deviceId, 0, coreCount, true, sizeBytes, Batching.NONE, 0);
  }
}
