package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.floatAttr;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.intAttr;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.intsAttr;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The small models the start-up kernel warm-up runs: together they reach every kernel family the
 * engine has for the models people run (GEMM through MatMul, Gemm and Conv with each fused
 * epilogue; elementwise unary, binary with broadcasting, comparisons and Where; Softmax,
 * LayerNormalization, BatchNormalization; reductions; pooling; transposes, gathers, slices, pads,
 * concatenations and resizes), at shapes with edge tiles and tails (odd row counts, widths that
 * are not a multiple of any vector, K past one block), and each family once at a size large
 * enough to be split over the cores, so that the JIT's profiles see the branches real models take.
 */
final class WarmupModels {
    /**
     * A named warm-up model, serialized, with the sizes of its symbolic dims. A {@code late} one
     * runs after the others have settled: the int8 families, which fewer models use, so that they
     * do not hold up the compiles of the float kernels every model needs.
     */
    record WarmupModel(String name, byte[] onnx, Map<String, Long> dims, boolean late) {
        WarmupModel(String name, byte[] onnx) {
            this(name, onnx, Map.of(), false);
        }
    }

    private final SplittableRandom random = new SplittableRandom(0x5eed);

    private WarmupModels() {}

    /** Every warm-up model, cheapest first, the late ones last. */
    static List<WarmupModel> all() {
        WarmupModels m = new WarmupModels();
        return List.of(m.elementwise(), m.dataMovement(), m.dense(), m.attention(), m.cnn(), m.stage(), m.wide(),
                quantizedEncoder(QuantizedModels.Weights.INT8_PER_TENSOR),
                quantizedEncoder(QuantizedModels.Weights.INT8_PER_CHANNEL), qdqCnn());
    }

    /**
     * One post-LN encoder layer (D=64, 4 heads, FFN 128) as ONNX Runtime's quantize_dynamic writes
     * it, at B=2, S=33: the int8 embedding's DequantizeLinear and the fused dynamic-quantize GEMMs.
     */
    private static WarmupModel quantizedEncoder(QuantizedModels.Weights weights) {
        byte[] onnx = QuantizedModels.encoder(new QuantizedModels.EncoderSpec(1, 64, 4, 128, 100, 64, 0x5eed), weights);
        String name = weights == QuantizedModels.Weights.INT8_PER_TENSOR ? "int8-encoder" : "int8-encoder (per channel)";
        return new WarmupModel(name, onnx, Map.of("B", 2L, "S", 33L), true);
    }

    /** A CNN in the QDQ form of ORT's static quantizer on 1×3×32×32: QuantizeLinear and the int8 Conv and Gemm. */
    private static WarmupModel qdqCnn() {
        return new WarmupModel("int8-cnn", QuantizedModels.qdqCnn(32, 10, 0x5eed), Map.of("N", 1L), true);
    }

    private static List<String> in(String... names) {
        return List.of(names);
    }

    private Tensor weights(long... shape) {
        Tensor t = Tensor.allocate(FLOAT32, shape);
        // scaled by the fan-in, so activations keep their size through the layers (no inf or NaN)
        double scale = shape.length > 1 ? 1.0 / Math.sqrt((double) t.elementCount() / shape[0]) : 0.1;
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) (random.nextGaussian() * scale));
        }
        return t;
    }

    private Tensor positive(long... shape) {
        Tensor t = Tensor.allocate(FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) random.nextDouble(0.5, 1.5));
        }
        return t;
    }

    private static Tensor scalar(float v) {
        return Tensor.ofFloats(new long[0], v);
    }

    private static Tensor longs(long... v) {
        return Tensor.ofLongs(new long[] {v.length}, v);
    }

    /** Unary functions, binary with broadcasting, comparisons, Where, Cast, reductions: x [3, 37, 45]. */
    private WarmupModel elementwise() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-elementwise", 17)
                .input("x", FLOAT32, 3L, 37L, 45L).input("y", FLOAT32, 3L, 37L, 45L)
                .initializer("row", weights(45)).initializer("col", weights(37, 1)).initializer("two", scalar(2f))
                .initializer("one", scalar(1f)).initializer("minusOne", scalar(-1f)).initializer("axes", longs(-1));
        b.node("Sigmoid", in("x"), in("sig")).node("Tanh", in("y"), in("tanh"))
                .node("Abs", in("x"), in("abs")).node("Add", in("abs", "one"), in("abs1"))
                .node("Log", in("abs1"), in("log")).node("Sqrt", in("abs1"), in("sqrt"))
                .node("Reciprocal", in("abs1"), in("recip")).node("Neg", in("y"), in("neg"))
                .node("Exp", in("neg"), in("exp")).node("Erf", in("x"), in("erf"))
                .node("Relu", in("x"), in("relu")).node("LeakyRelu", in("y"), in("leaky"), floatAttr("alpha", 0.1f))
                .node("Elu", in("x"), in("elu")).node("HardSigmoid", in("y"), in("hsig"))
                .node("Softplus", in("x"), in("softplus")).node("Floor", in("y"), in("floor"))
                .node("Sin", in("x"), in("sin")).node("Cos", in("y"), in("cos"))
                .node("Clip", in("x", "minusOne", "one"), in("clip"));
        b.node("Add", in("sig", "row"), in("a1")).node("Mul", in("tanh", "col"), in("a2"))
                .node("Sub", in("a1", "a2"), in("a3")).node("Div", in("log", "sqrt"), in("a4"))
                .node("Pow", in("recip", "two"), in("a5")).node("Max", in("exp", "erf"), in("a6"))
                .node("Min", in("relu", "leaky"), in("a7")).node("Sum", in("a3", "a4", "a5"), in("a8"))
                .node("Greater", in("x", "y"), in("gt")).node("Where", in("gt", "a6", "a7"), in("a9"))
                .node("Mul", in("a8", "two"), in("a10")).node("Add", in("a9", "a10"), in("a11"))
                .node("Add", in("elu", "hsig"), in("a12")).node("Mul", in("softplus", "floor"), in("a13"))
                .node("Sub", in("sin", "cos"), in("a14")).node("Sum", in("a11", "a12", "a13", "a14", "clip"), in("z"));
        b.node("Cast", in("z"), in("zi"), intAttr("to", INT64.onnxCode()))
                .node("Cast", in("zi"), in("zf"), intAttr("to", FLOAT32.onnxCode()))
                .node("ReduceSum", in("z", "axes"), in("rsum"), intAttr("keepdims", 1))
                .node("ReduceMax", in("zf"), in("rmax"), intsAttr("axes", 1), intAttr("keepdims", 1))
                .node("ReduceMean", in("z"), in("rmean"), intsAttr("axes", 0, 2), intAttr("keepdims", 0))
                .node("ArgMax", in("z"), in("amax"), intAttr("axis", 2), intAttr("keepdims", 0))
                .node("Softmax", in("z"), in("soft"), intAttr("axis", 1))
                .node("LogSoftmax", in("z"), in("lsoft"), intAttr("axis", -1));
        b.output("rsum", FLOAT32, 3L, 37L, 1L).output("rmax", FLOAT32, 3L, 1L, 45L).output("rmean", FLOAT32, 37L)
                .output("amax", INT64, 3L, 37L).output("soft", FLOAT32, 3L, 37L, 45L)
                .output("lsoft", FLOAT32, 3L, 37L, 45L);
        return new WarmupModel("elementwise", b.bytes());
    }

    /** Transposes, reshapes, concatenations, slices, gathers, pads, tiles, expands, resizes. */
    private WarmupModel dataMovement() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-data-movement", 17)
                .input("x", FLOAT32, 2L, 5L, 19L, 23L).input("ids", INT64, 3L, 7L)
                .initializer("table", weights(50, 36)).initializer("starts", longs(1, 2))
                .initializer("ends", longs(18, 21)).initializer("sliceAxes", longs(2, 3))
                .initializer("pads", longs(0, 0, 1, 2, 0, 0, 1, 2)).initializer("reps", longs(1, 2, 1, 1))
                .initializer("shape", longs(2, 8, -1)).initializer("expand", longs(2, 5, 19, 23))
                .initializer("split", longs(4, 6)).initializer("scales", Tensor.ofFloats(new long[] {4}, 1, 1, 2, 2))
                .initializer("squeezeAxes", longs(0)).initializer("bias", weights(23));
        b.node("Transpose", in("x"), in("t1"), intsAttr("perm", 0, 2, 3, 1))
                .node("Transpose", in("t1"), in("t2"), intsAttr("perm", 0, 3, 1, 2))
                .node("Add", in("t2", "bias"), in("t3"))
                .node("Slice", in("t3", "starts", "ends", "sliceAxes"), in("s1"))
                .node("Pad", in("s1", "pads"), in("p1"))
                .node("Concat", in("p1", "x"), in("c1"), intAttr("axis", 1))
                .node("Split", in("c1", "split"), in("sp1", "sp2"), intAttr("axis", 1))
                .node("Tile", in("sp1", "reps"), in("tile"))
                .node("Reshape", in("tile", "shape"), in("r1"))
                .node("Transpose", in("r1"), in("t4"), intsAttr("perm", 2, 0, 1))
                .node("Unsqueeze", in("sp2", "squeezeAxes"), in("usq"))
                .node("Squeeze", in("usq", "squeezeAxes"), in("sq"))
                .node("Resize", in("sq", "", "scales"), in("up"))
                .node("Gather", in("table", "ids"), in("emb"), intAttr("axis", 0))
                .node("Transpose", in("emb"), in("embT"), intsAttr("perm", 0, 2, 1))
                .node("Flatten", in("embT"), in("flat"), intAttr("axis", 1))
                .node("Gather", in("t1", "ids"), in("g2"), intAttr("axis", 1))
                .node("Expand", in("bias", "expand"), in("ex"))
                .node("Identity", in("ex"), in("id"));
        b.output("t4", FLOAT32, 19L * 23, 2L, 8L).output("up", FLOAT32, 2L, 6L, 38L, 46L)
                .output("flat", FLOAT32, 3L, 36L * 7).output("g2", FLOAT32, 2L, 3L, 7L, 23L, 5L)
                .output("id", FLOAT32, 2L, 5L, 19L, 23L);
        return new WarmupModel("data-movement", b.bytes());
    }

    /** GEMM shapes of dense layers: one row, a few rows, rows past a tile; each fused epilogue. */
    private WarmupModel dense() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-dense", 17)
                .input("x", FLOAT32, 37L, 300L).input("v", FLOAT32, 1L, 300L)
                .initializer("w1", weights(300, 200)).initializer("b1", weights(200))
                .initializer("w2", weights(100, 200)).initializer("b2", weights(100))
                .initializer("w3", weights(100, 10)).initializer("w4", weights(200, 45))
                .initializer("w5", weights(37, 200));
        b.node("MatMul", in("x", "w1"), in("h1")).node("Add", in("h1", "b1"), in("h1b")).node("Relu", in("h1b"), in("h1r"))
                .node("Gemm", in("h1r", "w2", "b2"), in("h2"), intAttr("transB", 1)).node("Sigmoid", in("h2"), in("h2s"))
                .node("Gemm", in("h2s", "w3"), in("h3")).node("Softmax", in("h3"), in("y"), intAttr("axis", -1))
                .node("MatMul", in("v", "w1"), in("g1")).node("Tanh", in("g1"), in("g1t"))
                .node("MatMul", in("g1t", "w4"), in("g2")).node("LeakyRelu", in("g2"), in("g2l"))
                .node("Gemm", in("h1r", "w5"), in("tb"), intAttr("transA", 1)).node("Relu", in("tb"), in("tbr"));
        b.output("y", FLOAT32, 37L, 10L).output("g2l", FLOAT32, 1L, 45L).output("tbr", FLOAT32, 200L, 200L);
        return new WarmupModel("dense", b.bytes());
    }

    /**
     * One transformer encoder block at B=2, S=33, D=64, 4 heads: position embeddings added and
     * normalised (AddLayerNormalization), LayerNormalization, the fused
     * QKV projection, split heads, batched MatMuls of activations, scale, mask, Softmax, the
     * output projection, residuals, an FFN with GELU in its Erf form and one in its Tanh form.
     */
    private WarmupModel attention() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-attention", 17)
                .input("x", FLOAT32, 2L, 33L, 64L).input("mask", FLOAT32, 2L, 1L, 1L, 33L)
                .initializer("g", positive(64)).initializer("be", weights(64))
                .initializer("wqkv", weights(64, 192)).initializer("bqkv", weights(192))
                .initializer("split", longs(64, 64, 64)).initializer("heads", longs(2, 33, 4, 16))
                .initializer("merged", longs(2, 33, 64)).initializer("scale", scalar(0.25f))
                .initializer("wo", weights(64, 64)).initializer("bo", weights(64))
                .initializer("w1", weights(64, 256)).initializer("b1", weights(256))
                .initializer("w2", weights(256, 64)).initializer("b2", weights(64))
                .initializer("sqrt2", scalar(1.4142135f)).initializer("one", scalar(1f)).initializer("half", scalar(0.5f))
                .initializer("three", scalar(3f)).initializer("c", scalar(0.044715f))
                .initializer("k", scalar(0.7978846f)).initializer("w3", weights(64, 48));
        // position embeddings added to the input and normalised: one AddLayerNormalization whose second
        // operand repeats whole rows of the sum
        b.initializer("pos", weights(33, 64));
        b.node("Add", in("x", "pos"), in("xp")).node("LayerNormalization", in("xp", "g", "be"), in("ln"), intAttr("axis", -1))
                .node("MatMul", in("ln", "wqkv"), in("qkv0")).node("Add", in("qkv0", "bqkv"), in("qkv"))
                .node("Split", in("qkv", "split"), in("q0", "k0", "v0"), intAttr("axis", 2))
                .node("Reshape", in("q0", "heads"), in("q1")).node("Transpose", in("q1"), in("q"), intsAttr("perm", 0, 2, 1, 3))
                .node("Reshape", in("k0", "heads"), in("k1")).node("Transpose", in("k1"), in("kt"), intsAttr("perm", 0, 2, 3, 1))
                .node("Reshape", in("v0", "heads"), in("v1")).node("Transpose", in("v1"), in("v"), intsAttr("perm", 0, 2, 1, 3))
                .node("MatMul", in("q", "kt"), in("s0")).node("Mul", in("s0", "scale"), in("s1"))
                .node("Add", in("s1", "mask"), in("s2")).node("Softmax", in("s2"), in("p"), intAttr("axis", -1))
                .node("MatMul", in("p", "v"), in("o0")).node("Transpose", in("o0"), in("o1"), intsAttr("perm", 0, 2, 1, 3))
                .node("Reshape", in("o1", "merged"), in("o2")).node("MatMul", in("o2", "wo"), in("o3"))
                .node("Add", in("o3", "bo"), in("o4")).node("Add", in("o4", "x"), in("r1"))
                .node("LayerNormalization", in("r1", "g", "be"), in("ln2"), intAttr("axis", -1))
                .node("MatMul", in("ln2", "w1"), in("f0")).node("Add", in("f0", "b1"), in("f1"))
                .node("Div", in("f1", "sqrt2"), in("f2")).node("Erf", in("f2"), in("f3"))
                .node("Add", in("f3", "one"), in("f4")).node("Mul", in("f1", "f4"), in("f5"))
                .node("Mul", in("f5", "half"), in("gelu")).node("MatMul", in("gelu", "w2"), in("f6"))
                .node("Add", in("f6", "b2"), in("f7")).node("Add", in("f7", "r1"), in("y"));
        // GELU in its Tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        b.node("MatMul", in("y", "w3"), in("t0")).node("Pow", in("t0", "three"), in("t1"))
                .node("Mul", in("t1", "c"), in("t2")).node("Add", in("t0", "t2"), in("t3"))
                .node("Mul", in("t3", "k"), in("t4")).node("Tanh", in("t4"), in("t5"))
                .node("Add", in("t5", "one"), in("t6")).node("Mul", in("t0", "t6"), in("t7"))
                .node("Mul", in("t7", "half"), in("z"));
        b.output("y", FLOAT32, 2L, 33L, 64L).output("z", FLOAT32, 2L, 33L, 48L);
        return new WarmupModel("attention", b.bytes());
    }

    /**
     * A small CNN on 1×3×40×40: a strided 7×7 stem with BatchNormalization and Relu, max pooling,
     * a bottleneck with a projected residual, a strided 3×3, a depthwise 3×3, Clip (ReLU6),
     * average, global average and global max pooling, a nearest upsample, and a classifier.
     */
    private WarmupModel cnn() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-cnn", 17).input("x", FLOAT32, 1L, 3L, 40L, 40L)
                .initializer("six", scalar(6f)).initializer("zero", scalar(0f))
                .initializer("scales", Tensor.ofFloats(new long[] {4}, 1, 1, 2, 2))
                .initializer("fc", weights(10, 80)).initializer("fcb", weights(10));
        String x = conv(b, "x", "stem", 3, 16, 7, 2, 1, Affine.BATCH_NORM);
        b.node("Relu", in(x), in("stem_r"));
        b.node("MaxPool", in("stem_r"), in("pool"), intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2),
                intsAttr("pads", 1, 1, 1, 1));
        String a = conv(b, "pool", "b1", 16, 8, 1, 1, 1, Affine.BATCH_NORM);
        b.node("Relu", in(a), in("b1_r"));
        String c = conv(b, "b1_r", "b2", 8, 8, 3, 1, 1, Affine.BATCH_NORM);
        b.node("Relu", in(c), in("b2_r"));
        String d = conv(b, "b2_r", "b3", 8, 32, 1, 1, 1, Affine.BATCH_NORM);
        String s = conv(b, "pool", "proj", 16, 32, 1, 1, 1, Affine.BATCH_NORM);
        b.node("Add", in(d, s), in("res")).node("Relu", in("res"), in("res_r"));
        String e = conv(b, "res_r", "down", 32, 32, 3, 2, 1, Affine.BIAS);
        b.node("Sigmoid", in(e), in("down_s"));
        String f = conv(b, "down_s", "dw", 32, 32, 3, 1, 32, Affine.BIAS);
        b.node("Clip", in(f, "zero", "six"), in("relu6"));
        String g = conv(b, "relu6", "pw", 32, 40, 1, 1, 1, Affine.BIAS);
        b.node("Tanh", in(g), in("pw_t"));
        b.node("AveragePool", in("pw_t"), in("avg"), intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2))
                .node("GlobalAveragePool", in("avg"), in("gap")).node("GlobalMaxPool", in("pw_t"), in("gmp"))
                .node("Concat", in("gap", "gmp"), in("cat"), intAttr("axis", 1))
                .node("Flatten", in("cat"), in("flat"), intAttr("axis", 1))
                .node("Gemm", in("flat", "fc", "fcb"), in("logits"), intAttr("transB", 1))
                .node("Resize", in("pw_t", "", "scales"), in("up"));
        String h = conv(b, "up", "head", 40, 5, 3, 1, 1, Affine.NONE);
        b.output("logits", FLOAT32, 1L, 10L).output(h, FLOAT32, 1L, 5L, 10L, 10L);
        return new WarmupModel("cnn", b.bytes());
    }

    /**
     * A residual stage as deep CNNs end theirs, at their channel counts: 1×128×14×14 down to 7×7
     * (GEMMs of 49 columns, a full panel and a partial one, with enough rows for the machine-code
     * tiles), a strided 3×3 whose K (1152) is past one block, so its tiles accumulate; projected
     * and identity residuals; global average pooling and a classifier.
     */
    private WarmupModel stage() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-stage", 17).input("x", FLOAT32, 1L, 128L, 14L, 14L)
                .initializer("fc", weights(10, 256)).initializer("fcb", weights(10));
        String a = conv(b, "x", "s1", 128, 128, 3, 2, 1, Affine.BATCH_NORM);
        b.node("Relu", in(a), in("s1_r"));
        String c = conv(b, "s1_r", "s2", 128, 256, 1, 1, 1, Affine.BATCH_NORM);
        String p = conv(b, "x", "sp", 128, 256, 1, 2, 1, Affine.BATCH_NORM);
        b.node("Add", in(c, p), in("r1")).node("Relu", in("r1"), in("r1_r"));
        String d = conv(b, "r1_r", "t1", 256, 64, 1, 1, 1, Affine.BATCH_NORM);
        b.node("Relu", in(d), in("t1_r"));
        String e = conv(b, "t1_r", "t2", 64, 64, 3, 1, 1, Affine.BIAS);
        b.node("Relu", in(e), in("t2_r"));
        String f = conv(b, "t2_r", "t3", 64, 256, 1, 1, 1, Affine.BATCH_NORM);
        b.node("Add", in(f, "r1_r"), in("r2")).node("Relu", in("r2"), in("r2_r"))
                .node("GlobalAveragePool", in("r2_r"), in("gap")).node("Flatten", in("gap"), in("flat"), intAttr("axis", 1))
                .node("Gemm", in("flat", "fc", "fcb"), in("logits"), intAttr("transB", 1));
        b.output("logits", FLOAT32, 1L, 10L);
        return new WarmupModel("stage", b.bytes());
    }

    /** What follows a convolution's sum. */
    private enum Affine { NONE, BIAS, BATCH_NORM }

    /**
     * A Conv (pads keep the size at stride 1) with a bias, a following BatchNormalization (which
     * the optimizer folds into it) or neither; returns the output's name.
     */
    private String conv(OnnxModelBuilder b, String x, String name, int in, int out, int k, int stride, int group,
            Affine affine) {
        b.initializer(name + "_w", weights(out, in / group, k, k));
        List<String> inputs = in(x, name + "_w");
        if (affine == Affine.BIAS) {
            b.initializer(name + "_b", weights(out));
            inputs = in(x, name + "_w", name + "_b");
        }
        int pad = k / 2;
        b.node("Conv", inputs, in(name + "_c"), intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride),
                intsAttr("pads", pad, pad, pad, pad), intAttr("group", group));
        if (affine != Affine.BATCH_NORM) {
            return name + "_c";
        }
        b.initializer(name + "_s", positive(out)).initializer(name + "_o", weights(out))
                .initializer(name + "_m", weights(out)).initializer(name + "_v", positive(out));
        b.node("BatchNormalization", in(name + "_c", name + "_s", name + "_o", name + "_m", name + "_v"),
                in(name + "_bn"));
        return name + "_bn";
    }

    /**
     * Each family once at a size that is split over the cores (GEMM past the per-task work
     * threshold, a 3×3 convolution on 56×56 with a residual, elementwise and normalisation over
     * 100,000 to 200,000 values), and a classifier's GEMV with a K of 2048.
     */
    private WarmupModel wide() {
        OnnxModelBuilder b = new OnnxModelBuilder("warmup-wide", 17)
                .input("x", FLOAT32, 64L, 784L).input("img", FLOAT32, 1L, 32L, 56L, 56L)
                .input("seq", FLOAT32, 1L, 128L, 768L).input("feat", FLOAT32, 2L, 2048L)
                .initializer("w", weights(784, 512)).initializer("b", weights(512))
                .initializer("g", positive(768)).initializer("be", weights(768)).initializer("wf", weights(768, 96));
        b.node("Gemm", in("x", "w", "b"), in("h")).node("Relu", in("h"), in("hr"))
                .node("Softmax", in("hr"), in("hs"), intAttr("axis", 1));
        String c = conv(b, "img", "c3", 32, 64, 3, 1, 1, Affine.BATCH_NORM);
        String p = conv(b, "img", "cp1", 32, 64, 1, 1, 1, Affine.BATCH_NORM);
        // a residual Add and a per-channel Mul over 200,000 values: binary ops split over the cores,
        // the Mul's tasks starting and ending inside rows
        b.initializer("chs", positive(64, 1, 1));
        b.node("Add", in(c, p), in("cres")).node("Mul", in("cres", "chs"), in("cmul")).node("Relu", in("cmul"), in("cr"))
                .node("MaxPool", in("cr"), in("cp"), intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2));
        // a classifier's GEMV: K past one block (its second block adds into C), a partial panel, a fused Relu with a tail
        b.initializer("w2", weights(2048, 83)).initializer("b2", weights(83));
        b.node("Gemm", in("feat", "w2", "b2"), in("fc2")).node("Relu", in("fc2"), in("fc2r"));
        b.node("LayerNormalization", in("seq", "g", "be"), in("ln"), intAttr("axis", -1))
                .node("Sigmoid", in("ln"), in("ls")).node("Mul", in("ln", "ls"), in("swish"))
                .node("Transpose", in("swish"), in("st"), intsAttr("perm", 0, 2, 1))
                .node("Softmax", in("st"), in("ss"), intAttr("axis", -1))
                .node("ReduceSum", in("ss"), in("rs"), intAttr("keepdims", 0))
                .node("MatMul", in("swish", "wf"), in("proj"));
        b.output("hs", FLOAT32, 64L, 512L).output("cp", FLOAT32, 1L, 64L, 28L, 28L).output("rs", FLOAT32)
                .output("proj", FLOAT32, 1L, 128L, 96L).output("fc2r", FLOAT32, 2L, 83L);
        return new WarmupModel("wide", b.bytes());
    }
}
