package io.vnrt.runtime.server;

import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import java.util.List;

/** Small ONNX models for the serving tests, with their reference results computed in plain Java. */
public final class TestModels {
  /** W of the dense model, 4×3 row-major. */
  static final float[] W = {0.5f, -1f, 0.25f, 1.5f, 0f, -0.5f, -2f, 1f, 0.75f, 0.125f, 0.5f, -0.25f};
  /** b of the dense model. */
  static final float[] B = {0.1f, -0.2f, 0.3f};

  private TestModels() {
  }

  /** "dense": x FP32 [N, 4] → xw = x·W [N, 3] and y = relu(xw + b) [N, 3]. */
  public static byte[] dense() {
    GraphProto g = GraphProto.newBuilder().setName("dense")
        .addNode(node("MatMul", List.of("x", "W"), "xw"))
        .addNode(node("Add", List.of("xw", "b"), "pre"))
        .addNode(node("Relu", List.of("pre"), "y"))
        .addInitializer(floats("W", W, 4, 3))
        .addInitializer(floats("b", B, 3))
        .addInput(info("x", TensorProto.DataType.FLOAT_VALUE, "N", 4L))
        .addOutput(info("y", TensorProto.DataType.FLOAT_VALUE, "N", 3L))
        .addOutput(info("xw", TensorProto.DataType.FLOAT_VALUE, "N", 3L))
        .build();
    return model(g);
  }

  /** "inc": i INT64 [N] → j = i + 1. */
  static byte[] increment() {
    GraphProto g = GraphProto.newBuilder().setName("inc")
        .addNode(node("Add", List.of("i", "one"), "j"))
        .addInitializer(TensorProto.newBuilder().setName("one").setDataType(TensorProto.DataType.INT64_VALUE)
            .addInt64Data(1))
        .addInput(info("i", TensorProto.DataType.INT64_VALUE, "N"))
        .addOutput(info("j", TensorProto.DataType.INT64_VALUE, "N"))
        .build();
    return model(g);
  }

  /** "inc_row": i INT64 [1, M] → j = i + 1; no batch dimension, so any M is one request. */
  static byte[] incrementRow() {
    GraphProto g = GraphProto.newBuilder().setName("inc_row")
        .addNode(node("Add", List.of("i", "one"), "j"))
        .addInitializer(TensorProto.newBuilder().setName("one").setDataType(TensorProto.DataType.INT64_VALUE)
            .addInt64Data(1))
        .addInput(info("i", TensorProto.DataType.INT64_VALUE, 1L, "M"))
        .addOutput(info("j", TensorProto.DataType.INT64_VALUE, 1L, "M"))
        .build();
    return model(g);
  }

  /** The dense model's outputs for {@code x} of {@code n} rows: {y, xw}. */
  static float[][] denseReference(float[] x, int n) {
    float[] xw = new float[n * 3];
    float[] y = new float[n * 3];
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < 3; c++) {
        float s = 0;
        for (int k = 0; k < 4; k++) {
          s += x[r * 4 + k] * W[k * 3 + c];
        }
        xw[r * 3 + c] = s;
        y[r * 3 + c] = Math.max(0, s + B[c]);
      }
    }
    return new float[][] {y, xw};
  }

  private static byte[] model(GraphProto g) {
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("vnrt-tests")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(g).build().toByteArray();
  }

  private static NodeProto node(String op, List<String> inputs, String output) {
    return NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase() + "_" + output).addAllInput(inputs)
        .addOutput(output).build();
  }

  private static TensorProto floats(String name, float[] values, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    for (long d : dims) {
      t.addDims(d);
    }
    for (float v : values) {
      t.addFloatData(v);
    }
    return t.build();
  }

  private static ValueInfoProto info(String name, int elemType, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      shape.addDim(d instanceof String s ? TensorShapeProto.Dimension.newBuilder().setDimParam(s)
          : TensorShapeProto.Dimension.newBuilder().setDimValue((Long) d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
  }
}
