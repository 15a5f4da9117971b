package io.vnrt.runtime.models;

import java.util.List;
import java.util.Map;

/**
 * One execution of a model.
 *
 * @param modelId the model, looked up in the calling session
 * @param inputs every graph input by name
 * @param outputs outputs wanted, by name, and where each goes; empty means every output inline
 * @param deadlineNanos when the execution must have finished, on the registry's ticker; {@link #NO_DEADLINE} for none
 */
public record ExecutionRequest(String modelId, Map<String, TensorSource> inputs, Map<String, OutputTarget> outputs,
    long deadlineNanos) {
  /** No deadline. */
  public static final long NO_DEADLINE = Long.MAX_VALUE;

  /** Copies the maps (keeping their order). */
  public ExecutionRequest {
    inputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(inputs));
    outputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(outputs));
  }

  /** Every output inline, no deadline. */
  public static ExecutionRequest of(String modelId, Map<String, TensorSource> inputs) {
    return new ExecutionRequest(modelId, inputs, Map.of(), NO_DEADLINE);
  }

  /** Names of the wanted outputs, in order. */
  public List<String> outputNames() {
    return List.copyOf(outputs.keySet());
  }
}
