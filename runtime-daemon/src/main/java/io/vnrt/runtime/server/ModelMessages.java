package io.vnrt.runtime.server;

import com.google.protobuf.UnsafeByteOperations;
import io.vnrt.proto.v1.BatchingOptions;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.Dimension;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteOutput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecuteResult;
import io.vnrt.proto.v1.ExecutionTiming;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.SharedMemoryRef;
import io.vnrt.proto.v1.TensorSpec;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.models.Batching;
import io.vnrt.runtime.models.ExecutionRequest;
import io.vnrt.runtime.models.ExecutionResult;
import io.vnrt.runtime.models.LoadSpec;
import io.vnrt.runtime.models.Warmup;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.runtime.models.OutputTarget;
import io.vnrt.runtime.models.TensorSource;
import io.vnrt.runtime.models.TensorTypes;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Translation between the Model/Execution messages and the runtime's model API. */
final class ModelMessages {
  /** Batch size used when batching is enabled without a size. */
  static final int DEFAULT_MAX_BATCH = 8;

  private ModelMessages() {
  }

  /** The load spec of a LoadModel header. */
  static LoadSpec spec(LoadModelHeader h) {
    Batching batching = Batching.NONE;
    if (h.hasBatching() && h.getBatching().getEnabled()) {
      BatchingOptions b = h.getBatching();
      int size = b.getMaxBatchSize() == 0 ? DEFAULT_MAX_BATCH : b.getMaxBatchSize();
      if (b.getMaxQueueDelayUs() < 0 || b.getMaxQueueDelayUs() > 1_000_000) {
        throw VnrtRuntimeException.invalid("max_queue_delay_us must be at most 1000000, got "
            + Long.toUnsignedString(b.getMaxQueueDelayUs()), "max_queue_delay_us",
            Long.toUnsignedString(b.getMaxQueueDelayUs()));
      }
      batching = new Batching(size, Duration.ofNanos(b.getMaxQueueDelayUs() * 1000));
    }
    Warmup warmup = Warmup.requested(h.getWarmupRuns(), Duration.ofMillis(Integer.toUnsignedLong(h.getWarmupMs())),
        h.getWarmupDimsMap(), h.getSkipWarmup());
    return new LoadSpec(h.getName(), h.getDeviceId(), h.getStartCore(), h.getCoreCount(), h.getAutoPlace(),
        h.getModelSizeBytes(), batching, h.getQueueDepth(), warmup);
  }

  /** The contract's description of a model. */
  static ModelInfo info(ModelEntry m) {
    ModelInfo.Builder b = ModelInfo.newBuilder()
        .setModelId(m.id())
        .setName(m.name())
        .setDeviceId(m.deviceId())
        .addAllCores(m.cores())
        .setWeightsBytes(m.weightsBytes())
        .setScratchBytes(m.scratchBytes())
        .setLoadTimeMs(m.loadTime().toNanos() / 1e6)
        .setWarmupTimeMs(m.warmupTime().toNanos() / 1e6)
        .setWarmupRuns(m.warmup().runs())
        .setWarmupNote(m.warmup().note())
        .setOpset(m.opset());
    m.inputs().forEach(v -> b.addInputs(spec(v)));
    m.outputs().forEach(v -> b.addOutputs(spec(v)));
    if (m.batching().enabled()) {
      b.setBatching(BatchingOptions.newBuilder().setEnabled(true).setMaxBatchSize(m.batching().maxBatchSize())
          .setMaxQueueDelayUs(m.batching().maxQueueDelay().toNanos() / 1000));
    }
    return b.build();
  }

  private static TensorSpec spec(ValueInfo v) {
    TensorSpec.Builder b = TensorSpec.newBuilder().setName(v.name()).setDtype(dataType(v.dtype()));
    if (v.dims() != null) {
      for (Dim d : v.dims()) {
        b.addShape(d.isFixed() ? Dimension.newBuilder().setSize(d.value())
            : Dimension.newBuilder().setSymbol(d.symbol() == null || d.symbol().isEmpty() ? "?" : d.symbol()));
      }
    }
    return b.build();
  }

  /** The contract's dtype of an engine type; UNSPECIFIED when the contract has none. */
  static DataType dataType(DType t) {
    io.vnrt.runtime.session.DType s = t == null ? null : TensorTypes.toSession(t);
    return s == null ? DataType.DATA_TYPE_UNSPECIFIED : TensorMessages.dataType(s);
  }

  /** The engine type of a contract dtype; EXEC_BAD_INPUT-worthy INVALID_ARGUMENT for unset, unknown or RAW. */
  static DType engineType(DataType type, int number, String input) {
    DType t = TensorTypes.toEngine(TensorMessages.dtype(type, number));
    if (t == null) {
      throw VnrtRuntimeException.invalid("input '" + input + "' needs an element type; DATA_TYPE_RAW has none",
          "name", input);
    }
    return t;
  }

  /** The runtime request of an ExecuteRequest, with a deadline on System.nanoTime(). */
  static ExecutionRequest request(ExecuteRequest r, long deadlineNanos) {
    Map<String, TensorSource> inputs = new LinkedHashMap<>();
    for (ExecuteInput in : r.getInputsList()) {
      if (inputs.containsKey(in.getName())) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + in.getName()
            + "' is given twice", "name", in.getName());
      }
      inputs.put(in.getName(), source(in));
    }
    Map<String, OutputTarget> outputs = new LinkedHashMap<>();
    for (ExecuteOutput out : r.getOutputsList()) {
      OutputTarget t = switch (out.getDestinationCase()) {
        case HANDLE -> new OutputTarget.DeviceTensor(out.getHandle());
        case SHARED_MEMORY -> new OutputTarget.SharedMemory(out.getSharedMemory().getRegion(),
            out.getSharedMemory().getOffsetBytes(), out.getSharedMemory().getLengthBytes());
        case DESTINATION_NOT_SET -> OutputTarget.INLINE;
      };
      if (outputs.putIfAbsent(out.getName(), t) != null) {
        throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "output '" + out.getName()
            + "' is asked for twice", "name", out.getName());
      }
    }
    return new ExecutionRequest(r.getModelId(), inputs, outputs, deadlineNanos);
  }

  private static TensorSource source(ExecuteInput in) {
    String name = in.getName();
    return switch (in.getSourceCase()) {
      case INLINE -> {
        // executions are bound inside submit, while the request's buffers are held: see TransportBytes.input
        yield TransportBytes.input(engineType(in.getInline().getDtype(), in.getInline().getDtypeValue(), name),
            toArray(in.getInline().getShapeList()), in.getInline().getData());
      }
      case HANDLE -> new TensorSource.DeviceTensor(in.getHandle(),
          in.getDtype() == DataType.DATA_TYPE_UNSPECIFIED ? null : engineType(in.getDtype(), in.getDtypeValue(), name),
          in.getShapeCount() == 0 ? null : toArray(in.getShapeList()));
      case SHARED_MEMORY -> {
        SharedMemoryRef ref = in.getSharedMemory();
        yield new TensorSource.SharedMemory(ref.getRegion(), ref.getOffsetBytes(), ref.getLengthBytes(),
            engineType(in.getDtype(), in.getDtypeValue(), name), toArray(in.getShapeList()));
      }
      case SOURCE_NOT_SET -> throw VnrtRuntimeException.of(VnrtRuntimeException.Kind.EXEC_BAD_INPUT, "input '" + name
          + "' has no source: set inline, handle or shared_memory", "name", name);
    };
  }

  private static long[] toArray(List<Long> shape) {
    // a loop, not a stream: on every Execute's path, where a fresh daemon runs it interpreted
    long[] out = new long[shape.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = shape.get(i);
    }
    return out;
  }

  /** The response of a finished execution; inline bytes are wrapped, not copied. */
  static ExecuteResponse response(String requestId, ExecutionResult result) {
    ExecuteResponse.Builder b = ExecuteResponse.newBuilder().setRequestId(requestId);
    for (ExecutionResult.OutputValue o : result.outputs()) {
      ExecuteResult.Builder r = ExecuteResult.newBuilder().setName(o.name()).setDtype(dataType(o.dtype()));
      for (long d : o.shape()) {
        r.addShape(d);
      }
      switch (o.target()) {
        case OutputTarget.Inline in -> r.setData(UnsafeByteOperations.unsafeWrap(o.data()));
        case OutputTarget.DeviceTensor h -> r.setHandle(h.handle());
        case OutputTarget.SharedMemory s -> r.setSharedMemory(SharedMemoryRef.newBuilder().setRegion(s.region())
            .setOffsetBytes(s.offsetBytes()).setLengthBytes(s.lengthBytes()));
      }
      b.addOutputs(r);
    }
    ExecutionResult.Timing t = result.timing();
    b.setTiming(ExecutionTiming.newBuilder().setQueueUs(t.queueMicros()).setComputeUs(t.computeMicros())
        .setBatchSize(t.batchSize()));
    return b.build();
  }
}
