package io.vnrt.client;

import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteOutput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.SharedMemoryRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The inputs of one execution, each inline (a {@link HostTensor}) or already on the device (a
 * {@link DeviceTensor} of the same session, or a range of a {@link SharedMemory} region), and where
 * outputs go (inline unless written into a device tensor or a shared-memory region). Build one per execution; not thread-safe while being built.
 */
public final class ExecutionRequest {
  private final List<ExecuteInput> inputs = new ArrayList<>();
  private final List<ExecuteOutput> outputs = new ArrayList<>();

  /** An empty request. */
  public ExecutionRequest() {
  }

  /** A request with every entry of {@code hostInputs} inline. */
  public static ExecutionRequest of(Map<String, HostTensor> hostInputs) {
    ExecutionRequest r = new ExecutionRequest();
    hostInputs.forEach(r::input);
    return r;
  }

  /** Adds input {@code name} carried inline. */
  public ExecutionRequest input(String name, HostTensor tensor) {
    inputs.add(ExecuteInput.newBuilder().setName(name).setInline(tensor.toProto()).build());
    return this;
  }

  /** Adds input {@code name} read from a device tensor (its type and shape are the tensor's). */
  public ExecutionRequest input(String name, DeviceTensor tensor) {
    inputs.add(ExecuteInput.newBuilder().setName(name).setHandle(tensor.handle())
        .setDtype(tensor.spec().dtype().toProto()).addAllShape(tensor.spec().shape()).build());
    return this;
  }

  /** Adds input {@code name} read in place from {@code lengthBytes} at {@code offsetBytes} of a shared-memory region. */
  public ExecutionRequest input(String name, SharedMemory region, long offsetBytes, DType dtype, long... shape) {
    long length = TensorSpec.of(dtype, shape).sizeBytes();
    ExecuteInput.Builder b = ExecuteInput.newBuilder().setName(name).setDtype(dtype.toProto())
        .setSharedMemory(SharedMemoryRef.newBuilder().setRegion(region.name()).setOffsetBytes(offsetBytes)
            .setLengthBytes(length));
    for (long d : shape) {
      b.addShape(d);
    }
    inputs.add(b.build());
    return this;
  }

  /** Asks for output {@code name} to be written at {@code offsetBytes} of a region, in at most {@code lengthBytes}. */
  public ExecutionRequest outputTo(String name, SharedMemory region, long offsetBytes, long lengthBytes) {
    outputs.add(ExecuteOutput.newBuilder().setName(name).setSharedMemory(SharedMemoryRef.newBuilder()
        .setRegion(region.name()).setOffsetBytes(offsetBytes).setLengthBytes(lengthBytes)).build());
    return this;
  }

  /** Asks for output {@code name} inline (once any output is named, only the named ones are returned). */
  public ExecutionRequest output(String name) {
    outputs.add(ExecuteOutput.newBuilder().setName(name).build());
    return this;
  }

  /** Asks for output {@code name} to be written into {@code destination} instead of returned. */
  public ExecutionRequest outputTo(String name, DeviceTensor destination) {
    outputs.add(ExecuteOutput.newBuilder().setName(name).setHandle(destination.handle()).build());
    return this;
  }

  ExecuteRequest toProto(String modelId, String requestId) {
    return ExecuteRequest.newBuilder().setModelId(modelId).setRequestId(requestId)
        .addAllInputs(inputs).addAllOutputs(outputs).build();
  }
}
