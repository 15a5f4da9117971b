package io.vnrt.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.exec.QuantizedModels;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The dynamically quantized BERT-base encoder (QuantizedModels.encoder, int8 per-tensor weights as
 * quantize_dynamic writes them, B=1, S=128) through vnrt and ONNX Runtime in one run at the same
 * thread count, and vnrt's int8 encoder against vnrt's float32 one (the same float weights).
 * Then the QDQ CNN (QuantizedModels.qdqCnn, its convolutions fused into vnrt's QDQ int8 kernel,
 * ORT's own QDQ fusion) at {@code --cnn} pixels square, batch 1, against ORT the same way.
 * Rounds alternate between the runtimes; figures are medians.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp bench/target/benchmarks.jar io.vnrt.bench.QuantBench [--layers 2] [--seq 128] [--seconds 4] [--threads 1,2]
 *   [--cnn 64]</pre>
 */
public final class QuantBench {
    private QuantBench() {}

    public static void main(String[] args) throws Exception {
        int layers = 2;
        long seq = 128;
        double seconds = 4;
        List<Integer> threads = List.of(1, 2);
        int cnn = 64;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Long.parseLong(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
                case "--cnn" -> cnn = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --layers N, --seq S, --seconds S, --threads 1,2, --cnn SIZE)");
            }
        }
        QuantizedModels.EncoderSpec spec = QuantizedModels.EncoderSpec.base(layers);
        byte[] int8 = QuantizedModels.encoder(spec, QuantizedModels.Weights.INT8_PER_TENSOR);
        byte[] fp32 = QuantizedModels.encoder(spec, QuantizedModels.Weights.FLOAT);
        long[] idv = new Random(42).longs(seq, 0, spec.vocab()).toArray();
        Tensor ids = Tensor.allocate(DType.INT64, 1, seq);
        for (int i = 0; i < seq; i++) {
            ids.setLong(i, idv[i]);
        }
        System.out.printf(Locale.ROOT, "encoder %d layers, hidden %d, B=1 S=%d%n", layers, spec.hidden(), seq);
        System.out.printf(Locale.ROOT, "%7s %14s %14s %14s %10s %12s %s%n", "threads", "vnrt int8 ms", "ORT int8 ms",
                "vnrt fp32 ms", "ORT/vnrt", "fp32/int8", "agreement");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(2L << 30))) {
            for (int t : threads) {
                try (CoreGroup group = new CoreGroup("qbench", t);
                        LoadedModel q = new Engine().load("q", int8, null, pool, group, "bench", "bench", 0, "q");
                        LoadedModel f = new Engine().load("f", fp32, null, pool, group, "bench", "bench", 0, "f");
                        OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                    so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    so.setIntraOpNumThreads(t);
                    so.setInterOpNumThreads(1);
                    // ORT's exact int8 products: without VNNI its default U8S8 kernel saturates
                    // (bench/README.md, QuantBench)
                    so.addConfigEntry("session.x64quantprecision", "1");
                    try (OrtSession ort = env.createSession(int8, so);
                            OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(idv), new long[] {1, seq})) {
                        Map<String, Tensor> inputs = Map.of("input_ids", ids);
                        Map<String, Tensor> qo = q.execute(inputs);
                        Map<String, Tensor> fo = f.execute(inputs);
                        double worst = 0;
                        try (OrtSession.Result r = ort.run(Map.of("input_ids", in))) {
                            FloatBuffer fb = ((OnnxTensor) r.get("y").orElseThrow()).getFloatBuffer();
                            Tensor y = qo.get("y");
                            for (int i = 0; i < y.elementCount(); i++) {
                                worst = Math.max(worst, Math.abs(y.getFloat(i) - fb.get(i)));
                            }
                        }
                        Runnable vq = () -> exec(q, inputs, qo);
                        Runnable vf = () -> exec(f, inputs, fo);
                        Runnable oq = () -> {
                            try (OrtSession.Result r = ort.run(Map.of("input_ids", in))) {
                                r.get(0);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        };
                        for (Runnable r : List.of(vq, oq, vf)) {
                            timeFor(r, seconds / 4, new ArrayList<>());
                        }
                        List<Long> a = new ArrayList<>();
                        List<Long> b = new ArrayList<>();
                        List<Long> c = new ArrayList<>();
                        for (int round = 0; round < 6; round++) {
                            timeFor(vq, seconds / 6, a);
                            timeFor(oq, seconds / 6, b);
                            timeFor(vf, seconds / 6, c);
                        }
                        double ms = median(a) / 1e6;
                        double ortMs = median(b) / 1e6;
                        double fMs = median(c) / 1e6;
                        System.out.printf(Locale.ROOT, "%7d %14.3f %14.3f %14.3f %10.2f %12.2f max |vnrt-ORT| %.1e%n", t, ms,
                                ortMs, fMs, ortMs / ms, fMs / ms, worst);
                    }
                }
            }
            if (cnn > 0) {
                qdqCnn(env, pool, cnn, seconds, threads);
            }
        }
    }

    /** The QDQ CNN, batch 1, vnrt (fused QDQ convolutions) against ORT at each thread count. */
    private static void qdqCnn(OrtEnvironment env, HbmPool pool, int size, double seconds, List<Integer> threads)
            throws Exception {
        byte[] model = QuantizedModels.qdqCnn(size, 10, 4);
        float[] xv = new float[3 * size * size];
        Random rnd = new Random(7);
        Tensor x = Tensor.allocate(DType.FLOAT32, 1, 3, size, size);
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) rnd.nextGaussian();
            x.setFloat(i, xv[i]);
        }
        System.out.printf(Locale.ROOT, "QDQ CNN, input 1x3x%dx%d%n", size, size);
        System.out.printf(Locale.ROOT, "%7s %14s %14s %10s %s%n", "threads", "vnrt ms", "ORT ms", "ORT/vnrt", "agreement");
        for (int t : threads) {
            try (CoreGroup group = new CoreGroup("qbench-cnn", t);
                    LoadedModel v = new Engine().load("cnn", model, null, pool, group, "bench", "bench", 0, "cnn");
                    OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                so.setIntraOpNumThreads(t);
                so.setInterOpNumThreads(1);
                so.addConfigEntry("session.x64quantprecision", "1");
                try (OrtSession ort = env.createSession(model, so);
                        OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(xv), new long[] {1, 3, size, size})) {
                    Map<String, Tensor> inputs = Map.of("x", x);
                    Map<String, Tensor> out = v.execute(inputs);
                    double worst = 0;
                    try (OrtSession.Result r = ort.run(Map.of("x", in))) {
                        FloatBuffer fb = ((OnnxTensor) r.get("y").orElseThrow()).getFloatBuffer();
                        Tensor y = out.get("y");
                        for (int i = 0; i < y.elementCount(); i++) {
                            worst = Math.max(worst, Math.abs(y.getFloat(i) - fb.get(i)));
                        }
                    }
                    Runnable vr = () -> exec(v, inputs, out);
                    Runnable or = () -> {
                        try (OrtSession.Result r = ort.run(Map.of("x", in))) {
                            r.get(0);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    };
                    timeFor(vr, seconds / 4, new ArrayList<>());
                    timeFor(or, seconds / 4, new ArrayList<>());
                    List<Long> a = new ArrayList<>();
                    List<Long> b = new ArrayList<>();
                    for (int round = 0; round < 6; round++) {
                        timeFor(vr, seconds / 6, a);
                        timeFor(or, seconds / 6, b);
                    }
                    double ms = median(a) / 1e6;
                    double ortMs = median(b) / 1e6;
                    System.out.printf(Locale.ROOT, "%7d %14.3f %14.3f %10.2f max |vnrt-ORT| %.1e%n", t, ms, ortMs, ortMs / ms,
                            worst);
                }
            }
        }
    }

    private static void exec(LoadedModel m, Map<String, Tensor> in, Map<String, Tensor> out) {
        try {
            m.execute(in, out);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void timeFor(Runnable r, double seconds, List<Long> samples) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        do {
            long t0 = System.nanoTime();
            r.run();
            samples.add(System.nanoTime() - t0);
        } while (System.nanoTime() < end);
    }

    private static double median(List<Long> samples) {
        long[] a = samples.stream().mapToLong(Long::longValue).sorted().toArray();
        return a[a.length / 2];
    }
}
