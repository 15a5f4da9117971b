package io.vnrt.runtime.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.onnx.TensorProtos;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner's comparison rules, output lines, summary, and per-test timeout. */
class ConformanceRunnerTest {

    @Test
    void comparisonRules() {
        Tensor a = Tensor.ofFloats(new long[] {2}, 1.0f, Float.NaN);
        assertNull(TensorComparison.compare(a, Tensor.ofFloats(new long[] {2}, 1.0005f, Float.NaN)), "within rtol, NaN == NaN");
        String why = TensorComparison.compare(Tensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 4), Tensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 5));
        assertEquals("worst mismatch at [1, 1]: got 4.0, expected 5.0 (1 of 4 elements differ; shape [2, 2], float32)", why);
        assertTrue(TensorComparison.compare(Tensor.ofLongs(new long[] {1}, 1), Tensor.ofFloats(new long[] {1}, 1)).startsWith("dtype int64"));
        assertTrue(TensorComparison.compare(Tensor.ofLongs(new long[] {1}, 1), Tensor.ofLongs(new long[] {2}, 1, 1)).startsWith("shape [1]"));
        assertTrue(TensorComparison.compare(Tensor.ofLongs(new long[] {1}, 1L << 60), Tensor.ofLongs(new long[] {1}, (1L << 60) + 1)) != null,
                "integers compare exactly");
        assertTrue(TensorComparison.compare(Tensor.ofFloats(new long[] {1}, Float.POSITIVE_INFINITY), Tensor.ofFloats(new long[] {1}, Float.NEGATIVE_INFINITY)) != null);
    }

    private static ValueInfoProto info(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(1).setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2))))).build();
    }

    private static void writeTest(Path root, String name, String op, float[] in, float[] out) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve("test_data_set_0"));
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(GraphProto.newBuilder().addInput(info("x")).addOutput(info("y"))
                        .addNode(NodeProto.newBuilder().setOpType(op).addInput("x").addOutput("y"))).build();
        Files.write(root.resolve(name).resolve("model.onnx"), m.toByteArray());
        Files.write(dir.resolve("input_0.pb"), TensorProtos.encode("x", Tensor.ofFloats(new long[] {2}, in)).toByteArray());
        Files.write(dir.resolve("output_0.pb"), TensorProtos.encode("y", Tensor.ofFloats(new long[] {2}, out)).toByteArray());
    }

    private static Kernel negate(TensorType t, long sleepMillis) {
        return new Kernel() {
            public TensorType[] outputTypes() {
                return new TensorType[] {t};
            }

            public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
                if (sleepMillis > 0) {
                    try {
                        Thread.sleep(sleepMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                for (int i = 0; i < t.elementCount(); i++) {
                    out[0].setFloat(i, -in[0].getFloat(i));
                }
            }
        };
    }

    @Test
    void linesSummaryAndTimeout(@TempDir Path root) throws IOException {
        OpRegistry r = new OpRegistry();
        r.register("Neg", n -> negate(n.inputType(0), 0));
        r.register("Hang", n -> negate(n.inputType(0), 60_000));
        writeTest(root, "test_neg", "Neg", new float[] {1, -2}, new float[] {-1, 2});
        writeTest(root, "test_neg_wrong", "Neg", new float[] {1, -2}, new float[] {-1, 3});
        writeTest(root, "test_hang", "Hang", new float[] {1, -2}, new float[] {-1, 2});
        writeTest(root, "test_unknown", "Nope", new float[] {1, -2}, new float[] {-1, 2});
        List<Path> tests = ConformanceRunner.discover(List.of(root), null, null);
        assertEquals(4, tests.size());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true);
        ConformanceRunner runner = new ConformanceRunner(new Engine(r), 1, 1);
        long start = System.nanoTime();
        List<ConformanceRunner.Result> results = runner.run(tests, out);
        runner.close();
        ConformanceRunner.printSummary(results, out);
        assertTrue(System.nanoTime() - start < 20_000_000_000L, "the hanging test was cut off");
        String text = bytes.toString();
        assertTrue(text.contains("ERROR test_hang: timed out after 1 s"), text);
        assertTrue(text.contains("PASS test_neg\n"), text);
        assertTrue(text.contains("FAIL test_neg_wrong: output 'y' worst mismatch at [1]: got 2.0, expected 3.0"), text);
        assertTrue(text.contains("ERROR test_unknown: load failed: node 'Nope_0' (Nope, opset 13): unsupported operator Nope"), text);
        assertTrue(text.contains("Failures by operator:"), text);
        assertTrue(text.strip().endsWith("1 passed, 3 failed"), text);
    }
}
