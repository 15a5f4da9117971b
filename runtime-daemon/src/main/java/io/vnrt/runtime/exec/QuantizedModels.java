package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static io.vnrt.runtime.kernels.DType.INT8;
import static io.vnrt.runtime.kernels.DType.UINT8;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.floatAttr;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.intAttr;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.intsAttr;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Quantized models as ONNX Runtime's quantizer writes them, with random weights from a fixed seed,
 * for the start-up kernel warm-up ({@link WarmupModels}: the int8 kernel families), the
 * differential tests and the benchmark ({@code bench/QuantBench}).
 *
 * <p>{@link #encoder} is a BERT-style encoder (word-embedding Gather plus position embeddings,
 * LayerNormalization, then post-LN layers of Q/K/V projections, 12-head-style attention, output
 * projection, residual + LayerNorm, Erf-GELU FFN, residual + LayerNorm) written either in float32
 * or the way {@code onnxruntime.quantization.quantize_dynamic} (weight type QInt8) rewrites it:
 * the embedding table int8 with a DequantizeLinear after its Gather, and every MatMul with a
 * constant weight as {@code DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) ->
 * Cast(float)}, times {@code Mul(x_scale, W_scale)}; the bias Add stays. One DynamicQuantizeLinear
 * serves every MatMul that reads the same activation (Q, K and V share one), as ORT's does. The
 * float and quantized forms of one spec have the same float weights.
 *
 * <p>{@link #qdqCnn} is a small CNN in the QDQ form of ORT's static quantizer: every activation
 * through QuantizeLinear -> DequantizeLinear (uint8), weights stored int8 with a per-channel
 * DequantizeLinear, biases stored int32 with scale x_scale·w_scale, and Relu dropped where the
 * following QuantizeLinear's range starts at zero (ORT removes it the same way).
 */
public final class QuantizedModels {
    private QuantizedModels() {}

    /** How the encoder's weight MatMuls are written. */
    public enum Weights {
        /** Plain float32 MatMul. */
        FLOAT,
        /** quantize_dynamic with per-tensor int8 weights (its default). */
        INT8_PER_TENSOR,
        /** quantize_dynamic with {@code per_channel=True}: a scale per output column. */
        INT8_PER_CHANNEL
    }

    /** Encoder dimensions; {@code B} and {@code S} (batch, sequence) stay symbolic in the model. */
    public record EncoderSpec(int layers, int hidden, int heads, int ffn, int vocab, int maxSeq, long seed) {
        /** BERT-base widths with {@code layers} layers. */
        public static EncoderSpec base(int layers) {
            return new EncoderSpec(layers, 768, 12, 3072, 1000, 512, 11);
        }
    }

    /** The encoder: input {@code input_ids} int64 [B, S], output {@code y} float [B, S, hidden]. */
    public static byte[] encoder(EncoderSpec spec, Weights weights) {
        return new Encoder(spec, weights).build();
    }

    private static final class Encoder {
        private final EncoderSpec spec;
        private final Weights weights;
        private final OnnxModelBuilder m = new OnnxModelBuilder("encoder", 17);
        private final SplittableRandom rnd;
        private final java.util.Map<String, String[]> quantized = new java.util.HashMap<>();

        Encoder(EncoderSpec spec, Weights weights) {
            this.spec = spec;
            this.weights = weights;
            this.rnd = new SplittableRandom(spec.seed());
        }

        byte[] build() {
            int h = spec.hidden();
            m.input("input_ids", INT64, "B", "S").output("y", FLOAT32, "B", "S", (long) h);
            Tensor table = gaussian(0.5, spec.vocab(), h);
            if (weights == Weights.FLOAT) {
                m.initializer("word_emb", table);
                m.node("Gather", List.of("word_emb", "input_ids"), List.of("words"));
            } else {
                // ORT's GatherQuant: the table symmetric int8 per tensor, dequantized after the Gather
                float scale = absMax(table) / 127f;
                m.initializer("word_emb_quantized", quantize(table, new float[] {scale}, -1, INT8, 0));
                m.initializer("word_emb_scale", Tensor.ofFloats(new long[0], scale));
                m.initializer("word_emb_zero_point", Tensor.allocate(INT8));
                m.node("Gather", List.of("word_emb_quantized", "input_ids"), List.of("words_quantized"));
                m.node("DequantizeLinear", List.of("words_quantized", "word_emb_scale", "word_emb_zero_point"),
                        List.of("words"));
            }
            m.initializer("pos_emb", gaussian(0.5, spec.maxSeq(), h));
            m.initializer("one", Tensor.ofLongs(new long[] {1}, 1));
            m.initializer("two", Tensor.ofLongs(new long[] {1}, 2));
            m.initializer("zero", Tensor.ofLongs(new long[] {1}, 0));
            m.node("Shape", List.of("input_ids"), List.of("ids_shape"));
            m.node("Slice", List.of("ids_shape", "one", "two", "zero"), List.of("seq_len"));
            m.node("Slice", List.of("pos_emb", "zero", "seq_len", "zero"), List.of("positions"));
            m.node("Add", List.of("words", "positions"), List.of("emb_sum"));
            String x = layerNorm("emb_sum", "emb");
            m.initializer("heads_shape", Tensor.ofLongs(new long[] {4}, 0, 0, spec.heads(), h / spec.heads()));
            m.initializer("hidden_shape", Tensor.ofLongs(new long[] {3}, 0, 0, h));
            m.initializer("inv_sqrt_d", Tensor.ofFloats(new long[0], (float) (1 / Math.sqrt(h / spec.heads()))));
            m.initializer("sqrt2", Tensor.ofFloats(new long[0], 1.4142135f));
            m.initializer("f_one", Tensor.ofFloats(new long[0], 1f));
            m.initializer("f_half", Tensor.ofFloats(new long[0], 0.5f));
            for (int l = 0; l < spec.layers(); l++) {
                x = layer(x, "l" + l + "_", l == spec.layers() - 1 ? "y" : null);
            }
            return m.bytes();
        }

        private String layer(String x, String p, String out) {
            int h = spec.hidden();
            double ws = 1 / Math.sqrt(h);
            String q = linear(x, p + "q", h, h, ws);
            String k = linear(x, p + "k", h, h, ws);
            String v = linear(x, p + "v", h, h, ws);
            m.node("Reshape", List.of(q, "heads_shape"), List.of(p + "q4"));
            m.node("Transpose", List.of(p + "q4"), List.of(p + "qt"), intsAttr("perm", 0, 2, 1, 3));
            m.node("Reshape", List.of(k, "heads_shape"), List.of(p + "k4"));
            m.node("Transpose", List.of(p + "k4"), List.of(p + "kt"), intsAttr("perm", 0, 2, 3, 1));
            m.node("Reshape", List.of(v, "heads_shape"), List.of(p + "v4"));
            m.node("Transpose", List.of(p + "v4"), List.of(p + "vt"), intsAttr("perm", 0, 2, 1, 3));
            m.node("MatMul", List.of(p + "qt", p + "kt"), List.of(p + "scores"));
            m.node("Mul", List.of(p + "scores", "inv_sqrt_d"), List.of(p + "scaled"));
            m.node("Softmax", List.of(p + "scaled"), List.of(p + "probs"), intAttr("axis", -1));
            m.node("MatMul", List.of(p + "probs", p + "vt"), List.of(p + "ctx4"));
            m.node("Transpose", List.of(p + "ctx4"), List.of(p + "ctxt"), intsAttr("perm", 0, 2, 1, 3));
            m.node("Reshape", List.of(p + "ctxt", "hidden_shape"), List.of(p + "ctx"));
            String o = linear(p + "ctx", p + "o", h, h, ws);
            m.node("Add", List.of(o, x), List.of(p + "res1"));
            String ln1 = layerNorm(p + "res1", p + "ln1");
            String f1 = linear(ln1, p + "ffn1", h, spec.ffn(), ws);
            m.node("Div", List.of(f1, "sqrt2"), List.of(p + "g_d"));
            m.node("Erf", List.of(p + "g_d"), List.of(p + "g_e"));
            m.node("Add", List.of(p + "g_e", "f_one"), List.of(p + "g_p"));
            m.node("Mul", List.of(f1, p + "g_p"), List.of(p + "g_q"));
            m.node("Mul", List.of(p + "g_q", "f_half"), List.of(p + "gelu"));
            String f2 = linear(p + "gelu", p + "ffn2", spec.ffn(), h, 1 / Math.sqrt(spec.ffn()));
            m.node("Add", List.of(f2, ln1), List.of(p + "res2"));
            return layerNorm(p + "res2", out != null ? out : p + "ln2");
        }

        private String layerNorm(String x, String out) {
            int h = spec.hidden();
            Tensor gamma = Tensor.allocate(FLOAT32, h);
            Tensor beta = Tensor.allocate(FLOAT32, h);
            for (int i = 0; i < h; i++) {
                gamma.setFloat(i, (float) (1 + 0.1 * rnd.nextDouble(-1, 1)));
                beta.setFloat(i, (float) (0.1 * rnd.nextDouble(-1, 1)));
            }
            m.initializer(out + "_gamma", gamma).initializer(out + "_beta", beta);
            m.node("LayerNormalization", List.of(x, out + "_gamma", out + "_beta"), List.of(out), intAttr("axis", -1),
                    floatAttr("epsilon", 1e-12f));
            return out;
        }

        /** x · W + b, W [k, n]; in the quantized forms, the dynamic quantize_dynamic layout. */
        private String linear(String x, String name, int k, int n, double scale) {
            Tensor w = gaussian(scale, k, n);
            Tensor b = gaussian(0.1, n);
            m.initializer(name + "_bias", b);
            String mm = name + "_mm";
            if (weights == Weights.FLOAT) {
                m.initializer(name + "_w", w);
                m.node("MatMul", List.of(x, name + "_w"), List.of(mm));
            } else {
                String[] xq = quantized.computeIfAbsent(x, v -> {
                    String[] names = {v + "_quantized", v + "_scale", v + "_zero_point"};
                    m.node("DynamicQuantizeLinear", List.of(v), List.of(names));
                    return names;
                });
                boolean perChannel = weights == Weights.INT8_PER_CHANNEL;
                float[] scales = new float[perChannel ? n : 1];
                for (int j = 0; j < scales.length; j++) {
                    scales[j] = (perChannel ? absMaxColumn(w, j) : absMax(w)) / 127f;
                }
                long[] scaleShape = perChannel ? new long[] {n} : new long[0];
                m.initializer(name + "_w_quantized", quantize(w, scales, perChannel ? 1 : -1, INT8, 0));
                m.initializer(name + "_w_scale", Tensor.ofFloats(scaleShape, scales));
                m.initializer(name + "_w_zero_point", Tensor.allocate(INT8, scaleShape));
                m.node("MatMulInteger", List.of(xq[0], name + "_w_quantized", xq[2], name + "_w_zero_point"),
                        List.of(mm + "_int32"));
                m.node("Cast", List.of(mm + "_int32"), List.of(mm + "_cast"), intAttr("to", FLOAT32.onnxCode()));
                m.node("Mul", List.of(xq[1], name + "_w_scale"), List.of(mm + "_scales_mul"));
                m.node("Mul", List.of(mm + "_cast", mm + "_scales_mul"), List.of(mm));
            }
            m.node("Add", List.of(mm, name + "_bias"), List.of(name + "_out"));
            return name + "_out";
        }

        private Tensor gaussian(double sd, long... shape) {
            Tensor t = Tensor.allocate(FLOAT32, shape);
            for (long i = 0; i < t.elementCount(); i++) {
                t.setFloat(i, (float) (sd * rnd.nextGaussian()));
            }
            return t;
        }
    }

    // ---- QDQ CNN ---------------------------------------------------------------------------------

    /**
     * A QDQ CNN: input {@code x} float [N, 3, size, size], output {@code y} float [N, classes].
     * Conv 3→16 3×3 (Relu), Conv 16→32 3×3 stride 2 (Relu), MaxPool 2×2, Conv 32→32 1×1 plus a
     * residual Add, GlobalAveragePool, Flatten, Gemm (transB) to {@code classes}. Activation scales
     * are fixed ranges chosen for unit-Gaussian inputs; weights per output channel.
     */
    public static byte[] qdqCnn(int size, int classes, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        OnnxModelBuilder m = new OnnxModelBuilder("qdq_cnn", 17);
        m.input("x", FLOAT32, "N", 3L, (long) size, (long) size).output("y", FLOAT32, "N", (long) classes);
        Qdq q = new Qdq(m, rnd);
        String x = q.act("x", 4f / 127, 128);
        String c1 = q.conv(x, "c1", 3, 16, 3, 1, 1);
        String a1 = q.act(c1, 3f / 255, 0); // Relu dropped: the range starts at zero
        String c2 = q.conv(a1, "c2", 16, 32, 3, 2, 1);
        String a2 = q.act(c2, 3f / 255, 0);
        m.node("MaxPool", List.of(a2), List.of("pool"), intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2));
        String p = q.act("pool", 3f / 255, 0);
        String c3 = q.conv(p, "c3", 32, 32, 1, 1, 0);
        String a3 = q.act(c3, 4f / 127, 128);
        m.node("Add", List.of(a3, p), List.of("res"));
        String r = q.act("res", 6f / 127, 128);
        m.node("Relu", List.of(r), List.of("res_relu"));
        String rr = q.act("res_relu", 6f / 255, 0);
        m.node("GlobalAveragePool", List.of(rr), List.of("gap"));
        String g = q.act("gap", 3f / 255, 0);
        m.node("Flatten", List.of(g), List.of("flat"));
        String fcw = q.weight("fc", classes, 32);
        String fcb = q.bias("fc", classes);
        m.node("Gemm", List.of("flat", fcw, fcb), List.of("y"), intAttr("transB", 1));
        return m.bytes();
    }

    /** Writes the QDQ pieces, remembering each quantized activation's scale for the biases. */
    private static final class Qdq {
        private final OnnxModelBuilder m;
        private final SplittableRandom rnd;
        private final java.util.Map<String, Float> scaleOf = new java.util.HashMap<>();
        private final java.util.Map<String, float[]> weightScales = new java.util.HashMap<>();
        private String lastInput;

        Qdq(OnnxModelBuilder m, SplittableRandom rnd) {
            this.m = m;
            this.rnd = rnd;
        }

        /** QuantizeLinear -> DequantizeLinear of {@code v} (uint8); returns the dequantized name. */
        String act(String v, float scale, int zp) {
            Tensor zpT = Tensor.allocate(UINT8);
            zpT.setLong(0, zp);
            m.initializer(v + "_scale", Tensor.ofFloats(new long[0], scale)).initializer(v + "_zero_point", zpT);
            m.node("QuantizeLinear", List.of(v, v + "_scale", v + "_zero_point"), List.of(v + "_quantized"));
            m.node("DequantizeLinear", List.of(v + "_quantized", v + "_scale", v + "_zero_point"), List.of(v + "_dq"));
            scaleOf.put(v + "_dq", scale);
            lastInput = v + "_dq";
            return v + "_dq";
        }

        /** A per-output-channel int8 weight [out, rest...] with its DequantizeLinear (axis 0). */
        String weight(String name, long out, long... rest) {
            long[] shape = new long[rest.length + 1];
            shape[0] = out;
            System.arraycopy(rest, 0, shape, 1, rest.length);
            Tensor w = Tensor.allocate(FLOAT32, shape);
            long fan = w.elementCount() / out;
            for (long i = 0; i < w.elementCount(); i++) {
                w.setFloat(i, (float) (rnd.nextGaussian() * Math.sqrt(2.0 / fan)));
            }
            float[] scales = new float[(int) out];
            for (int o = 0; o < out; o++) {
                float a = 0;
                for (long j = 0; j < fan; j++) {
                    a = Math.max(a, Math.abs(w.getFloat(o * fan + j)));
                }
                scales[o] = a / 127f;
            }
            weightScales.put(name, scales);
            m.initializer(name + "_w_quantized", quantize(w, scales, 0, INT8, 0));
            m.initializer(name + "_w_scale", Tensor.ofFloats(new long[] {out}, scales));
            m.initializer(name + "_w_zero_point", Tensor.allocate(INT8, out));
            m.node("DequantizeLinear", List.of(name + "_w_quantized", name + "_w_scale", name + "_w_zero_point"),
                    List.of(name + "_w_dq"), intAttr("axis", 0));
            return name + "_w_dq";
        }

        /** An int32 bias quantized with scale x_scale·w_scale[o] (ORT's), dequantized per channel. */
        String bias(String name, long out) {
            float xs = scaleOf.get(lastInput);
            float[] ws = weightScales.get(name);
            Tensor bq = Tensor.allocate(INT32, out);
            float[] bs = new float[(int) out];
            for (int o = 0; o < out; o++) {
                bs[o] = xs * ws[o];
                bq.setLong(o, Math.round(rnd.nextDouble(-0.1, 0.1) / bs[o]));
            }
            m.initializer(name + "_b_quantized", bq);
            m.initializer(name + "_b_scale", Tensor.ofFloats(new long[] {out}, bs));
            m.initializer(name + "_b_zero_point", Tensor.allocate(INT32, out));
            m.node("DequantizeLinear", List.of(name + "_b_quantized", name + "_b_scale", name + "_b_zero_point"),
                    List.of(name + "_b_dq"), intAttr("axis", 0));
            return name + "_b_dq";
        }

        String conv(String x, String name, int in, int out, int kernel, int stride, int pad) {
            String w = weight(name, out, in, kernel, kernel);
            String b = bias(name, out);
            m.node("Conv", List.of(x, w, b), List.of(name), intsAttr("kernel_shape", kernel, kernel),
                    intsAttr("strides", stride, stride), intsAttr("pads", pad, pad, pad, pad));
            return name;
        }
    }

    // ---- quantization arithmetic ---------------------------------------------------------------

    private static float absMax(Tensor t) {
        float a = 0;
        for (long i = 0; i < t.elementCount(); i++) {
            a = Math.max(a, Math.abs(t.getFloat(i)));
        }
        return a;
    }

    private static float absMaxColumn(Tensor w, int col) {
        float a = 0;
        long n = w.dim(1);
        for (long r = 0; r < w.dim(0); r++) {
            a = Math.max(a, Math.abs(w.getFloat(r * n + col)));
        }
        return a;
    }

    /**
     * round(w / scale) + zp, saturated, rounding half to even; {@code axis} -1 for one scale, else the
     * axis the scales run along.
     */
    static Tensor quantize(Tensor w, float[] scales, int axis, DType to, int zp) {
        Tensor q = Tensor.allocate(to, w.shape());
        long inner = 1;
        for (int d = axis + 1; axis >= 0 && d < w.rank(); d++) {
            inner *= w.dim(d);
        }
        long lo = to == INT8 ? -128 : 0;
        long hi = to == INT8 ? 127 : 255;
        for (long i = 0; i < w.elementCount(); i++) {
            float s = axis < 0 ? scales[0] : scales[(int) ((i / inner) % w.dim(axis))];
            long v = (long) Math.rint(w.getFloat(i) / s) + zp;
            q.setLong(i, Math.max(lo, Math.min(hi, v)));
        }
        return q;
    }
}
