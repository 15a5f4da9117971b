package io.vnrt.client;

import io.vnrt.proto.v1.Dimension;
import io.vnrt.proto.v1.ModelInfo;
import java.time.Duration;
import java.util.List;

/**
 * What the daemon says about a loaded model: its graph inputs and outputs (with symbolic
 * dimensions), where it runs, the HBM it holds and how long it took to load.
 *
 * @param modelId opaque model id
 * @param name the model's name
 * @param deviceId device it is loaded on
 * @param cores global core ids of its core group
 * @param inputs graph inputs
 * @param outputs graph outputs
 * @param weightsBytes HBM held by weights
 * @param scratchBytes HBM held by activation scratch
 * @param loadTime time taken to load and compile
 * @param warmupTime time the warm-up executions at load took (zero when none ran)
 * @param warmupRuns warm-up executions run at load
 * @param warmupNote why the daemon's default warm-up did not run, when it did not; "" otherwise
 */
public record ModelDescription(String modelId, String name, int deviceId, List<Integer> cores, List<Port> inputs,
    List<Port> outputs, long weightsBytes, long scratchBytes, Duration loadTime, Duration warmupTime, int warmupRuns,
    String warmupNote) {

  /** Copies the lists. */
  public ModelDescription {
    cores = List.copyOf(cores);
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /**
   * A graph input or output.
   *
   * @param name name in the graph
   * @param dtype element type
   * @param shape dimensions, fixed or symbolic
   */
  public record Port(String name, DType dtype, List<Dim> shape) {
    /** Copies the shape. */
    public Port {
      shape = List.copyOf(shape);
    }

    @Override
    public String toString() {
      return name + ": " + dtype + shape;
    }
  }

  /**
   * One dimension: a fixed size, or a symbol bound at execution.
   *
   * @param size the extent when fixed, -1 when symbolic
   * @param symbol the symbol's name, or "" when fixed
   */
  public record Dim(long size, String symbol) {
    /** True for a fixed extent. */
    public boolean isFixed() {
      return symbol.isEmpty();
    }

    @Override
    public String toString() {
      return isFixed() ? Long.toString(size) : symbol;
    }
  }

  /** The description of a daemon's ModelInfo. */
  public static ModelDescription fromProto(ModelInfo info) {
    return new ModelDescription(info.getModelId(), info.getName(), info.getDeviceId(), info.getCoresList(),
        info.getInputsList().stream().map(ModelDescription::port).toList(),
        info.getOutputsList().stream().map(ModelDescription::port).toList(),
        info.getWeightsBytes(), info.getScratchBytes(),
        Duration.ofNanos(Math.round(info.getLoadTimeMs() * 1e6)),
        Duration.ofNanos(Math.round(info.getWarmupTimeMs() * 1e6)), info.getWarmupRuns(), info.getWarmupNote());
  }

  private static Port port(io.vnrt.proto.v1.TensorSpec spec) {
    return new Port(spec.getName(), DType.fromProto(spec.getDtype()),
        spec.getShapeList().stream().map(ModelDescription::dim).toList());
  }

  private static Dim dim(Dimension d) {
    return d.hasSymbol() ? new Dim(-1, d.getSymbol()) : new Dim(d.getSize(), "");
  }
}
