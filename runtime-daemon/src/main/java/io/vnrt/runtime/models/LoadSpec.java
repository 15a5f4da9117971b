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
 * @param warmup executions with generated inputs before the load returns ({@link Warmup#DEFAULT} when
 *     the load names none)
 */
public record LoadSpec(String name, int deviceId, int startCore, int coreCount, boolean autoPlace, long sizeBytes,
    Batching batching, int queueDepth, Warmup warmup) {

  /** Normalises a core count of 0 to 1, a missing batching to none and a missing warm-up to the default. */
  public LoadSpec {
    name = name == null ? "" : name.strip();
    coreCount = coreCount == 0 ? 1 : coreCount;
    batching = batching == null ? Batching.NONE : batching;
    warmup = warmup == null ? Warmup.DEFAULT : warmup;
  }

  /** With the runtime's default warm-up. */
  public LoadSpec(String name, int deviceId, int startCore, int coreCount, boolean autoPlace, long sizeBytes,
      Batching batching, int queueDepth) {
    this(name, deviceId, startCore, coreCount, autoPlace, sizeBytes, batching, queueDepth, Warmup.DEFAULT);
  }

  /** The same load with another announced size. */
  public LoadSpec withSize(long bytes) {
    return new LoadSpec(name, deviceId, startCore, coreCount, autoPlace, bytes, batching, queueDepth, warmup);
  }

  /** The same load with a warm-up. */
  public LoadSpec withWarmup(Warmup w) {
    return new LoadSpec(name, deviceId, startCore, coreCount, autoPlace, sizeBytes, batching, queueDepth, w);
  }

  /**
   * An auto-placed, unbatched load of {@code sizeBytes} onto {@code deviceId} with {@code coreCount}
   * cores and the default warm-up.
   */
  public static LoadSpec auto(String name, int deviceId, int coreCount, long sizeBytes) {
    return new LoadSpec(name, deviceId, 0, coreCount, true, sizeBytes, Batching.NONE, 0);
  }
}
