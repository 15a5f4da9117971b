package io.vnrt.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.vnrt.client.DType;
import io.vnrt.client.ExecutionRequest;
import io.vnrt.client.ExecutionResult;
import io.vnrt.client.HostTensor;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The first execution of a just-loaded model on a fresh daemon, against ONNX Runtime's first run
 * after creating its session, each in a fresh process every time.
 *
 * <p>For each model and round the harness starts two child JVMs, in alternating order: one starts
 * a daemon with {@code bin/vnrt daemon} (a real process with the launcher's JVM flags), leaves it
 * idle for {@code --idle} seconds, then connects the SDK, loads the model and times the first
 * Execute (and a few after it); the other creates an ORT session (ALL_OPT, intra-op threads as
 * the core group, sequential) and times its first run. Both get the same seeded Gaussian inputs
 * and their outputs are compared. Printed: per model the median and range over the rounds of the
 * load time, the first execution (as the client saw it, and the daemon's queue + compute time of
 * it) and ORT's session creation and first run, with the ratio of the first executions.
 *
 * <p>{@code --compare-no-aot-cache} also starts, each round, a daemon without the JVM's AOT cache
 * ({@code VNRT_AOT_CACHE=off}), so the cache's effect is measured in the same run: bin/vnrt uses
 * its cache when there is one ({@code bin/vnrt aot-cache} makes it).
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp bench/target/benchmarks.jar io.vnrt.bench.FirstExecutionBench [--rounds 3] [--idle 5] [--threads 2]
 *   [--only NAME] [--vnrt bin/vnrt] [--work bench/target/first-execution] [--daemon-arg ARG ...]
 *   [--compare-no-aot-cache]</pre>
 */
public final class FirstExecutionBench {
    private static final Pattern LISTENING = Pattern.compile("daemon listening on ([^ ,]+)");
    private static final Pattern FIELD = Pattern.compile("(\\w+)=(\\S+)");
    /** Debian's python3, where its python3-grpcio is, unless VNRT_PYTHON names another. */
    private static final String PYTHON = System.getenv().getOrDefault("VNRT_PYTHON",
            Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3");
    private static final Path PYTHON_CLIENT = Path.of("bench/python/first_execute.py").toAbsolutePath();

    /** A model and the values of its symbolic dims. */
    private record Case(String label, Path file, Map<String, Long> dims) {}

    /** One child's figures, by name (milliseconds, or an output checksum). */
    private record Figures(Map<String, String> values) {
        double ms(String key) {
            return Double.parseDouble(values.get(key));
        }
    }

    private FirstExecutionBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(args);
            return;
        }
        int rounds = 3;
        int idle = 5;
        int threads = 2;
        String only = null;
        Path vnrt = Path.of("bin/vnrt");
        Path work = Path.of("bench/target/first-execution");
        Path models = Path.of(System.getProperty("vnrt.shared", "../shared"), "models");
        List<String> daemonArgs = new ArrayList<>();
        boolean compareNoCache = false;
        String clients = "both";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--idle" -> idle = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--only" -> only = args[++i];
                case "--vnrt" -> vnrt = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--models" -> models = Path.of(args[++i]);
                case "--daemon-arg" -> daemonArgs.add(args[++i]);
                case "--compare-no-aot-cache" -> compareNoCache = true;
                case "--client" -> clients = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (expected --rounds N,"
                        + " --idle SECONDS, --threads N, --only NAME, --vnrt PATH, --work DIR, --models DIR,"
                        + " --daemon-arg ARG, --compare-no-aot-cache, --client java|python|both)");
            }
        }
        if (!List.of("java", "python", "both").contains(clients)) {
            throw new IllegalArgumentException("--client takes java, python or both, not " + clients);
        }
        Path pythonStubs = null;
        if (!clients.equals("java")) {
            pythonStubs = pythonStubs(work, clients.equals("python"));
            if (pythonStubs == null) {
                clients = "java";
            }
        }
        boolean javaClient = !clients.equals("python");
        Path resnet = work.resolve("resnet50.onnx");
        if (!Files.isRegularFile(resnet)) {
            System.out.println("writing " + resnet + " (ResNet-50, random weights)");
            ResNetModel.write(resnet);
        }
        List<Case> cases = List.of(
                new Case("mlp N=64", models.resolve("mlp.onnx"), Map.of("N", 64L)),
                new Case("encoder_layer B=1 S=128", models.resolve("encoder_layer.onnx"), Map.of("B", 1L, "S", 128L)),
                new Case("resnet50 1x3x224x224", resnet, Map.of()));
        System.out.printf("%s; %s; %s; %d rounds, %d s idle, %d threads; clients: %s%n", cpu(), LocalDate.now(), load(),
                rounds, idle, threads, clients.equals("both") ? "the Java SDK and Python grpcio" : clients.equals("java")
                        ? "the Java SDK" : "Python grpcio");
        Map<Case, List<Figures>> ours = new LinkedHashMap<>();
        Map<Case, List<Figures>> theirs = new LinkedHashMap<>();
        Map<Case, List<Figures>> uncached = new LinkedHashMap<>();
        Map<Case, List<Figures>> python = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++) {
            for (Case c : cases) {
                if (only != null && !c.label.contains(only)) {
                    continue;
                }
                List<String> common = new ArrayList<>(List.of(c.file.toAbsolutePath().toString(),
                        String.valueOf(threads), dimsArg(c.dims)));
                List<String> vnrtArgs = new ArrayList<>(List.of("vnrt", vnrt.toAbsolutePath().toString(),
                        String.valueOf(idle)));
                vnrtArgs.addAll(common);
                vnrtArgs.addAll(daemonArgs);
                List<String> ortArgs = new ArrayList<>(List.of("ort"));
                ortArgs.addAll(common);
                List<List<String>> children = new ArrayList<>();
                List<Map<Case, List<Figures>>> into = new ArrayList<>();
                children.add(ortArgs);
                into.add(theirs);
                if (javaClient) {
                    children.add(vnrtArgs);
                    into.add(ours);
                }
                if (pythonStubs != null) {
                    List<String> pyArgs = new ArrayList<>(vnrtArgs);
                    pyArgs.set(0, "vnrt-python:" + pythonStubs.toAbsolutePath());
                    children.add(pyArgs);
                    into.add(python);
                }
                // rotate which runtime goes first, so none always meets the caches the others left
                for (int k = 0; k < children.size(); k++) {
                    int which = (k + round) % children.size();
                    into.get(which).computeIfAbsent(c, x -> new ArrayList<>()).add(spawn(children.get(which),
                            Map.of()));
                }
                if (compareNoCache) {
                    Figures u = spawn(vnrtArgs, Map.of("VNRT_AOT_CACHE", "off"));
                    uncached.computeIfAbsent(c, k -> new ArrayList<>()).add(u);
                    System.out.printf(Locale.ROOT, "  round %d %-26s without the AOT cache: vnrt load %8.1f ms "
                            + "(warm-up %.1f), first %8.2f ms (daemon %.2f), next %.2f, p50 of 20 %.2f%n", round + 1,
                            c.label, u.ms("load_ms"), u.ms("warmup_ms"), u.ms("first_ms"), u.ms("first_daemon_ms"),
                            u.ms("second_ms"), u.ms("p50_ms"));
                }
                Figures o = theirs.get(c).getLast();
                for (Map<Case, List<Figures>> client : List.of(ours, python)) {
                    if (!client.containsKey(c)) {
                        continue;
                    }
                    Figures v = client.get(c).getLast();
                    System.out.printf(Locale.ROOT, "  round %d %-26s %-6s vnrt load %8.1f ms (warm-up %.1f), first "
                            + "%8.2f ms (daemon %.2f), next %.2f, p50 of 20 %.2f | ORT session %8.1f ms, first %8.2f "
                            + "ms, next %.2f | %s%n", round + 1, c.label, client == ours ? "Java" : "Python",
                            v.ms("load_ms"), v.ms("warmup_ms"), v.ms("first_ms"), v.ms("first_daemon_ms"),
                            v.ms("second_ms"), v.ms("p50_ms"), o.ms("session_ms"), o.ms("first_ms"), o.ms("second_ms"),
                            agreement(v, o));
                }
            }
        }
        if (!ours.isEmpty()) {
            table("the Java SDK, a fresh JVM", ours, theirs);
        }
        if (!python.isEmpty()) {
            table("Python grpcio, a fresh python3", python, theirs);
        }
        if (compareNoCache) {
            System.out.println();
            System.out.println("| model, without the AOT cache | vnrt load | vnrt first Execute (daemon's part) "
                    + "| vnrt first / ORT first |");
            System.out.println("|---|---|---|---|");
            for (Case c : uncached.keySet()) {
                List<Figures> u = uncached.get(c);
                List<Figures> o = theirs.get(c);
                double[] ratios = new double[u.size()];
                for (int i = 0; i < u.size(); i++) {
                    ratios[i] = u.get(i).ms("first_ms") / o.get(i).ms("first_ms");
                }
                System.out.printf(Locale.ROOT, "| %s | %s ms | %s ms (%s ms) | %s |%n", c.label, range(u, "load_ms"),
                        range(u, "first_ms"), range(u, "first_daemon_ms"), range(ratios, "%.2f"));
            }
        }
    }

    /** The summary table of one client against ORT: medians and ranges over the rounds. */
    private static void table(String client, Map<Case, List<Figures>> ours, Map<Case, List<Figures>> theirs) {
        System.out.println();
        System.out.println("vnrt through " + client + ":");
        System.out.println("| model | vnrt load | vnrt first Execute (daemon's part) | ORT session | ORT first run "
                + "| vnrt first / ORT first |");
        System.out.println("|---|---|---|---|---|---|");
        for (Case c : ours.keySet()) {
            List<Figures> v = ours.get(c);
            List<Figures> o = theirs.get(c);
            double[] ratios = new double[v.size()];
            for (int i = 0; i < v.size(); i++) {
                ratios[i] = v.get(i).ms("first_ms") / o.get(i).ms("first_ms");
            }
            System.out.printf(Locale.ROOT, "| %s | %s ms | %s ms (%s ms) | %s ms | %s ms | %s |%n", c.label,
                    range(v, "load_ms"), range(v, "first_ms"), range(v, "first_daemon_ms"), range(o, "session_ms"),
                    range(o, "first_ms"), range(ratios, "%.2f"));
        }
    }

    /**
     * Generates the Python message classes from proto/ into the work directory with protoc, for the
     * Python client; null (with a line saying why) where python3 with grpcio or protoc is missing, an
     * error when the Python client was asked for alone.
     */
    private static Path pythonStubs(Path work, boolean required) throws IOException, InterruptedException {
        Path protos = Path.of("proto/src/main/proto");
        Path script = Path.of("bench/python/first_execute.py");
        String missing = null;
        if (!Files.isDirectory(protos) || !Files.isRegularFile(script)) {
            missing = "run from the repository's root (proto/ and bench/python/ are read from there)";
        } else if (run(List.of(PYTHON, "-c", "import grpc, google.protobuf"), null) != 0) {
            missing = PYTHON + " with grpcio and protobuf (apt-get install python3-grpcio python3-protobuf)";
        }
        Path out = work.resolve("python-stubs");
        if (missing == null) {
            Files.createDirectories(out);
            List<String> cmd = new ArrayList<>(List.of("protoc", "--python_out=" + out.toAbsolutePath()));
            try (var files = Files.list(protos.resolve("vnrt/v1"))) {
                files.filter(f -> f.toString().endsWith(".proto")).sorted()
                        .forEach(f -> cmd.add(protos.relativize(f).toString()));
            }
            if (run(cmd, protos) != 0) {
                missing = "protoc (apt-get install protobuf-compiler)";
            }
        }
        if (missing != null) {
            if (required) {
                throw new IllegalStateException("--client python needs " + missing);
            }
            System.out.println("no Python client: it needs " + missing);
            return null;
        }
        for (Path d : List.of(out.resolve("vnrt"), out.resolve("vnrt/v1"))) {
            if (!Files.exists(d.resolve("__init__.py"))) {
                Files.createFile(d.resolve("__init__.py"));
            }
        }
        return out;
    }

    private static int run(List<String> cmd, Path dir) throws InterruptedException {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            return pb.start().waitFor();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String dimsArg(Map<String, Long> dims) {
        StringBuilder b = new StringBuilder();
        dims.forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return b.isEmpty() ? "-" : b.toString();
    }

    private static Map<String, Long> parseDims(String text) {
        Map<String, Long> dims = new LinkedHashMap<>();
        if (!text.equals("-")) {
            for (String kv : text.split(",")) {
                String[] p = kv.split("=", 2);
                dims.put(p[0], Long.parseLong(p[1]));
            }
        }
        return dims;
    }

    /** Runs a child JVM with this class path and the launcher's flags; its RESULT line is the figures. */
    private static Figures spawn(List<String> childArgs, Map<String, String> env)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx2g", "-cp",
                System.getProperty("java.class.path"), FirstExecutionBench.class.getName(), "--child"));
        cmd.addAll(childArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        Figures result = null;
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.startsWith("RESULT ")) {
                    Map<String, String> values = new LinkedHashMap<>();
                    Matcher m = FIELD.matcher(line);
                    while (m.find()) {
                        values.put(m.group(1), m.group(2));
                    }
                    result = new Figures(values);
                } else {
                    lines.add(line);
                }
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || result == null) {
            p.destroyForcibly();
            throw new IllegalStateException("child " + childArgs + " failed:\n" + String.join("\n", lines));
        }
        for (String line : lines) {
            if (line.startsWith("daemon: ")) {
                System.out.println("    " + line);
            }
        }
        return result;
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString());
    }

    private static void child(String[] args) throws Exception {
        switch (args[1]) {
            case "vnrt" -> vnrtChild(Path.of(args[2]), Integer.parseInt(args[3]), Path.of(args[4]),
                    Integer.parseInt(args[5]), parseDims(args[6]), Arrays.asList(args).subList(7, args.length));
            case "ort" -> ortChild(Path.of(args[2]), Integer.parseInt(args[3]), parseDims(args[4]));
            case String s when s.startsWith("vnrt-python:") -> pythonChild(Path.of(s.substring("vnrt-python:".length())),
                    Path.of(args[2]), Integer.parseInt(args[3]), Path.of(args[4]), Integer.parseInt(args[5]), args[6],
                    Arrays.asList(args).subList(7, args.length));
            default -> throw new IllegalArgumentException("unknown child " + args[1]);
        }
    }

    /** A daemon started by {@code bin/vnrt daemon} on a free port, its output collected; closing stops it. */
    private record Daemon(Process process, String target, List<String> output, Thread drain) implements AutoCloseable {
        static Daemon start(Path launcher, List<String> daemonArgs) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "daemon", "--listen", "127.0.0.1:0"));
            cmd.addAll(daemonArgs);
            Process daemon = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            List<String> output = new CopyOnWriteArrayList<>();
            String target = null;
            BufferedReader r = new BufferedReader(new InputStreamReader(daemon.getInputStream(),
                    StandardCharsets.UTF_8));
            while (target == null) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                output.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    target = m.group(1);
                }
            }
            if (target == null) {
                daemon.destroyForcibly();
                throw new IllegalStateException("the daemon did not start:\n" + String.join("\n", output));
            }
            Thread drain = Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        output.add(line);
                    }
                } catch (IOException e) {
                    output.add("(daemon output ended: " + e + ")");
                }
            });
            return new Daemon(daemon, target, output, drain);
        }

        /** Passes the daemon's output on to the parent, which shows it. */
        void printOutput() {
            for (String line : output) {
                System.out.println("daemon: " + line);
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            drain.join(1000);
        }
    }

    private static void vnrtChild(Path launcher, int idleSeconds, Path file, int threads, Map<String, Long> dims,
            List<String> daemonArgs) throws Exception {
        try (Daemon daemon = Daemon.start(launcher, daemonArgs)) {
            Thread.sleep(Duration.ofSeconds(idleSeconds));
            try (VnrtClient client = VnrtClient.connect(daemon.target());
                    Session session = client.openSession("first-execution-bench")) {
                long t0 = System.nanoTime();
                Model model = session.loadModel(file, LoadOptions.defaults().onAnyCores(threads)
                        .withWarmup(0, Duration.ZERO, dims));
                double loadMs = (System.nanoTime() - t0) / 1e6;
                ModelDescription d = model.description();
                Map<String, HostTensor> inputs = new LinkedHashMap<>();
                Random rnd = new Random(42);
                for (ModelDescription.Port p : d.inputs()) {
                    long[] shape = p.shape().stream().mapToLong(x -> x.isFixed() ? x.size() : dims.get(x.symbol()))
                            .toArray();
                    inputs.put(p.name(), HostTensor.ofFloats(shape, gaussians(rnd, shape)));
                }
                ExecutionRequest request = ExecutionRequest.of(inputs);
                long t1 = System.nanoTime();
                ExecutionResult first = model.execute(request);
                double firstMs = (System.nanoTime() - t1) / 1e6;
                long t2 = System.nanoTime();
                model.execute(request);
                double secondMs = (System.nanoTime() - t2) / 1e6;
                double[] next = new double[20];
                for (int i = 0; i < next.length; i++) {
                    long s = System.nanoTime();
                    model.execute(request);
                    next[i] = (System.nanoTime() - s) / 1e6;
                }
                Arrays.sort(next);
                FloatBuffer out = first.outputs().values().iterator().next().byteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer();
                daemon.printOutput();
                System.out.printf(Locale.ROOT, "RESULT load_ms=%.3f daemon_load_ms=%.3f warmup_ms=%.3f first_ms=%.3f "
                        + "first_daemon_ms=%.3f second_ms=%.3f p50_ms=%.3f %s%n", loadMs, d.loadTime().toNanos() / 1e6,
                        d.warmupTime().toNanos() / 1e6, firstMs,
                        (first.queueTime().toNanos() + first.computeTime().toNanos()) / 1e6, secondMs, next[10],
                        checksum(out));
                model.close();
            }
        }
    }

    /**
     * The same as {@link #vnrtChild} with the Python client (bench/python/first_execute.py, grpcio)
     * in its own fresh process: started at once, it imports its modules and then waits for the end
     * of the daemon's idle time before it connects.
     */
    private static void pythonChild(Path stubs, Path launcher, int idleSeconds, Path file, int threads, String dims,
            List<String> daemonArgs) throws Exception {
        try (Daemon daemon = Daemon.start(launcher, daemonArgs)) {
            double startAt = System.currentTimeMillis() / 1000.0 + idleSeconds;
            ProcessBuilder pb = new ProcessBuilder(PYTHON, PYTHON_CLIENT.toString(), "--target", daemon.target(),
                    "--model", file.toString(), "--cores", String.valueOf(threads), "--dims", dims, "--start-at",
                    String.format(Locale.ROOT, "%.3f", startAt)).redirectErrorStream(true);
            pb.environment().put("PYTHONPATH", stubs.toString());
            Process p = pb.start();
            List<String> lines = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    lines.add(line);
                }
            }
            if (p.waitFor() != 0 || lines.stream().noneMatch(l -> l.startsWith("RESULT "))) {
                throw new IllegalStateException("the Python client failed:\n" + String.join("\n", lines));
            }
            daemon.printOutput();
            lines.stream().filter(l -> l.startsWith("RESULT ")).forEach(System.out::println);
        }
    }

    private static void ortChild(Path file, int threads, Map<String, Long> dims) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(threads);
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            long t0 = System.nanoTime();
            try (OrtSession session = env.createSession(file.toString(), so)) {
                double sessionMs = (System.nanoTime() - t0) / 1e6;
                Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
                Random rnd = new Random(42);
                for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                    TensorInfo info = (TensorInfo) e.getValue().getInfo();
                    long[] shape = info.getShape().clone();
                    String[] names = info.getDimensionNames();
                    for (int i = 0; i < shape.length; i++) {
                        if (shape[i] < 0) {
                            shape[i] = dims.get(names[i]);
                        }
                    }
                    inputs.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(gaussians(rnd, shape)), shape));
                }
                long t1 = System.nanoTime();
                String sum;
                try (OrtSession.Result result = session.run(inputs)) {
                    double firstMs = (System.nanoTime() - t1) / 1e6;
                    sum = checksum(((OnnxTensor) result.get(0)).getFloatBuffer());
                    long t2 = System.nanoTime();
                    session.run(inputs).close();
                    double secondMs = (System.nanoTime() - t2) / 1e6;
                    System.out.printf(Locale.ROOT, "RESULT session_ms=%.3f first_ms=%.3f second_ms=%.3f %s%n", sessionMs,
                            firstMs, secondMs, sum);
                }
                inputs.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static float[] gaussians(Random rnd, long[] shape) {
        float[] v = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    /** The sum and the sum of magnitudes of an output: enough to see that both runtimes computed the same. */
    private static String checksum(FloatBuffer out) {
        double sum = 0;
        double abs = 0;
        for (int i = out.position(); i < out.limit(); i++) {
            sum += out.get(i);
            abs += Math.abs(out.get(i));
        }
        return String.format(Locale.ROOT, "sum=%.6e abs=%.6e", sum, abs);
    }

    private static String agreement(Figures v, Figures o) {
        double diff = Math.abs(v.ms("sum") - o.ms("sum")) / Math.max(1e-30, o.ms("abs"));
        return String.format(Locale.ROOT, "outputs %s (|sum diff| / sum|y| = %.1e)", diff < 1e-3 ? "agree" : "DIFFER",
                diff);
    }

    private static String range(List<Figures> figures, String key) {
        return range(figures.stream().mapToDouble(f -> f.ms(key)).toArray(), key.endsWith("ms") ? "%.1f" : "%.2f");
    }

    /** "median (min–max)" of the rounds. */
    private static String range(double[] values, String format) {
        double[] s = values.clone();
        Arrays.sort(s);
        String median = String.format(Locale.ROOT, format, s[s.length / 2]);
        return s.length == 1 ? median : median + " (" + String.format(Locale.ROOT, format, s[0]) + "–"
                + String.format(Locale.ROOT, format, s[s.length - 1]) + ")";
    }

    private static String cpu() {
        try {
            String model = "unknown CPU";
            boolean avx512 = false;
            boolean avx2 = false;
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && model.equals("unknown CPU")) {
                    model = line.substring(line.indexOf(':') + 1).strip();
                } else if (line.startsWith("flags")) {
                    avx512 |= line.contains(" avx512f");
                    avx2 |= line.contains(" avx2");
                }
            }
            return model + " (" + (avx512 ? "AVX-512" : avx2 ? "AVX2" : "no AVX2") + ", "
                    + Runtime.getRuntime().availableProcessors() + " CPUs)";
        } catch (IOException e) {
            return "unknown CPU";
        }
    }

    private static String load() {
        try {
            return "load average " + Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "load average unknown";
        }
    }

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalStateException("benchmarks assume a little-endian machine");
        }
    }
}
