package io.vnrt.runtime.exec;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Generated graphs of any number of nodes on small tensors, for load-scaling tests and the load
 * benchmark: a chain of elementwise nodes, and a graph of blocks with wide fan-out and fan-in, many
 * initializers and long-lived values. Each also gives the output a plain float evaluation of the
 * same nodes in order computes, so a test can check what the runtime produced.
 */
public final class LargeGraphs {
    /** Elements in every tensor of the generated graphs (input {@code x} and output {@code y} are [1, WIDTH]). */
    public static final int WIDTH = 8;

    /** A generated model: its bytes, its node count and the expected {@code y} for a given {@code x}. */
    public record Generated(byte[] model, int nodes, Reference reference) {
        /** The output {@code y} the nodes compute from {@code x} (WIDTH floats). */
        public float[] expected(float[] x) {
            return reference.evaluate(x);
        }
    }

    /** The nodes as a plain evaluation: ops in order over named float vectors. */
    public static final class Reference {
        private record Step(String op, List<String> inputs, String output) {}

        private final List<Step> steps = new ArrayList<>();
        private final Map<String, float[]> constants = new HashMap<>();

        float[] evaluate(float[] x) {
            Map<String, float[]> values = new HashMap<>(constants);
            values.put("x", x.clone());
            for (Step s : steps) {
                float[] a = values.get(s.inputs.getFirst());
                float[] r = new float[WIDTH];
                for (int i = 0; i < WIDTH; i++) {
                    r[i] = switch (s.op) {
                        case "Relu" -> Math.max(a[i], 0f);
                        case "Neg" -> -a[i];
                        case "Add" -> a[i] + values.get(s.inputs.get(1))[i];
                        case "Mul" -> a[i] * values.get(s.inputs.get(1))[i];
                        case "Sub" -> a[i] - values.get(s.inputs.get(1))[i];
                        case "MatMul" -> {
                            float[] w = values.get(s.inputs.get(1));
                            float acc = 0;
                            for (int k = 0; k < WIDTH; k++) {
                                acc += a[k] * w[k * WIDTH + i];
                            }
                            yield acc;
                        }
                        case "Sum" -> {
                            float acc = a[i];
                            for (int k = 1; k < s.inputs.size(); k++) {
                                acc += values.get(s.inputs.get(k))[i];
                            }
                            yield acc;
                        }
                        default -> throw new IllegalStateException(s.op);
                    };
                }
                values.put(s.output, r);
            }
            return values.get("y");
        }
    }

    /** Writes the model and its reference side by side. */
    private static final class Writer {
        final OnnxModelBuilder model = new OnnxModelBuilder("large", 17).input("x", DType.FLOAT32, 1L, (long) WIDTH)
                .output("y", DType.FLOAT32, 1L, (long) WIDTH);
        final Reference reference = new Reference();
        int nodes;

        void constant(String name, float... values) {
            model.initializer(name, Tensor.ofFloats(values.length == WIDTH ? new long[] {WIDTH} : new long[] {WIDTH, WIDTH},
                    values));
            reference.constants.put(name, values);
        }

        void node(String op, List<String> inputs, String output) {
            model.node(op, inputs, List.of(output));
            reference.steps.add(new Reference.Step(op, inputs, output));
            nodes++;
        }

        Generated done() {
            return new Generated(model.bytes(), nodes, reference);
        }
    }

    private static float[] filled(float first, float step) {
        float[] v = new float[WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            v[i] = first + step * i;
        }
        return v;
    }

    /**
     * A chain of {@code nodes} elementwise nodes, each reading the one before: Add of a constant,
     * Relu, Mul by a constant, Sub of a constant, Neg, in turn, over 5 shared initializers. The values
     * stay bounded (Mul scales by about 1) and the sign changes make every Relu matter.
     */
    public static Generated chain(int nodes) {
        if (nodes < 1) {
            throw new IllegalArgumentException("a chain needs at least one node, not " + nodes);
        }
        Writer w = new Writer();
        w.constant("add", filled(0.25f, 0.125f));
        w.constant("mul", filled(0.96875f, 0.0078125f));
        w.constant("sub", filled(0.5f, -0.0625f));
        String prev = "x";
        for (int i = 0; i < nodes; i++) {
            String out = i == nodes - 1 ? "y" : "c" + i;
            switch (i % 5) {
                case 0 -> w.node("Add", List.of(prev, "add"), out);
                case 1 -> w.node("Relu", List.of(prev), out);
                case 2 -> w.node("Mul", List.of(prev, "mul"), out);
                case 3 -> w.node("Sub", List.of(prev, "sub"), out);
                default -> w.node("Neg", List.of(prev), out);
            }
            prev = out;
        }
        return w.done();
    }

    /**
     * A chain of {@code nodes} nodes in triples MatMul, Add, Relu over one shared [WIDTH, WIDTH] weight and one
     * shared bias: the optimizer fuses each triple into one MatMul, so every fusion takes nodes out of the
     * consumers of the same two initializers. The weight is a permutation with signs and the bias small, so the
     * values stay bounded.
     */
    public static Generated linearChain(int nodes) {
        if (nodes < 3) {
            throw new IllegalArgumentException("a MatMul-Add-Relu chain needs at least 3 nodes, not " + nodes);
        }
        Writer w = new Writer();
        float[] weight = new float[WIDTH * WIDTH];
        for (int k = 0; k < WIDTH; k++) {
            weight[k * WIDTH + (k + 3) % WIDTH] = k % 3 == 0 ? -1 : 1;
        }
        w.constant("weight", weight);
        w.constant("bias", filled(0.0625f, -0.015625f));
        String prev = "x";
        int triples = nodes / 3;
        for (int t = 0; t < triples; t++) {
            w.node("MatMul", List.of(prev, "weight"), "l" + t + "_m");
            w.node("Add", List.of("l" + t + "_m", "bias"), "l" + t + "_a");
            String out = t == triples - 1 ? "y" : "l" + t;
            w.node("Relu", List.of("l" + t + "_a"), out);
            prev = out;
        }
        return w.done();
    }

    /**
     * About {@code nodes} nodes in blocks of {@code fanOut + 4}: the block's input {@code h} feeds
     * {@code fanOut} Mul nodes (each by its own initializer, so the model has one initializer per
     * Mul), one Sum gathers them with {@code h} and with the input of the block {@code skip} blocks
     * back (a value live across many blocks), then a Mul by one half, an Add of the block's own bias
     * initializer and a Relu. The branch weights of a block sum to zero and the biases of seven
     * blocks in a row too, so the values stay bounded.
     */
    public static Generated fanOutFanIn(int nodes, int fanOut, int skip) {
        if (fanOut < 2 || skip < 1) {
            throw new IllegalArgumentException("fan-out must be at least 2 and skip at least 1: " + fanOut + ", " + skip);
        }
        int perBlock = fanOut + 4;
        int blocks = Math.max(1, nodes / perBlock);
        Writer w = new Writer();
        w.constant("half", filled(0.5f, 0));
        List<String> blockInputs = new ArrayList<>();
        String h = "x";
        for (int b = 0; b < blocks; b++) {
            blockInputs.add(h);
            List<String> sum = new ArrayList<>();
            sum.add(h);
            for (int j = 0; j < fanOut; j++) {
                String weight = "w" + b + "_" + j;
                // +s, -s, +s', -s', ...; an odd last one is 0
                float s = (j % 2 == 0 ? 1 : -1) * (j == fanOut - 1 && fanOut % 2 == 1 ? 0 : 0.125f * (1 + j / 2));
                w.constant(weight, filled(s, s / 16));
                String out = "m" + b + "_" + j;
                w.node("Mul", List.of(h, weight), out);
                sum.add(out);
            }
            if (b >= skip) {
                sum.add(blockInputs.get(b - skip));
            }
            w.constant("bias" + b, filled(((b % 7) - 3) * 0.0625f, (b % 2 == 0 ? 1 : -1) * 0.015625f));
            w.node("Sum", sum, "s" + b);
            w.node("Mul", List.of("s" + b, "half"), "p" + b);
            w.node("Add", List.of("p" + b, "bias" + b), "a" + b);
            String out = b == blocks - 1 ? "y" : "h" + b;
            w.node("Relu", List.of("a" + b), out);
            h = out;
        }
        return w.done();
    }

    private LargeGraphs() {}
}
