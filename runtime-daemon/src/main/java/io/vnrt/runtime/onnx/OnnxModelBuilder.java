package io.vnrt.runtime.onnx;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.util.List;
import java.util.Locale;

/**
 * Writes an ONNX model of the default domain node by node: what the runtime's start-up kernel
 * warm-up loads, and what tests and benchmarks generate their models with
 * ({@code new OnnxModelBuilder("m", 17).input("x", FLOAT32, "N", 8L).node("Relu", ...).bytes()}).
 */
public final class OnnxModelBuilder {
    private final GraphProto.Builder graph;
    private final ModelProto.Builder model = ModelProto.newBuilder().setIrVersion(8);
    private int nodes;

    /** A model named {@code name} importing the default domain at {@code opset}. */
    public OnnxModelBuilder(String name, int opset) {
        graph = GraphProto.newBuilder().setName(name);
        model.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
    }

    /** A value's name, type and shape; each dim is a Number (fixed) or a String (symbolic). */
    public static ValueInfoProto valueInfo(String name, DType dtype, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                db.setDimParam(s);
            } else {
                db.setDimValue(((Number) d).longValue());
            }
            shape.addDim(db);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode()).setShape(shape))).build();
    }

    /** Adds a graph input. */
    public OnnxModelBuilder input(String name, DType dtype, Object... dims) {
        graph.addInput(valueInfo(name, dtype, dims));
        return this;
    }

    /** Adds a graph output. */
    public OnnxModelBuilder output(String name, DType dtype, Object... dims) {
        graph.addOutput(valueInfo(name, dtype, dims));
        return this;
    }

    /** Adds a graph output described by hand (no shape, or no type at all, as subgraph outputs often are). */
    public OnnxModelBuilder output(ValueInfoProto info) {
        graph.addOutput(info);
        return this;
    }

    /** Adds a constant the graph reads by name (a weight). */
    public OnnxModelBuilder initializer(String name, Tensor t) {
        return initializer(TensorProtos.encode(name, t));
    }

    /** Adds a constant already encoded (its name is the TensorProto's). */
    public OnnxModelBuilder initializer(TensorProto t) {
        graph.addInitializer(t);
        return this;
    }

    /** Adds a node; its name is made from the operator and a running count. */
    public OnnxModelBuilder node(String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase(Locale.ROOT) + (nodes++))
                .addAllInput(inputs).addAllOutput(outputs);
        for (AttributeProto a : attrs) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    /** An INT attribute. */
    public static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    /** A FLOAT attribute. */
    public static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    /** An INTS attribute. */
    public static AttributeProto intsAttr(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }

    /** A TENSOR attribute (Constant's value). */
    public static AttributeProto tensorAttr(String name, Tensor t) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR)
                .setT(TensorProtos.encode(null, t)).build();
    }

    /** The graph so far (a Loop body or an If branch, when this builder writes a subgraph). */
    public GraphProto graph() {
        return graph.build();
    }

    /** The serialized model. */
    public byte[] bytes() {
        return model.setGraph(graph).build().toByteArray();
    }
}
