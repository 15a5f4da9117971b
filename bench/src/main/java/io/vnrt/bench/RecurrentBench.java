package io.vnrt.bench;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.TensorProtos;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One recurrent layer (LSTM by default: hidden 256, 100 steps, batch 1, input 256, weights and
 * biases as initializers, outputs Y and Y_h) written to a temporary model file and run through
 * {@link ModelBench} against ONNX Runtime.
 *
 * <pre>java ... -cp bench/target/benchmarks.jar io.vnrt.bench.RecurrentBench [--op LSTM|GRU|RNN]
 *   [--hidden 256] [--steps 100] [--batch 1] [--input 256] [--direction forward|bidirectional]
 *   [--seconds S] [--threads 1,2] [--write MODEL.onnx (only write the model)]</pre>
 */
public final class RecurrentBench {
    private RecurrentBench() {}

    public static void main(String[] args) throws Exception {
        String op = "LSTM";
        int hidden = 256;
        int steps = 100;
        int batch = 1;
        int input = 256;
        String direction = "forward";
        Path keep = null;
        List<String> pass = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--op" -> op = args[++i];
                case "--hidden" -> hidden = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--input" -> input = Integer.parseInt(args[++i]);
                case "--direction" -> direction = args[++i];
                case "--write" -> keep = Path.of(args[++i]);
                case "--seconds", "--threads" -> {
                    pass.add(args[i]);
                    pass.add(args[++i]);
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (expected --op, --hidden,"
                        + " --steps, --batch, --input, --direction, --seconds, --threads, --write)");
            }
        }
        int gates = switch (op) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            case "RNN" -> 1;
            default -> throw new IllegalArgumentException("--op must be LSTM, GRU or RNN, got " + op);
        };
        int dirs = direction.equals("bidirectional") ? 2 : 1;
        Random r = new Random(5);
        GraphProto.Builder g = GraphProto.newBuilder().setName(op.toLowerCase())
                .addInput(info("x", steps, batch, input))
                .addOutput(info("y", steps, dirs, batch, hidden))
                .addOutput(info("y_h", dirs, batch, hidden))
                .addInitializer(TensorProtos.encode("w", random(r, 0.1f, dirs, gates * hidden, input)))
                .addInitializer(TensorProtos.encode("r", random(r, 0.1f, dirs, gates * hidden, hidden)))
                .addInitializer(TensorProtos.encode("b", random(r, 0.1f, dirs, 2 * gates * hidden)))
                .addNode(NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase())
                        .addAllInput(List.of("x", "w", "r", "b")).addAllOutput(List.of("y", "y_h"))
                        .addAttribute(AttributeProto.newBuilder().setName("hidden_size")
                                .setType(AttributeProto.AttributeType.INT).setI(hidden))
                        .addAttribute(AttributeProto.newBuilder().setName("direction")
                                .setType(AttributeProto.AttributeType.STRING)
                                .setS(com.google.protobuf.ByteString.copyFromUtf8(direction))));
        byte[] model = ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(14)).setGraph(g).build()
                .toByteArray();
        if (keep != null) {
            Files.write(keep, model);
            return;
        }
        Path file = Files.createTempFile("vnrt-" + op.toLowerCase() + "-h" + hidden + "-t" + steps + "-", ".onnx");
        try {
            Files.write(file, model);
            System.out.printf("%s hidden %d, %d steps, batch %d, input %d, %s%n", op, hidden, steps, batch, input, direction);
            pass.add(0, "--file");
            pass.add(1, file.toString());
            ModelBench.main(pass.toArray(new String[0]));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static Tensor random(Random r, float scale, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) r.nextGaussian() * scale);
        }
        return t;
    }

    private static ValueInfoProto info(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(DType.FLOAT32.onnxCode()).setShape(shape))).build();
    }
}
