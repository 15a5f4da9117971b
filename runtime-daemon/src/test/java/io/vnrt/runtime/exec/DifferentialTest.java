package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.ModelBuilder.floatAttr;
import static io.vnrt.runtime.exec.ModelBuilder.intAttr;
import static io.vnrt.runtime.exec.ModelBuilder.intsAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The engine against ONNX Runtime (the test oracle): the benchmark models and models built here
 * with random, odd shapes and several dtypes get the same inputs in both; outputs must agree
 * within |a - b| <= 1e-3 * |b| + 1e-5 * max|b| (float accumulation order differs), exactly for
 * integer and bool outputs. Each case runs on one and on two cores.
 */
class DifferentialTest {
    private static OrtEnvironment env;

    @BeforeAll
    static void startOrt() {
        env = OrtEnvironment.getEnvironment();
    }

    private record Case(String name, byte[] model, Map<String, Long> dims) {}

    @TestFactory
    Stream<DynamicTest> builtModels() {
        List<Case> cases = new ArrayList<>();
        Random rnd = new Random(7);
        for (int[] mkn : new int[][] {{1, 7, 5}, {33, 65, 17}, {130, 64, 96}, {6, 300, 33}}) {
            cases.add(new Case("matmul " + mkn[0] + "x" + mkn[1] + "x" + mkn[2], new ModelBuilder(13)
                    .input("a", DType.FLOAT32, (long) mkn[0], (long) mkn[1])
                    .initializer("w", random(rnd, DType.FLOAT32, mkn[1], mkn[2]))
                    .node("MatMul", List.of("a", "w"), List.of("y"))
                    .output("y", DType.FLOAT32, (long) mkn[0], (long) mkn[2]).bytes(), Map.of()));
        }
        cases.add(new Case("batched matmul, both inputs dynamic", new ModelBuilder(13)
                .input("a", DType.FLOAT32, 2L, 3L, 9L, 31L).input("b", DType.FLOAT32, 3L, 31L, 11L)
                .node("MatMul", List.of("a", "b"), List.of("y"))
                .output("y", DType.FLOAT32, 2L, 3L, 9L, 11L).bytes(), Map.of()));
        cases.add(new Case("gemm transB + bias + relu (fusion)", new ModelBuilder(13)
                .input("x", DType.FLOAT32, "N", 37L)
                .initializer("w", random(rnd, DType.FLOAT32, 19, 37))
                .initializer("b", random(rnd, DType.FLOAT32, 19))
                .node("Gemm", List.of("x", "w", "b"), List.of("g"), intAttr("transB", 1), floatAttr("alpha", 0.5f))
                .node("Relu", List.of("g"), List.of("y"))
                .output("y", DType.FLOAT32, "N", 19L).bytes(), Map.of("N", 5L)));
        cases.add(new Case("matmul + add + gelu(erf) chain", new ModelBuilder(17)
                .input("x", DType.FLOAT32, 3L, 13L, 24L)
                .initializer("w", random(rnd, DType.FLOAT32, 24, 40))
                .initializer("b", random(rnd, DType.FLOAT32, 40))
                .node("MatMul", List.of("x", "w"), List.of("m"))
                .node("Add", List.of("m", "b"), List.of("h"))
                .erfGelu("h", "y")
                .output("y", DType.FLOAT32, 3L, 13L, 40L).bytes(), Map.of()));
        cases.add(new Case("conv + batchnorm + relu (fusion), pads, stride 2, groups 2", new ModelBuilder(13)
                .input("x", DType.FLOAT32, 2L, 4L, 11L, 9L)
                .initializer("w", random(rnd, DType.FLOAT32, 6, 2, 3, 3))
                .initializer("cb", random(rnd, DType.FLOAT32, 6))
                .initializer("scale", random(rnd, DType.FLOAT32, 6))
                .initializer("bias", random(rnd, DType.FLOAT32, 6))
                .initializer("mean", random(rnd, DType.FLOAT32, 6))
                .initializer("var", positive(rnd, 6))
                .node("Conv", List.of("x", "w", "cb"), List.of("c"), intsAttr("pads", 1, 1, 1, 1),
                        intsAttr("strides", 2, 2), intAttr("group", 2))
                .node("BatchNormalization", List.of("c", "scale", "bias", "mean", "var"), List.of("n"))
                .node("Relu", List.of("n"), List.of("y"))
                .output("y", DType.FLOAT32, 2L, 6L, 6L, 5L).bytes(), Map.of()));
        cases.add(new Case("softmax + layernorm over odd rows", new ModelBuilder(17)
                .input("x", DType.FLOAT32, 3L, 7L, 45L)
                .initializer("g", random(rnd, DType.FLOAT32, 45))
                .initializer("b", random(rnd, DType.FLOAT32, 45))
                .node("Softmax", List.of("x"), List.of("s"), intAttr("axis", -1))
                .node("LayerNormalization", List.of("s", "g", "b"), List.of("y"), intAttr("axis", -1))
                .output("y", DType.FLOAT32, 3L, 7L, 45L).bytes(), Map.of()));
        cases.add(new Case("transpose + reshape + reducemean + broadcast sub", new ModelBuilder(13)
                .input("x", DType.FLOAT32, 2L, 5L, 6L, 7L)
                .initializer("shape", Tensor.ofLongs(new long[] {2}, 12, 35))
                .node("Transpose", List.of("x"), List.of("t"), intsAttr("perm", 0, 2, 1, 3))
                .node("Reshape", List.of("t", "shape"), List.of("r"))
                .node("ReduceMean", List.of("r"), List.of("m"), intsAttr("axes", 1), intAttr("keepdims", 1))
                .node("Sub", List.of("r", "m"), List.of("y"))
                .output("y", DType.FLOAT32, 12L, 35L).bytes(), Map.of()));
        for (DType t : new DType[] {DType.INT32, DType.INT64, DType.FLOAT64}) {
            cases.add(new Case("add/mul broadcast " + t.displayName(), new ModelBuilder(13)
                    .input("a", t, 4L, 1L, 5L).input("b", t, 3L, 1L)
                    .node("Add", List.of("a", "b"), List.of("s"))
                    .node("Mul", List.of("s", "a"), List.of("y"))
                    .output("y", t, 4L, 3L, 5L).bytes(), Map.of()));
        }
        cases.add(new Case("gather + concat + cast int64 -> float", new ModelBuilder(13)
                .input("x", DType.INT64, 6L, 4L)
                .initializer("idx", Tensor.ofLongs(new long[] {3}, 5, 0, -1))
                .node("Gather", List.of("x", "idx"), List.of("g"), intAttr("axis", 0))
                .node("Concat", List.of("g", "x"), List.of("c"), intAttr("axis", 0))
                .node("Cast", List.of("c"), List.of("y"), intAttr("to", DType.FLOAT32.onnxCode()))
                .output("y", DType.FLOAT32, 9L, 4L).bytes(), Map.of()));
        return cases.stream().flatMap(c -> Stream.of(1, 2).map(cores -> DynamicTest.dynamicTest(
                c.name + " on " + cores + " core(s)", () -> check(c.model, c.dims, cores, new Random(11)))));
    }

    @TestFactory
    Stream<DynamicTest> benchmarkModels() {
        Path dir = Path.of(System.getProperty("vnrt.shared", "../shared"), "models");
        List<Object[]> cases = List.of(
                new Object[] {"matmul1024.onnx", Map.<String, Long>of()},
                new Object[] {"mlp.onnx", Map.of("N", 1L)},
                new Object[] {"mlp.onnx", Map.of("N", 64L)},
                new Object[] {"encoder_layer.onnx", Map.of("B", 1L, "S", 128L)},
                new Object[] {"encoder_layer.onnx", Map.of("B", 2L, "S", 17L)});
        return cases.stream().map(c -> DynamicTest.dynamicTest(c[0] + " " + c[1], () -> {
            Path file = dir.resolve((String) c[0]);
            assumeTrue(Files.exists(file), "benchmark model not found at " + file + " (set -Dvnrt.shared)");
            @SuppressWarnings("unchecked")
            Map<String, Long> dims = (Map<String, Long>) c[1];
            check(Files.readAllBytes(file), dims, 2, new Random(3));
        }));
    }

    private static void check(byte[] modelBytes, Map<String, Long> dims, int cores, Random rnd) throws Exception {
        try (CoreGroup group = new CoreGroup("diff", cores);
                LoadedModel model = new Engine().load("diff", modelBytes, null, new HostMemory(), group);
                OrtSession ort = env.createSession(modelBytes, new OrtSession.SessionOptions())) {
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            Map<String, OnnxTensor> ortInputs = new LinkedHashMap<>();
            try {
                for (ValueInfo in : model.inputs()) {
                    long[] shape = in.dims().stream().mapToLong(d -> d.isFixed() ? d.value() : dims.get(d.symbol()))
                            .toArray();
                    Tensor t = random(rnd, in.dtype(), shape);
                    inputs.put(in.name(), t);
                    ortInputs.put(in.name(), OnnxTensor.createTensor(env, t.data().asByteBuffer()
                            .order(ByteOrder.nativeOrder()), shape, javaType(in.dtype())));
                }
                Map<String, Tensor> ours = model.execute(inputs);
                try (OrtSession.Result theirs = ort.run(ortInputs)) {
                    for (var e : theirs) {
                        OnnxTensor ot = (OnnxTensor) e.getValue();
                        long[] shape = ot.getInfo().getShape();
                        Tensor expected = new Tensor(ours.get(e.getKey()).dtype(), shape,
                                MemorySegment.ofBuffer(ot.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN)));
                        compare(e.getKey(), ours.get(e.getKey()), expected);
                    }
                }
            } finally {
                for (OnnxTensor t : ortInputs.values()) {
                    t.close();
                }
            }
        }
    }

    private static void compare(String name, Tensor actual, Tensor expected) {
        assertEquals(expected.type(), actual.type(), "output '" + name + "' type");
        long n = expected.elementCount();
        if (!expected.dtype().isFloatingPoint()) {
            for (long i = 0; i < n; i++) {
                if (actual.getLong(i) != expected.getLong(i)) {
                    fail("output '" + name + "' element " + i + ": got " + actual.getLong(i) + ", ORT "
                            + expected.getLong(i));
                }
            }
            return;
        }
        double scale = 0;
        for (long i = 0; i < n; i++) {
            scale = Math.max(scale, Math.abs(expected.getDouble(i)));
        }
        for (long i = 0; i < n; i++) {
            double a = actual.getDouble(i);
            double b = expected.getDouble(i);
            if (!(Math.abs(a - b) <= 1e-3 * Math.abs(b) + 1e-5 * scale) && !(Double.isNaN(a) && Double.isNaN(b))) {
                fail("output '" + name + "' element " + i + ": got " + a + ", ORT " + b + " (max |ORT| " + scale + ")");
            }
        }
    }

    private static Tensor random(Random rnd, DType dtype, long... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            if (dtype.isFloatingPoint()) {
                t.setDouble(i, rnd.nextGaussian());
            } else {
                t.setLong(i, rnd.nextInt(11) - 5);
            }
        }
        return t;
    }

    private static Tensor positive(Random rnd, long n) {
        Tensor t = Tensor.allocate(DType.FLOAT32, n);
        for (long i = 0; i < n; i++) {
            t.setFloat(i, 0.5f + rnd.nextFloat());
        }
        return t;
    }

    private static OnnxJavaType javaType(DType t) {
        return switch (t) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT64 -> OnnxJavaType.DOUBLE;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case BFLOAT16 -> OnnxJavaType.BFLOAT16;
            default -> throw new IllegalArgumentException("no ORT type for " + t);
        };
    }
}
