package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.runtime.kernels.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * LSTM, GRU and RNN models built here (weights as initializers, so packed at load, and as graph
 * inputs) agree with ONNX Runtime over several sequence lengths, every direction, variable
 * sequence_lens, initial states, peepholes, both layouts and the optional attributes, on 2 cores
 * (a bidirectional node runs its directions on both).
 */
class RecurrentOrtTest {
    private final CoreGroup group = new CoreGroup("rnn-ort", 2);

    @AfterEach
    void close() {
        group.close();
    }

    /** One recurrent node and its inputs; {@code lengths} null for none. */
    private record Case(String op, int opset, int steps, int batch, int input, int hidden, String direction,
            boolean batchMajor, int[] lengths, boolean initialStates, boolean weightsAsInputs, List<AttributeProto> attrs) {}

    /**
     * ORT does not implement layout 1: a batch-major case runs as its sequence-major twin against
     * ORT, and the batch-major model in vnrt must give that twin's outputs transposed.
     */
    private void check(Case c, long seed) throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        byte[] model = build(c, false, seed, in);
        Map<String, Tensor> ours = OrtComparison.assertMatchesOrt(c.toString(), model, in, group, 1e-4, 1e-3);
        if (!c.batchMajor) {
            return;
        }
        Map<String, Tensor> inT = new LinkedHashMap<>();
        byte[] batchMajor = build(c, true, seed, inT);
        Map<String, Tensor> got;
        try (LoadedModel m = new Engine().load("bm", batchMajor, null, new HostMemory(), group)) {
            got = m.execute(inT);
        }
        for (var e : ours.entrySet()) {
            Tensor expected = e.getKey().equals("y") ? swap(swap(e.getValue(), 1, 2), 0, 1) : swap(e.getValue(), 0, 1);
            Tensor actual = got.get(e.getKey());
            assertArrayEquals(expected.shape(), actual.shape(), "layout 1 shape of " + e.getKey());
            for (long i = 0; i < actual.elementCount(); i++) {
                assertEquals(expected.getFloat(i), actual.getFloat(i), 1e-5, c + ": layout 1 " + e.getKey() + " element " + i);
            }
        }
    }

    /** The model of a case with its inputs (the same values, transposed, for the batch-major form). */
    private static byte[] build(Case c, boolean batchMajor, long seed, Map<String, Tensor> in) {
        Random r = new Random(seed);
        int gates = switch (c.op) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
        int dirs = c.direction.equals("bidirectional") ? 2 : 1;
        int h = c.hidden;
        ModelBuilder mb = new ModelBuilder(batchMajor ? 14 : c.opset);
        Tensor x = gaussian(r, c.steps, c.batch, c.input);
        mb.input("x", FLOAT32, box(batchMajor ? swap(x, 0, 1).shape() : x.shape()));
        in.put("x", batchMajor ? swap(x, 0, 1) : x);
        Map<String, Tensor> weights = new LinkedHashMap<>();
        weights.put("w", scaled(gaussian(r, dirs, gates * h, c.input), 0.4f));
        weights.put("r", scaled(gaussian(r, dirs, gates * h, h), 0.4f));
        weights.put("b", scaled(gaussian(r, dirs, 2 * gates * h), 0.5f));
        if (c.op.equals("LSTM")) {
            weights.put("p", scaled(gaussian(r, dirs, 3 * h), 0.5f));
        }
        for (var e : weights.entrySet()) {
            if (c.weightsAsInputs) {
                mb.input(e.getKey(), FLOAT32, box(e.getValue().shape()));
                in.put(e.getKey(), e.getValue());
            } else {
                mb.initializer(e.getKey(), e.getValue());
            }
        }
        List<String> inputs = new ArrayList<>(List.of("x", "w", "r", "b"));
        if (c.lengths != null) {
            Tensor len = Tensor.allocate(INT32, c.batch);
            for (int b = 0; b < c.batch; b++) {
                len.setLong(b, c.lengths[b]);
            }
            mb.input("len", INT32, (long) c.batch);
            in.put("len", len);
            inputs.add("len");
        } else {
            inputs.add("");
        }
        List<String> states = c.op.equals("LSTM") ? List.of("h0", "c0") : List.of("h0");
        for (String st : states) {
            if (c.initialStates) {
                Tensor v = gaussian(r, dirs, c.batch, h);
                Tensor fed = batchMajor ? swap(v, 0, 1) : v;
                mb.input(st, FLOAT32, box(fed.shape()));
                in.put(st, fed);
                inputs.add(st);
            } else {
                inputs.add("");
            }
        }
        if (c.op.equals("LSTM")) {
            inputs.add("p");
        }
        long[] stateShape = batchMajor ? new long[] {c.batch, dirs, h} : new long[] {dirs, c.batch, h};
        long[] yShape = batchMajor ? new long[] {c.batch, c.steps, dirs, h} : new long[] {c.steps, dirs, c.batch, h};
        List<String> outputs = new ArrayList<>(List.of("y", "y_h"));
        mb.output("y", FLOAT32, box(yShape)).output("y_h", FLOAT32, box(stateShape));
        if (c.op.equals("LSTM")) {
            outputs.add("y_c");
            mb.output("y_c", FLOAT32, box(stateShape));
        }
        List<AttributeProto> attrs = new ArrayList<>(c.attrs);
        attrs.add(ModelBuilder.intAttr("hidden_size", h));
        attrs.add(ModelBuilder.stringAttr("direction", c.direction));
        if (batchMajor) {
            attrs.add(ModelBuilder.intAttr("layout", 1));
        }
        mb.node(c.op, inputs, outputs, attrs.toArray(new AttributeProto[0]));
        return mb.bytes();
    }

    /** A copy of t with axes a and a+1 (a = 0 or 1 here) exchanged. */
    private static Tensor swap(Tensor t, int a, int b) {
        long[] s = t.shape();
        long[] o = s.clone();
        o[a] = s[b];
        o[b] = s[a];
        Tensor out = Tensor.allocate(FLOAT32, o);
        long[] idx = new long[s.length];
        for (long i = 0; i < t.elementCount(); i++) {
            long rem = i;
            for (int k = s.length - 1; k >= 0; k--) {
                idx[k] = rem % s[k];
                rem /= s[k];
            }
            long tmp = idx[a];
            idx[a] = idx[b];
            idx[b] = tmp;
            long j = 0;
            for (int k = 0; k < o.length; k++) {
                j = j * o[k] + idx[k];
            }
            out.setFloat(j, t.getFloat(i));
        }
        return out;
    }

    private static Object[] box(long[] shape) {
        Object[] o = new Object[shape.length];
        for (int i = 0; i < shape.length; i++) {
            o[i] = shape[i];
        }
        return o;
    }

    private static Tensor scaled(Tensor t, float s) {
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, t.getFloat(i) * s);
        }
        return t;
    }

    @Test
    void lstmOverSequenceLengthsAndDirections() throws Exception {
        long seed = 1;
        for (int steps : new int[] {1, 5, 17}) {
            for (String dir : List.of("forward", "reverse", "bidirectional")) {
                check(new Case("LSTM", 13, steps, 3, 13, 20, dir, false, null, true, false, List.of()), seed++);
            }
        }
    }

    @Test
    void lstmVariableLengthsPeepholesAndWeightsAsInputs() throws Exception {
        check(new Case("LSTM", 13, 9, 4, 7, 33, "bidirectional", false, new int[] {9, 4, 1, 7}, true, false, List.of()), 11);
        check(new Case("LSTM", 13, 6, 3, 5, 16, "reverse", false, new int[] {2, 6, 5}, false, true, List.of()), 12);
    }

    @Test
    void lstmBatchMajorInputForgetClipAndActivations() throws Exception {
        check(new Case("LSTM", 14, 7, 2, 6, 18, "bidirectional", true, new int[] {7, 3}, true, false,
                List.of(ModelBuilder.intAttr("input_forget", 1), ModelBuilder.floatAttr("clip", 0.7f))), 21);
        check(new Case("LSTM", 14, 5, 3, 4, 9, "forward", false, null, true, false, List.of(
                ModelBuilder.stringsAttr("activations", "HardSigmoid", "LeakyRelu", "ScaledTanh"),
                ModelBuilder.floatsAttr("activation_alpha", 0.3f, 0.05f, 1.5f),
                ModelBuilder.floatsAttr("activation_beta", 0.4f, 0.8f))), 22);
    }

    @Test
    void gruBothResetFormsDirectionsAndLayouts() throws Exception {
        long seed = 30;
        for (int lbr = 0; lbr <= 1; lbr++) {
            for (String dir : List.of("forward", "reverse", "bidirectional")) {
                check(new Case("GRU", 13, 8, 3, 10, 24, dir, false, new int[] {8, 5, 2}, true, false,
                        List.of(ModelBuilder.intAttr("linear_before_reset", lbr))), seed++);
            }
            check(new Case("GRU", 14, 4, 2, 3, 17, "bidirectional", true, null, false, true,
                    List.of(ModelBuilder.intAttr("linear_before_reset", lbr), ModelBuilder.floatAttr("clip", 1.2f))), seed++);
        }
    }

    /** Steps large enough that one direction is split over both cores, which step in lockstep. */
    @Test
    void oneDirectionSplitOverTheCoreGroup() throws Exception {
        check(new Case("LSTM", 13, 11, 8, 12, 96, "forward", false, new int[] {11, 3, 7, 11, 1, 9, 11, 5}, true, false,
                List.of()), 50);
        check(new Case("GRU", 13, 7, 16, 9, 80, "reverse", false, null, true, false, List.of()), 51);
        check(new Case("GRU", 13, 6, 12, 9, 70, "forward", false, null, true, true,
                List.of(ModelBuilder.intAttr("linear_before_reset", 1))), 52);
        check(new Case("RNN", 13, 9, 40, 16, 72, "bidirectional", false, null, true, false, List.of()), 53);
    }

    /**
     * One or two rows (the recurrent product's one-row kernels) with whole blocks of 32 units
     * (hidden 64 and 96) and a last block of 16 (hidden 80).
     */
    @Test
    void oneAndTwoRowsThroughTheBlockGemv() throws Exception {
        check(new Case("LSTM", 13, 10, 1, 12, 64, "bidirectional", false, null, true, false, List.of()), 60);
        check(new Case("LSTM", 13, 7, 2, 9, 96, "forward", false, new int[] {7, 4}, true, true, List.of()), 61);
        for (int lbr = 0; lbr <= 1; lbr++) {
            check(new Case("GRU", 13, 9, 1, 8, 64, "reverse", false, null, true, false,
                    List.of(ModelBuilder.intAttr("linear_before_reset", lbr))), 62 + lbr);
            check(new Case("GRU", 13, 6, 2, 8, 80, "bidirectional", false, new int[] {6, 2}, true, false,
                    List.of(ModelBuilder.intAttr("linear_before_reset", lbr))), 64 + lbr);
        }
        check(new Case("RNN", 13, 8, 1, 6, 64, "forward", false, null, true, false, List.of()), 66);
    }

    @Test
    void rnnActivationsAndDirections() throws Exception {
        check(new Case("RNN", 13, 12, 2, 5, 31, "bidirectional", false, new int[] {12, 6}, true, false,
                List.of(ModelBuilder.stringsAttr("activations", "Relu", "Softsign"))), 40);
        check(new Case("RNN", 14, 3, 4, 8, 8, "reverse", true, null, true, false,
                List.of(ModelBuilder.stringsAttr("activations", "Elu"), ModelBuilder.floatsAttr("activation_alpha", 0.5f))), 41);
    }
}
