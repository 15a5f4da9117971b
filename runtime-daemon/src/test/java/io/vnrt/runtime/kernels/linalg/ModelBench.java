package io.vnrt.runtime.kernels.linalg;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.HostMemory;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Hand-run model latency probe (not a test): vnrt and ONNX Runtime on the same model, inputs and
 * thread count, runs interleaved so both see the same machine load; prints medians and ORT/vnrt.
 * Args: threads model.onnx iterations [NAME=VALUE ...].
 */
public final class ModelBench {
    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        Path model = Path.of(args[1]);
        int iters = Integer.parseInt(args[2]);
        Map<String, Long> dims = new HashMap<>();
        for (int i = 3; i < args.length; i++) {
            String[] kv = args[i].split("=");
            dims.put(kv[0], Long.parseLong(kv[1]));
        }
        Random r = new Random(1);
        try (CoreGroup group = new CoreGroup("bench", threads);
                LoadedModel m = new Engine().load(model, new HostMemory(), group)) {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession s = env.createSession(model.toString(), opts)) {
                Map<String, Tensor> ins = new HashMap<>();
                Map<String, OnnxTensor> ortIns = new HashMap<>();
                for (ValueInfo v : m.inputs()) {
                    long[] shape = v.dims().stream().mapToLong(d -> d.isFixed() ? d.value() : dims.get(d.symbol())).toArray();
                    Tensor t = Tensor.allocate(DType.FLOAT32, shape);
                    for (long i = 0; i < t.elementCount(); i++) {
                        t.setFloat(i, (float) r.nextGaussian());
                    }
                    ins.put(v.name(), t);
                    ortIns.put(v.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), shape));
                }
                var plan = m.plan(ins.values().stream().map(Tensor::type).toList());
                for (var st : plan.steps()) {
                    System.out.println("  step " + st.node().opType() + " -> " + st.kernel().getClass().getSimpleName()
                            + (st.skip() ? " (skipped)" : ""));
                }
                long[] ours = new long[iters];
                long[] theirs = new long[iters];
                for (int w = 0; w < Math.max(20, iters / 5); w++) {
                    m.execute(ins);
                    s.run(ortIns).close();
                }
                for (int i = 0; i < iters; i++) {
                    long t0 = System.nanoTime();
                    m.execute(ins);
                    long t1 = System.nanoTime();
                    s.run(ortIns).close();
                    long t2 = System.nanoTime();
                    ours[i] = t1 - t0;
                    theirs[i] = t2 - t1;
                }
                Arrays.sort(ours);
                Arrays.sort(theirs);
                double a = ours[iters / 2] / 1e3;
                double b = theirs[iters / 2] / 1e3;
                System.out.printf("%s threads=%d %s: vnrt p50 %.1f us, ORT p50 %.1f us, ORT/vnrt %.2f%n",
                        model.getFileName(), threads, dims, a, b, b / a);
            }
        }
    }
}
