package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared benchmark models run through the engine (weights and scratch in an HBM pool, 2 cores)
 * and through ONNX Runtime on the same random inputs (fixed seed): outputs agree within
 * rtol 1e-3 / atol 1e-4. Symbolic dims are bound small (batch 3, sequence 16) to keep it fast.
 */
class OrtDifferentialTest {
    private static final Map<String, Long> DIMS = Map.of("N", 3L, "B", 1L, "S", 16L);

    @TestFactory
    Stream<DynamicTest> sharedModelsMatchOnnxRuntime() throws Exception {
        Path models = Path.of(System.getProperty("vnrt.shared", "../shared"), "models");
        Assumptions.assumeTrue(Files.isDirectory(models), "no models at " + models.toAbsolutePath() + "; skipping");
        List<Path> files;
        try (Stream<Path> s = Files.list(models)) {
            files = s.filter(p -> p.toString().endsWith(".onnx")).sorted().toList();
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> compare(f)));
    }

    private static void compare(Path model) throws Exception {
        try (CoreGroup group = new CoreGroup("ort-diff", 2);
                HbmPool pool = new HbmPool(0, HbmBacking.anonymous(512L << 20))) {
            Engine engine = new Engine();
            Map<String, Tensor> inputs = new HashMap<>();
            Map<String, Tensor> ours;
            try (LoadedModel m = engine.load(model, pool, group, "test", null, 0, "diff")) {
                Random r = new Random(42);
                for (ValueInfo v : m.inputs()) {
                    assertEquals(DType.FLOAT32, v.dtype(), "the shared models take float32 inputs");
                    long[] shape = v.dims().stream().mapToLong(d -> d.isFixed() ? d.value() : bind(d)).toArray();
                    Tensor t = Tensor.allocate(DType.FLOAT32, shape);
                    for (long i = 0; i < t.elementCount(); i++) {
                        t.setFloat(i, (float) r.nextGaussian());
                    }
                    inputs.put(v.name(), t);
                }
                ours = m.execute(inputs);
            }
            assertEquals(0, pool.usedBytes(), "the model's HBM is freed on close");

            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setIntraOpNumThreads(1);
                try (OrtSession session = env.createSession(model.toString(), opts)) {
                    Map<String, OnnxTensor> ortIn = new HashMap<>();
                    for (var e : inputs.entrySet()) {
                        ortIn.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().toFloatArray()), e.getValue().shape()));
                    }
                    try (OrtSession.Result res = session.run(ortIn)) {
                        for (var e : ours.entrySet()) {
                            OnnxValue v = res.get(e.getKey()).orElseThrow();
                            OnnxTensor t = (OnnxTensor) v;
                            assertArrayEquals(t.getInfo().getShape(), e.getValue().shape(), "shape of " + e.getKey());
                            FloatBuffer expected = t.getFloatBuffer();
                            Tensor got = e.getValue();
                            for (int i = 0; i < got.elementCount(); i++) {
                                float a = got.getFloat(i);
                                float b = expected.get(i);
                                if (!(Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b))) {
                                    fail(model.getFileName() + " output '" + e.getKey() + "' element " + i + ": vnrt " + a + ", ORT " + b);
                                }
                            }
                        }
                    }
                    ortIn.values().forEach(OnnxTensor::close);
                }
            }
        }
    }

    private static long bind(Dim d) {
        Long v = DIMS.get(d.symbol());
        if (v == null) {
            throw new IllegalStateException("no binding for symbolic dim '" + d.symbol() + "'");
        }
        return v;
    }
}
