package io.vnrt.client;

import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecuteResult;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of one execution: the outputs returned inline, the names of those written in place
 * (into device tensors or shared memory), and where the time went.
 *
 * @param outputs outputs returned inline, by name, in the model's order
 * @param writtenInPlace names of outputs written into device tensors or shared-memory regions
 * @param queueTime time spent waiting in the core group's queue
 * @param computeTime time spent running the plan
 * @param batchSize size of the batch the request ran in (1 without batching)
 */
public record ExecutionResult(Map<String, HostTensor> outputs, List<String> writtenInPlace, Duration queueTime,
    Duration computeTime, int batchSize) {

  /** Copies the collections. */
  public ExecutionResult {
    outputs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
    writtenInPlace = List.copyOf(writtenInPlace);
  }

  /** Output {@code name}; fails naming the outputs there are when it was not returned inline. */
  public HostTensor output(String name) {
    HostTensor t = outputs.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no inline output '" + name + "'; the result has " + outputs.keySet());
    }
    return t;
  }

  static ExecutionResult fromProto(ExecuteResponse response) {
    Map<String, HostTensor> inline = new LinkedHashMap<>();
    List<String> written = new java.util.ArrayList<>();
    for (ExecuteResult r : response.getOutputsList()) {
      if (!r.getHandle().isEmpty() || r.hasSharedMemory()) {
        written.add(r.getName());
      } else {
        inline.put(r.getName(), HostTensor.of(DType.fromProto(r.getDtype()), HostTensor.dims(r.getShapeList()),
            r.getData()));
      }
    }
    return new ExecutionResult(inline, written, Duration.ofNanos(response.getTiming().getQueueUs() * 1000),
        Duration.ofNanos(response.getTiming().getComputeUs() * 1000), Math.max(1, response.getTiming().getBatchSize()));
  }
}
