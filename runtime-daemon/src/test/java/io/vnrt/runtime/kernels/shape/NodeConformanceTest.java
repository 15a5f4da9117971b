package io.vnrt.runtime.kernels.shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The single-node tier-1 ONNX tests of this family, run kernel by kernel through TestNode (no
 * graph compiler needed): every input is given as a compile-time constant, outputs compared with
 * the backend tolerances (rtol 1e-3, atol 1e-7, NaN equals NaN, integers exact).
 */
class NodeConformanceTest {
    static final Set<String> OPS = Set.of("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat",
            "Split", "Slice", "Gather", "GatherElements", "GatherND", "ScatterND", "ScatterElements", "Expand",
            "Tile", "Pad", "Shape", "Size", "Constant", "ConstantOfShape", "Identity", "Range", "DepthToSpace",
            "SpaceToDepth", "Trilu", "OneHot", "NonZero", "Resize");

    static Path shared() {
        return Path.of(System.getProperty("vnrt.shared", "../../shared"));
    }

    @TestFactory
    Stream<DynamicTest> tier1SingleNodeTests() throws IOException {
        Path conf = shared().resolve("conformance");
        Assumptions.assumeTrue(Files.isDirectory(conf.resolve("onnx-node")), "no conformance data at " + conf);
        Files.deleteIfExists(Path.of("target", "shape-conformance.txt"));
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : Files.readAllLines(conf.resolve("tier1.txt"))) {
            name = name.strip();
            Path dir = conf.resolve("onnx-node").resolve(name);
            if (name.isEmpty() || !Files.isRegularFile(dir.resolve("model.onnx"))) {
                continue;
            }
            ModelProto model = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")));
            if (model.getGraph().getNodeCount() != 1 || !OPS.contains(model.getGraph().getNode(0).getOpType())) {
                continue;
            }
            boolean tensorsOnly = Stream.concat(model.getGraph().getInputList().stream(),
                    model.getGraph().getOutputList().stream()).allMatch(v -> v.getType().hasTensorType());
            String testName = name;
            tests.add(DynamicTest.dynamicTest(name, () -> {
                // Sequence and optional values are the graph's business, not a kernel's.
                Assumptions.assumeTrue(tensorsOnly, "sequence or optional values");
                try {
                    check(model, dir);
                    record(testName + " pass");
                } catch (Throwable e) {
                    record(testName + " FAIL " + e.getMessage());
                    throw e;
                }
            }));
        }
        return tests.stream();
    }

    /** Appends a result line to target/shape-conformance.txt, for the family's report. */
    private static synchronized void record(String line) throws IOException {
        Files.writeString(Path.of("target", "shape-conformance.txt"), line + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    private static void check(ModelProto model, Path dir) throws IOException {
        NodeProto node = model.getGraph().getNode(0);
        int opset = 1;
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = (int) o.getVersion();
            }
        }
        TestNode t = TestNode.of(node.getOpType(), opset).outputs(node.getOutputCount());
        List<String> graphInputs = model.getGraph().getInputList().stream().map(v -> v.getName()).toList();
        Path data = dir.resolve("test_data_set_0");
        for (String in : node.getInputList()) {
            if (in.isEmpty()) {
                t.noInput();
                continue;
            }
            int gi = graphInputs.indexOf(in);
            TensorProto tp = null;
            if (gi >= 0) {
                tp = TensorProto.parseFrom(Files.readAllBytes(data.resolve("input_" + gi + ".pb")));
            } else {
                for (TensorProto init : model.getGraph().getInitializerList()) {
                    if (init.getName().equals(in)) {
                        tp = init;
                    }
                }
            }
            if (tp == null) {
                fail("input " + in + " not found");
            }
            t.constInput(toTensor(tp));
        }
        for (AttributeProto a : node.getAttributeList()) {
            switch (a.getType()) {
                case INT -> t.attr(a.getName(), a.getI());
                case FLOAT -> t.attr(a.getName(), a.getF());
                case STRING -> t.attr(a.getName(), a.getS().toStringUtf8());
                case INTS -> t.attr(a.getName(), a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                case FLOATS -> {
                    float[] f = new float[a.getFloatsCount()];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = a.getFloats(i);
                    }
                    t.attr(a.getName(), f);
                }
                case TENSOR -> t.attr(a.getName(), toTensor(a.getT()));
                default -> fail("attribute type " + a.getType());
            }
        }
        Kernel k = OpRegistry.standard().find("", node.getOpType()).create(t);
        for (TensorType type : k.outputTypes()) {
            if (type.byteSize() > (1 << 28)) {
                fail("implausible output type " + type);
            }
        }
        Tensor[] out = t.run(k, ExecContext.inline(null));
        for (int i = 0; i < node.getOutputCount(); i++) {
            Tensor expect = toTensor(TensorProto.parseFrom(Files.readAllBytes(data.resolve("output_" + i + ".pb"))));
            compare(expect, out[i], "output " + i);
        }
    }

    static void compare(Tensor expect, Tensor got, String what) {
        assertEquals(expect.dtype(), got.dtype(), what + " dtype");
        assertArrayEquals(expect.shape(), got.shape(), what + " shape");
        boolean fp = expect.dtype().isFloatingPoint();
        for (long i = 0; i < expect.elementCount(); i++) {
            if (fp) {
                double e = expect.getDouble(i);
                double g = got.getDouble(i);
                if (Double.isNaN(e) && Double.isNaN(g)) {
                    continue;
                }
                if (!(Math.abs(e - g) <= 1e-7 + 1e-3 * Math.abs(e))) {
                    fail(what + " element " + i + ": expected " + e + ", got " + g);
                }
            } else if (expect.getLong(i) != got.getLong(i)) {
                fail(what + " element " + i + ": expected " + expect.getLong(i) + ", got " + got.getLong(i));
            }
        }
    }

    static Tensor toTensor(TensorProto tp) {
        DType dt = DType.fromOnnx(tp.getDataType());
        long[] shape = tp.getDimsList().stream().mapToLong(Long::longValue).toArray();
        if (!tp.hasDataType() || Math.abs(io.vnrt.runtime.kernels.Shapes.elementCount(shape)) > (1 << 26)) {
            fail("not a plain tensor (sequence or optional?): " + java.util.Arrays.toString(shape));
        }
        Tensor t = Tensor.allocate(dt, shape);
        long n = t.elementCount();
        if (tp.hasRawData()) {
            byte[] raw = tp.getRawData().toByteArray();
            MemorySegment.copy(MemorySegment.ofArray(raw), 0, t.data(), 0, raw.length);
            return t;
        }
        for (long i = 0; i < n; i++) {
            int k = (int) i;
            switch (dt) {
                case FLOAT32 -> t.setFloat(i, tp.getFloatData(k));
                case FLOAT64 -> t.setDouble(i, tp.getDoubleData(k));
                case INT64 -> t.setLong(i, tp.getInt64Data(k));
                case UINT64, UINT32 -> t.setLong(i, tp.getUint64Data(k));
                case FLOAT16, BFLOAT16 -> t.data().setAtIndex(Tensor.I16, i, (short) tp.getInt32Data(k));
                default -> t.setLong(i, tp.getInt32Data(k));
            }
        }
        return t;
    }
}
