package io.vnrt.runtime.kernels.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the ONNX node tests whose model is a single node of this worktree's operators (reduce and
 * norm families) straight through TestNode, so the kernels are checked against the upstream
 * expected outputs without the graph compiler. Same tolerance as the conformance runner: rtol 1e-3,
 * atol 1e-7, NaN equals NaN, integers exact.
 */
class SingleNodeConformanceTest {
    private static final Set<String> OPS = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
            "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin", "CumSum",
            "TopK", "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
            "RMSNormalization", "LRN", "Softmax", "LogSoftmax", "Hardmax");

    @TestFactory
    Stream<DynamicTest> singleNodeTests() throws IOException {
        Path root = Path.of(System.getProperty("vnrt.shared", "../../shared"), "conformance");
        assumeTrue(Files.isRegularFile(root.resolve("tier1.txt")), "no conformance data at " + root);
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : Files.readAllLines(root.resolve("tier1.txt"))) {
            Path dir = root.resolve("onnx-node").resolve(name.trim());
            if (name.isBlank() || !Files.isRegularFile(dir.resolve("model.onnx"))) {
                continue;
            }
            ModelProto model = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")));
            if (model.getGraph().getNodeCount() != 1 || !OPS.contains(model.getGraph().getNode(0).getOpType())) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(name, () -> runCase(model, dir)));
        }
        return tests.stream();
    }

    private static void runCase(ModelProto model, Path dir) throws IOException {
        NodeProto node = model.getGraph().getNode(0);
        int opset = 0;
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = (int) o.getVersion();
            }
        }
        TestNode t = TestNode.of(node.getOpType(), opset);
        List<String> graphInputs = model.getGraph().getInputList().stream().map(v -> v.getName()).toList();
        Path data = dir.resolve("test_data_set_0");
        for (String in : node.getInputList()) {
            if (in.isEmpty()) {
                t.noInput();
            } else {
                int i = graphInputs.indexOf(in);
                t.input(toTensor(TensorProto.parseFrom(Files.readAllBytes(data.resolve("input_" + i + ".pb")))));
            }
        }
        for (AttributeProto a : node.getAttributeList()) {
            switch (a.getType()) {
                case INT -> t.attr(a.getName(), a.getI());
                case FLOAT -> t.attr(a.getName(), a.getF());
                case INTS -> t.attr(a.getName(), a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                case STRING -> t.attr(a.getName(), a.getS().toStringUtf8());
                default -> fail("attribute type " + a.getType() + " not handled by this harness");
            }
        }
        t.outputs(node.getOutputCount());
        Tensor[] out = t.run();
        for (int i = 0; i < node.getOutputCount(); i++) {
            Tensor expected = toTensor(TensorProto.parseFrom(Files.readAllBytes(data.resolve("output_" + i + ".pb"))));
            assertClose(expected, out[i], "output " + i);
        }
    }

    static void assertClose(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what + " dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        for (long i = 0; i < expected.elementCount(); i++) {
            if (expected.dtype().isFloatingPoint()) {
                double e = expected.getDouble(i);
                double a = actual.getDouble(i);
                if (Double.isNaN(e) && Double.isNaN(a) || e == a) {
                    continue;
                }
                if (!(Math.abs(e - a) <= 1e-7 + 1e-3 * Math.abs(e))) {
                    fail(what + " element " + i + ": expected " + e + " got " + a);
                }
            } else {
                assertEquals(expected.getLong(i), actual.getLong(i), what + " element " + i);
            }
        }
    }

    /** A TensorProto (raw_data or typed fields) as a Tensor in host memory. */
    static Tensor toTensor(TensorProto p) {
        DType dt = DType.fromOnnx(p.getDataType());
        long[] shape = p.getDimsList().stream().mapToLong(Long::longValue).toArray();
        Tensor t = Tensor.allocate(dt, shape);
        if (p.hasRawData()) {
            MemorySegment.copy(MemorySegment.ofArray(p.getRawData().toByteArray()), 0, t.data(), 0, t.byteSize());
            return t;
        }
        long n = t.elementCount();
        for (long i = 0; i < n; i++) {
            int k = (int) i;
            switch (dt) {
                case FLOAT32 -> t.setDouble(i, p.getFloatData(k));
                case FLOAT64 -> t.setDouble(i, p.getDoubleData(k));
                case INT64 -> t.setLong(i, p.getInt64Data(k));
                case UINT32, UINT64 -> t.setLong(i, p.getUint64Data(k));
                case FLOAT16, BFLOAT16 -> t.data().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
                        ByteOrder.LITTLE_ENDIAN), i, (short) p.getInt32Data(k));
                default -> t.setLong(i, p.getInt32Data(k));
            }
        }
        return t;
    }
}
