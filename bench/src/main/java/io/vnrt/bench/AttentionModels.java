package io.vnrt.bench;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the opset-23 attention models that {@link ModelBench} {@code --file} compares against
 * ONNX Runtime: {@code attn_enc.onnx} (encoder self-attention, B=1, 12 heads, S=128, D=64),
 * {@code attn_prefill.onnx} (causal, 8 heads, S=512, D=64), {@code attn_decode.onnx} (one
 * decoding step of grouped-query attention: B=4, 32 query and 8 kv heads, D=128, 1,024 cached
 * tokens, with present_key/present_value) and {@code rope.onnx} (RotaryEmbedding of
 * [1, 32, 512, 128]). Usage: {@code AttentionModels DIR}.
 */
public final class AttentionModels {
    private AttentionModels() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        Files.createDirectories(dir);
        write(dir.resolve("attn_enc.onnx"), GraphProto.newBuilder().setName("attn_enc")
                .addInput(info("q", 1, 12, 128, 64)).addInput(info("k", 1, 12, 128, 64)).addInput(info("v", 1, 12, 128, 64))
                .addOutput(info("y", 1, 12, 128, 64))
                .addNode(node("Attention", new String[] {"q", "k", "v"}, new String[] {"y"})));
        write(dir.resolve("attn_prefill.onnx"), GraphProto.newBuilder().setName("attn_prefill")
                .addInput(info("q", 1, 8, 512, 64)).addInput(info("k", 1, 8, 512, 64)).addInput(info("v", 1, 8, 512, 64))
                .addOutput(info("y", 1, 8, 512, 64))
                .addNode(node("Attention", new String[] {"q", "k", "v"}, new String[] {"y"}).addAttribute(causal())));
        write(dir.resolve("attn_decode.onnx"), GraphProto.newBuilder().setName("attn_decode")
                .addInput(info("q", 4, 32, 1, 128)).addInput(info("k", 4, 8, 1, 128)).addInput(info("v", 4, 8, 1, 128))
                .addInput(info("past_key", 4, 8, 1024, 128)).addInput(info("past_value", 4, 8, 1024, 128))
                .addOutput(info("y", 4, 32, 1, 128)).addOutput(info("present_key", 4, 8, 1025, 128))
                .addOutput(info("present_value", 4, 8, 1025, 128))
                .addNode(node("Attention", new String[] {"q", "k", "v", "", "past_key", "past_value"},
                        new String[] {"y", "present_key", "present_value"}).addAttribute(causal())));
        write(dir.resolve("rope.onnx"), GraphProto.newBuilder().setName("rope")
                .addInput(info("x", 1, 32, 512, 128)).addInput(info("cos", 1, 512, 64)).addInput(info("sin", 1, 512, 64))
                .addOutput(info("y", 1, 32, 512, 128))
                .addNode(node("RotaryEmbedding", new String[] {"x", "cos", "sin"}, new String[] {"y"})));
    }

    private static void write(Path file, GraphProto.Builder graph) throws IOException {
        ModelProto m = ModelProto.newBuilder().setIrVersion(10)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(23)).setGraph(graph).build();
        Files.write(file, m.toByteArray());
        System.out.println("wrote " + file);
    }

    private static ValueInfoProto info(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
    }

    private static NodeProto.Builder node(String op, String[] in, String[] out) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase());
        for (String i : in) {
            n.addInput(i);
        }
        for (String o : out) {
            n.addOutput(o);
        }
        return n;
    }

    private static AttributeProto causal() {
        return AttributeProto.newBuilder().setName("is_causal").setType(AttributeProto.AttributeType.INT).setI(1).build();
    }
}
