package io.vnrt.examples;

import io.grpc.Status;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.server.EmbeddedRuntime;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The vnrt quickstart: load a model, execute it with named host tensors, print the results.
 *
 * <pre>
 *   examples/quickstart --embedded                              # the runtime inside this JVM
 *   examples/quickstart --target 127.0.0.1:50051 [--model mlp.onnx]
 * </pre>
 *
 * (The script builds the examples and runs this class with {@code --add-modules
 * jdk.incubator.vector --enable-native-access=ALL-UNNAMED}, which the embedded runtime needs.)
 *
 * Without --model it builds a small dense layer, y = relu(x · W + b) with x of shape [N, 4], so
 * it needs no file; with --model it feeds every float input with a ramp, binding symbolic dims to 1.
 */
public final class Quickstart {
  /** W of the built model, 4×3 row-major. */
  public static final float[] W = {0.5f, -1f, 0.25f, 1.5f, 0f, -0.5f, -2f, 1f, 0.75f, 0.125f, 0.5f, -0.25f};
  /** b of the built model. */
  public static final float[] B = {0.1f, -0.2f, 0.3f};
  /** The input the quickstart feeds the built model: two rows of four. */
  public static final float[] X = {1, 2, 3, 4, -1, 0.5f, 2, -3};

  private Quickstart() {
  }

  /** Runs the quickstart; exit code 0 on success, 2 on bad arguments. */
  public static void main(String[] args) throws IOException {
    String target = null;
    Path modelFile = null;
    boolean embedded = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--embedded" -> embedded = true;
        case "--target" -> target = args[++i];
        case "--model" -> modelFile = Path.of(args[++i]);
        default -> {
          System.err.println("usage: examples/quickstart (--embedded | --target HOST:PORT) [--model FILE.onnx]");
          System.exit(2);
        }
      }
    }
    byte[] onnx = modelFile == null ? denseModel() : Files.readAllBytes(modelFile);
    if (embedded) {
      try (EmbeddedRuntime runtime = EmbeddedRuntime.start(RuntimeConfig.defaults())) {
        run(runtime.client(), onnx, System.out);
      }
    } else {
      try (VnrtClient client = VnrtClient.connect(target == null ? "127.0.0.1:50051" : target)) {
        run(client, onnx, System.out);
      } catch (VnrtException e) {
        // every SDK failure carries the gRPC status and the runtime's own code
        System.err.println("quickstart: " + e.code() + " from " + (target == null ? "127.0.0.1:50051" : target) + ": "
            + e.getMessage() + (e.code() == Status.Code.UNAVAILABLE ? " (is a daemon running? bin/vnrt daemon)" : ""));
        System.exit(1);
      }
    }
  }

  /** Opens a session, loads {@code onnx}, executes it once, prints and returns the outputs. */
  public static Map<String, HostTensor> run(VnrtClient client, byte[] onnx, PrintStream out) {
    try (Session session = client.openSession("quickstart");
        Model model = session.loadModel(onnx, LoadOptions.defaults().withName("quickstart"))) {
      ModelDescription d = model.describe();
      out.printf("loaded '%s' on device %d cores %s in %.1f ms: inputs %s, outputs %s%n", d.name(), d.deviceId(),
          d.cores(), d.loadTime().toNanos() / 1e6, d.inputs(), d.outputs());
      Map<String, HostTensor> inputs = new java.util.LinkedHashMap<>();
      for (ModelDescription.Port p : d.inputs()) {
        inputs.put(p.name(), input(p));
      }
      Map<String, HostTensor> outputs = model.execute(inputs);
      outputs.forEach((name, t) -> out.println(name + " " + Arrays.toString(t.shape()) + " = "
          + Arrays.toString(t.floats())));
      return outputs;
    }
  }

  /** The quickstart's input for a port: {@link #X} for the built model, else a ramp of the port's shape. */
  static HostTensor input(ModelDescription.Port p) {
    long[] shape = p.shape().stream().mapToLong(dim -> dim.isFixed() ? dim.size() : dim.symbol().equals("N") ? 2 : 1)
        .toArray();
    long n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
    float[] values = new float[Math.toIntExact(n)];
    if (n == X.length) {
      return HostTensor.ofFloats(shape, X);
    }
    for (int i = 0; i < values.length; i++) {
      values[i] = (i % 17) / 17f - 0.5f;
    }
    return HostTensor.ofFloats(shape, values);
  }

  /** The model used when none is given: y = relu(x · W + b), x float [N, 4]. */
  public static byte[] denseModel() {
    GraphProto graph = GraphProto.newBuilder().setName("quickstart")
        .addNode(NodeProto.newBuilder().setOpType("MatMul").addAllInput(List.of("x", "W")).addOutput("xw"))
        .addNode(NodeProto.newBuilder().setOpType("Add").addAllInput(List.of("xw", "b")).addOutput("pre"))
        .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("pre").addOutput("y"))
        .addInitializer(floats("W", W, 4, 3))
        .addInitializer(floats("b", B, 3))
        .addInput(floatInfo("x", "N", 4))
        .addOutput(floatInfo("y", "N", 3))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("vnrt-quickstart")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(graph).build().toByteArray();
  }

  private static TensorProto floats(String name, float[] values, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    Arrays.stream(dims).forEach(t::addDims);
    for (float v : values) {
      t.addFloatData(v);
    }
    return t.build();
  }

  private static ValueInfoProto floatInfo(String name, String batch, long width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(batch))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width)).build();
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
  }
}
