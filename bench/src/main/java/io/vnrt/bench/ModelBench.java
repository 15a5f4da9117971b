package io.vnrt.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The engine against ONNX Runtime (Java API) on the benchmark models, in one run, with the same
 * thread count and the same inputs. Each case checks the outputs agree, warms both up, then
 * alternates rounds of vnrt and ORT executions and reports median latencies and the ratio
 * ORT latency / vnrt latency (above 1 means vnrt is faster); on one thread also the same ratio of
 * the calling thread's CPU time per call, which a loaded machine distorts less.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp bench/target/benchmarks.jar io.vnrt.bench.ModelBench [--models DIR] [--seconds S] [--threads 1,2]
 *   [--only NAME | --file MODEL.onnx [--dim NAME=VALUE ...]]</pre>
 */
public final class ModelBench {
    private record Case(String file, Map<String, Long> dims, double flops) {}

    public static void main(String[] args) throws Exception {
        Path models = Path.of(System.getProperty("vnrt.shared", "../shared"), "models");
        double seconds = 3;
        List<Integer> threadCounts = List.of(1, 2);
        String only = null;
        Path file = null;
        Map<String, Long> dims = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--models" -> models = Path.of(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--threads" -> threadCounts = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
                case "--only" -> only = args[++i];
                case "--file" -> file = Path.of(args[++i]);
                case "--dim" -> {
                    String[] kv = args[++i].split("=", 2);
                    if (kv.length != 2) {
                        throw new IllegalArgumentException("--dim expects NAME=VALUE, got " + args[i]);
                    }
                    dims.put(kv[0], Long.parseLong(kv[1]));
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --models DIR, --seconds S, --threads 1,2, --only NAME, --file MODEL.onnx,"
                        + " --dim NAME=VALUE)");
            }
        }
        List<Case> cases = file != null ? List.of(new Case(file.toAbsolutePath().toString(), dims, 0)) : List.of(
                new Case("matmul1024.onnx", Map.of(), 2.0 * 1024 * 1024 * 1024),
                new Case("mlp.onnx", Map.of("N", 1L), 0),
                new Case("mlp.onnx", Map.of("N", 64L), 0),
                new Case("encoder_layer.onnx", Map.of("B", 1L, "S", 128L), 0));
        System.out.println("vnrt GEMM: " + LinalgOps.gemmKernels());
        System.out.printf(Locale.ROOT, "%-28s %7s %12s %12s %10s %s%n", "model", "threads", "vnrt p50 ms", "ORT p50 ms",
                "ORT/vnrt", "notes");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(4L << 30))) {
            for (Case c : cases) {
                if (only != null && !c.file.contains(only)) {
                    continue;
                }
                for (int threads : threadCounts) {
                    run(env, pool, models.resolve(c.file), c, threads, seconds);
                }
            }
        }
    }

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private static void run(OrtEnvironment env, HbmPool pool, Path file, Case c, int threads, double seconds)
            throws Exception {
        try (CoreGroup group = new CoreGroup("bench", threads);
                LoadedModel model = new Engine().load(file, pool, group, "bench", "bench", 0, "bench");
                OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(threads);
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            try (OrtSession ort = env.createSession(file.toString(), so)) {
                Random rnd = new Random(42);
                Map<String, Tensor> inputs = new LinkedHashMap<>();
                Map<String, OnnxTensor> ortInputs = new LinkedHashMap<>();
                for (ValueInfo in : model.inputs()) {
                    long[] shape = in.dims().stream().mapToLong(d -> bind(d, c.dims)).toArray();
                    if (in.dtype() != DType.FLOAT32) {
                        throw new IllegalStateException("benchmark inputs must be float32: " + in);
                    }
                    Tensor t = Tensor.allocate(DType.FLOAT32, shape);
                    float[] values = new float[(int) t.elementCount()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = (float) rnd.nextGaussian();
                        t.setFloat(i, values[i]);
                    }
                    inputs.put(in.name(), t);
                    ortInputs.put(in.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape));
                }
                Map<String, Tensor> outputs = model.execute(inputs);
                String agreement = compare(outputs, ort, ortInputs);
                Runnable vnrtRun = () -> {
                    try {
                        model.execute(inputs, outputs);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                };
                Runnable ortRun = () -> {
                    try (OrtSession.Result r = ort.run(ortInputs)) {
                        r.get(0);
                    } catch (OrtException e) {
                        throw new IllegalStateException(e);
                    }
                };
                // Warm-up: C2 for our kernels, ORT's arena and thread pool for theirs.
                timeFor(vnrtRun, seconds / 2, new ArrayList<>(), new long[2]);
                timeFor(ortRun, seconds / 2, new ArrayList<>(), new long[2]);
                List<Long> ours = new ArrayList<>();
                List<Long> theirs = new ArrayList<>();
                long[] ourCpu = new long[2];
                long[] theirCpu = new long[2];
                for (int round = 0; round < 6; round++) {
                    timeFor(vnrtRun, seconds / 6, ours, ourCpu);
                    timeFor(ortRun, seconds / 6, theirs, theirCpu);
                }
                double p50 = median(ours) / 1e6;
                double ortP50 = median(theirs) / 1e6;
                String label = file.getFileName() + (c.dims.isEmpty() ? "" : " " + c.dims);
                String notes = agreement;
                if (c.flops > 0) {
                    notes += String.format(Locale.ROOT, "; vnrt %.0f GFLOP/s, ORT %.0f GFLOP/s", c.flops / p50 / 1e6,
                            c.flops / ortP50 / 1e6);
                }
                if (threads == 1) {
                    // On one thread both run on the calling thread, whose CPU time counts only while
                    // it has a core: on a loaded machine this ratio moves less than the latencies.
                    notes += String.format(Locale.ROOT, "; CPU time ORT/vnrt %.2f",
                            ((double) theirCpu[0] / theirCpu[1]) / ((double) ourCpu[0] / ourCpu[1]));
                }
                System.out.printf(Locale.ROOT, "%-28s %7d %12.3f %12.3f %10.2f %s%n", label, threads, p50, ortP50,
                        ortP50 / p50, notes);
                for (OnnxTensor t : ortInputs.values()) {
                    t.close();
                }
            }
        }
    }

    private static long bind(Dim d, Map<String, Long> dims) {
        if (d.isFixed()) {
            return d.value();
        }
        Long v = dims.get(d.symbol());
        if (v == null) {
            throw new IllegalArgumentException("no value for symbolic dim " + d.symbol());
        }
        return v;
    }

    private static String compare(Map<String, Tensor> ours, OrtSession ort, Map<String, OnnxTensor> inputs)
            throws OrtException {
        // Relative to each element, a sum of a thousand products that nearly cancels looks wrong
        // when it is not: the worst absolute difference is reported against the output's scale.
        double worstAbs = 0;
        double scale = 0;
        try (OrtSession.Result r = ort.run(inputs)) {
            for (var e : r) {
                Tensor t = ours.get(e.getKey());
                FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
                for (int i = 0; i < t.elementCount(); i++) {
                    float a = t.getFloat(i);
                    float b = fb.get(i);
                    worstAbs = Math.max(worstAbs, Math.abs(a - b));
                    scale = Math.max(scale, Math.abs(b));
                }
            }
        }
        return String.format(Locale.ROOT, "max |diff| %.1e of max |out| %.1e", worstAbs, scale);
    }

    /** Runs r for the given time, adding each call's latency to samples and the calling thread's CPU time and calls to cpu. */
    private static void timeFor(Runnable r, double seconds, List<Long> samples, long[] cpu) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int before = samples.size();
        long c0 = THREADS.getCurrentThreadCpuTime();
        do {
            long t0 = System.nanoTime();
            r.run();
            samples.add(System.nanoTime() - t0);
        } while (System.nanoTime() < end);
        cpu[0] += THREADS.getCurrentThreadCpuTime() - c0;
        cpu[1] += samples.size() - before;
    }

    private static double median(List<Long> samples) {
        long[] a = samples.stream().mapToLong(Long::longValue).sorted().toArray();
        return a[a.length / 2];
    }

    static {
        // ORT reads input buffers in native order; the engine's tensors are little-endian too.
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalStateException("benchmarks assume a little-endian machine");
        }
    }
}
