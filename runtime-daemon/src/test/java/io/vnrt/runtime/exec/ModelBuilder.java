package io.vnrt.runtime.exec;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.util.List;

/** Builds small ONNX models in tests: {@code new ModelBuilder(13).input("x", FLOAT32, 2, 3).node("Relu", ...)}. */
public final class ModelBuilder {
    private final OnnxModelBuilder model;

    public ModelBuilder(int opset) {
        model = new OnnxModelBuilder("test", opset);
    }

    /** Dims: a Long is fixed, a String symbolic. */
    static ValueInfoProto info(String name, DType dtype, Object... dims) {
        return OnnxModelBuilder.valueInfo(name, dtype, dims);
    }

    public ModelBuilder input(String name, DType dtype, Object... dims) {
        model.input(name, dtype, dims);
        return this;
    }

    public ModelBuilder output(String name, DType dtype, Object... dims) {
        model.output(name, dtype, dims);
        return this;
    }

    /** A graph output with a dtype and no shape (one whose shape depends on values, say). */
    public ModelBuilder outputAnyShape(String name, DType dtype) {
        model.output(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode()))).build());
        return this;
    }

    /** A graph output with neither type nor shape (subgraph outputs often are). */
    public ModelBuilder outputUntyped(String name) {
        model.output(ValueInfoProto.newBuilder().setName(name).build());
        return this;
    }

    /** This builder's graph as a GRAPH attribute of another node (a Loop body, an If branch). */
    public AttributeProto asGraphAttr(String name) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH)
                .setG(model.graph()).build();
    }

    public ModelBuilder initializer(String name, Tensor t) {
        model.initializer(name, t);
        return this;
    }

    public ModelBuilder initializer(TensorProto t) {
        model.initializer(t);
        return this;
    }

    public ModelBuilder node(String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        model.node(op, inputs, outputs, attrs);
        return this;
    }

    static AttributeProto intAttr(String name, long v) {
        return OnnxModelBuilder.intAttr(name, v);
    }

    static AttributeProto floatAttr(String name, float v) {
        return OnnxModelBuilder.floatAttr(name, v);
    }

    static AttributeProto intsAttr(String name, long... v) {
        return OnnxModelBuilder.intsAttr(name, v);
    }

    static AttributeProto stringAttr(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8(v)).build();
    }

    static AttributeProto stringsAttr(String name, String... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRINGS);
        for (String x : v) {
            b.addStrings(com.google.protobuf.ByteString.copyFromUtf8(x));
        }
        return b.build();
    }

    static AttributeProto floatsAttr(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
        for (float x : v) {
            b.addFloats(x);
        }
        return b.build();
    }

    static AttributeProto tensorAttr(String name, Tensor t) {
        return OnnxModelBuilder.tensorAttr(name, t);
    }

    /**
     * Appends GELU in the Erf form exporters write, {@code out = x * (1 + erf(x / sqrt 2)) * 0.5},
     * with its constants (named after {@code out}).
     */
    public ModelBuilder erfGelu(String x, String out) {
        return initializer(out + "_sqrt2", Tensor.ofFloats(new long[0], 1.4142135f))
                .initializer(out + "_one", Tensor.ofFloats(new long[0], 1f))
                .initializer(out + "_half", Tensor.ofFloats(new long[0], 0.5f))
                .node("Div", List.of(x, out + "_sqrt2"), List.of(out + "_d"))
                .node("Erf", List.of(out + "_d"), List.of(out + "_e"))
                .node("Add", List.of(out + "_e", out + "_one"), List.of(out + "_p"))
                .node("Mul", List.of(x, out + "_p"), List.of(out + "_q"))
                .node("Mul", List.of(out + "_q", out + "_half"), List.of(out));
    }

    public byte[] bytes() {
        return model.bytes();
    }
}
