package io.vnrt.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.exec.LargeGraphs;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.EmbeddedRuntime;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Load time against node count: generated graphs of 10,000 to 100,000 nodes on [1, 8] tensors
 * (LargeGraphs: an elementwise chain, a MatMul-Add-Relu chain the optimizer fuses, and blocks of
 * wide fan-out and fan-in with an initializer per Mul) loaded through the daemon's LoadModel path in-process (parse, validation, shape inference,
 * optimizer, planning, compile and the default one-run warm-up), against ONNX Runtime creating a
 * session (ALL_OPT) from the same bytes in the same run. Each output is checked against the plain
 * float evaluation of the nodes. Printed per graph and size, medians over the rounds: the load as
 * the client saw it, the daemon's own load and warm-up times, the process's CPU time during the
 * load, ORT's session creation (wall and CPU), the ratio of the wall times and vnrt's time per node.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
 *   -cp bench/target/benchmarks.jar io.vnrt.bench.LoadBench [--rounds 3] [--sizes 10000,25000,50000,100000]
 *   [--graphs chain,linear,fan] [--no-ort] [--ort-up-to NODES]</pre>
 *
 * <p>ORT's session creation grows faster than linearly with these graphs (minutes at 50,000
 * nodes here); {@code --ort-up-to} leaves it out above a size.
 */
public final class LoadBench {
    private LoadBench() {}

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        List<Integer> sizes = List.of(10_000, 25_000, 50_000, 100_000);
        List<String> graphs = List.of("chain", "linear", "fan");
        boolean ort = true;
        int ortUpTo = Integer.MAX_VALUE;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--graphs" -> graphs = List.of(args[++i].split(","));
                case "--no-ort" -> ort = false;
                case "--ort-up-to" -> ortUpTo = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; expected --rounds N, --sizes A,B,..., --graphs chain,linear,fan, --no-ort or --ort-up-to NODES");
            }
        }
        Topology topology = Topology.of(Profile.CPU, Optional.of(1), Optional.empty(), Optional.of(1L << 30),
                Optional.empty());
        float[] x = {-1.5f, -0.25f, 0f, 0.5f, 1f, 2f, -3f, 4f};
        System.out.printf(Locale.ROOT, "%-6s %7s %9s %9s %9s %9s %9s %9s %7s %8s%n", "graph", "nodes", "vnrt ms",
                "(load)", "(warm-up)", "CPU ms", "ORT ms", "ORT CPU", "ratio", "us/node");
        try (EmbeddedRuntime embedded = EmbeddedRuntime.start(RuntimeConfig.defaults().withTopology(topology));
                Session session = embedded.client().openSession("load-bench");
                OrtEnvironment env = OrtEnvironment.getEnvironment()) {
            for (String graph : graphs) {
                for (int size : sizes) {
                    LargeGraphs.Generated g = switch (graph) {
                        case "chain" -> LargeGraphs.chain(size);
                        case "linear" -> LargeGraphs.linearChain(size);
                        case "fan" -> LargeGraphs.fanOutFanIn(size, 8, 16);
                        default -> throw new IllegalArgumentException("unknown graph " + graph + "; chain, linear or fan");
                    };
                    float[] expected = g.expected(x);
                    boolean withOrt = ort && size <= ortUpTo;
                    long[] total = new long[rounds];
                    long[] cpu = new long[rounds];
                    long[] load = new long[rounds];
                    long[] warm = new long[rounds];
                    long[] ortCreate = new long[rounds];
                    long[] ortCpu = new long[rounds];
                    for (int r = 0; r < rounds; r++) {
                        long c0 = processCpuNanos();
                        long t0 = System.nanoTime();
                        try (Model m = session.loadModel(g.model(), LoadOptions.defaults().withName(graph + size))) {
                            total[r] = System.nanoTime() - t0;
                            cpu[r] = processCpuNanos() - c0;
                            ModelDescription d = m.describe();
                            load[r] = d.loadTime().toNanos();
                            warm[r] = d.warmupTime().toNanos();
                            float[] y = m.execute(Map.of("x", HostTensor.ofFloats(new long[] {1, 8}, x))).get("y").floats();
                            check("vnrt", graph, size, expected, y);
                            m.unload();
                        }
                        if (withOrt) {
                            long c1 = processCpuNanos();
                            ortCreate[r] = ortLoad(env, g.model(), x, expected, graph, size);
                            ortCpu[r] = processCpuNanos() - c1;
                        }
                    }
                    double v = median(total);
                    double o = withOrt ? median(ortCreate) : Double.NaN;
                    System.out.printf(Locale.ROOT, "%-6s %7d %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %7.2f %8.1f%n", graph,
                            g.nodes(), v / 1e6, median(load) / 1e6, median(warm) / 1e6, median(cpu) / 1e6, o / 1e6,
                            withOrt ? median(ortCpu) / 1e6 : Double.NaN, v / o, v / 1e3 / g.nodes());
                }
            }
        }
    }

    private static long ortLoad(OrtEnvironment env, byte[] model, float[] x, float[] expected, String graph, int size)
            throws Exception {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(1);
            long t0 = System.nanoTime();
            try (OrtSession s = env.createSession(model, so)) {
                long created = System.nanoTime() - t0;
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 8});
                        OrtSession.Result out = s.run(Map.of("x", in))) {
                    FloatBuffer fb = ((OnnxTensor) out.get(0)).getFloatBuffer();
                    float[] y = new float[fb.remaining()];
                    fb.get(y);
                    check("ORT", graph, size, expected, y);
                }
                return created;
            }
        }
    }

    private static void check(String who, String graph, int size, float[] expected, float[] y) {
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(y[i] - expected[i]) > 1e-3f * Math.max(1f, Math.abs(expected[i]))) {
                throw new IllegalStateException(who + ": " + graph + " of " + size + " nodes computed "
                        + Arrays.toString(y) + ", the nodes evaluated in order give " + Arrays.toString(expected));
            }
        }
    }

    /** CPU time of the whole process (every thread, GC and JIT included): a loaded machine stretches wall time only. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }
}
