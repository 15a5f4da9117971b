package io.vnrt.runtime.conformance;

import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.exec.HostMemory;
import io.vnrt.runtime.exec.LoadedModel;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.TensorProtos;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs ONNX backend-format test directories (model.onnx + test_data_set_N/input_i.pb, output_i.pb)
 * through the engine and prints one line per test (PASS / FAIL with the worst mismatch / ERROR
 * with its reason), a per-operator failure summary, and last "N passed, N failed".
 */
public final class ConformanceRunner {
    /** Outcome of one test. */
    public enum Status { PASS, FAIL, ERROR }

    /** One test's result; {@code opTypes} are the operators its model uses. */
    public record Result(String test, Status status, String message, Set<String> opTypes) {
        /** The line the runner prints. */
        public String line() {
            return status == Status.PASS ? "PASS " + test : status + " " + test + ": " + message;
        }
    }

    private final Engine engine;
    private final int cores;
    private final long timeoutSeconds;
    private CoreGroup group;
    private ExecutorService runner;

    /** A runner with the standard operator registry. */
    public ConformanceRunner(int cores, long timeoutSeconds) {
        this(new Engine(), cores, timeoutSeconds);
    }

    public ConformanceRunner(Engine engine, int cores, long timeoutSeconds) {
        this.engine = engine;
        this.cores = cores;
        this.timeoutSeconds = timeoutSeconds;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * The command line ({@code DIR... [--list FILE] [--filter REGEX] [--cores N] [--timeout S]}):
     * prints the report to {@code out} and returns the exit code (0 all passed, 1 failures, 2 usage
     * or I/O error). {@code vnrt conformance} delegates here.
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<Path> dirs = new ArrayList<>();
        Path list = null;
        Pattern filter = null;
        int cores = 1;
        long timeout = 60;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--list" -> list = Path.of(need(args, ++i, a));
                    case "--filter" -> filter = regex(need(args, ++i, a));
                    case "--cores" -> cores = (int) atLeastOne(a, need(args, ++i, a), "cores");
                    case "--timeout" -> timeout = atLeastOne(a, need(args, ++i, a), "seconds");
                    case "-h", "--help" -> {
                        usage(out);
                        return 0;
                    }
                    default -> {
                        if (a.startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + a);
                        }
                        dirs.add(Path.of(a));
                    }
                }
            }
            if (dirs.isEmpty()) {
                throw new IllegalArgumentException("no test directory given");
            }
        } catch (IllegalArgumentException e) {
            err.println("vnrt conformance: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        try {
            List<Path> tests = discover(dirs, list == null ? null : readList(list), filter);
            ConformanceRunner r = new ConformanceRunner(cores, timeout);
            List<Result> results;
            try {
                results = r.run(tests, out);
            } finally {
                r.close();
            }
            printSummary(results, out);
            out.flush();
            return results.stream().allMatch(x -> x.status() == Status.PASS) ? 0 : 1;
        } catch (IOException e) {
            err.println("vnrt conformance: " + (e instanceof java.nio.file.NoSuchFileException f
                    ? "no such file or directory: " + f.getFile() : e.getMessage()));
            return 2;
        }
    }

    private static String need(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static final String USAGE =
            "usage: vnrt conformance DIR... [--list FILE] [--filter REGEX] [--cores N] [--timeout SECONDS]";

    private static void usage(PrintStream out) {
        out.println(USAGE);
        out.println("  DIR is a test directory (with model.onnx) or a directory of test directories.");
    }

    /** A whole number of at least 1 for {@code option}, or an error naming the option and the value. */
    private static long atLeastOne(String option, String text, String unit) {
        long n;
        try {
            n = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number of " + unit + ", got '" + text + "'");
        }
        if (n < 1 || (unit.equals("cores") && n > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException(option + " needs at least 1 " + unit.replaceFirst("s$", "") + ", got " + n);
        }
        return n;
    }

    private static Pattern regex(String text) {
        try {
            return Pattern.compile(text);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("--filter '" + text + "' is not a regular expression: "
                    + e.getDescription() + " near index " + e.getIndex());
        }
    }

    /** Test names in a list file: one per line; blank lines and '#' comments ignored; extra columns ignored. */
    public static List<String> readList(Path file) throws IOException {
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            names.add(t.split("\\s+")[0]);
        }
        return names;
    }

    /**
     * Test directories under {@code dirs}, sorted by name, restricted to {@code names} when given
     * (a listed name that is not found becomes a path that does not exist, reported as an error).
     */
    public static List<Path> discover(List<Path> dirs, List<String> names, Pattern filter) throws IOException {
        Map<String, Path> found = new TreeMap<>();
        for (Path d : dirs) {
            if (Files.isRegularFile(d.resolve("model.onnx"))) {
                found.put(d.getFileName().toString(), d);
            } else if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    s.filter(p -> Files.isRegularFile(p.resolve("model.onnx"))).forEach(p -> found.put(p.getFileName().toString(), p));
                }
            } else {
                throw new IOException("no such directory: " + d);
            }
        }
        List<Path> out = new ArrayList<>();
        if (names != null) {
            for (String n : names) {
                if (filter != null && !filter.matcher(n).find()) {
                    continue;
                }
                out.add(found.getOrDefault(n, dirs.get(0).resolve(n)));
            }
        } else {
            for (Map.Entry<String, Path> e : found.entrySet()) {
                if (filter == null || filter.matcher(e.getKey()).find()) {
                    out.add(e.getValue());
                }
            }
        }
        return out;
    }

    /** Runs the tests one after another, printing each line as it completes (out may be null). */
    public List<Result> run(List<Path> tests, PrintStream out) {
        List<Result> results = new ArrayList<>();
        for (Path t : tests) {
            Result r = runWithTimeout(t);
            results.add(r);
            if (out != null) {
                out.println(r.line());
                out.flush();
            }
        }
        return results;
    }

    private Result runWithTimeout(Path test) {
        String name = test.getFileName().toString();
        if (group == null) {
            group = new CoreGroup("conformance", cores);
            runner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("conformance-test").unstarted(r));
        }
        CoreGroup g = group;
        Future<Result> f = runner.submit(() -> runOne(test, g));
        try {
            return f.get(timeoutSeconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            // the stuck thread may hold the core group: abandon both and start fresh for the next test
            runner.shutdownNow();
            group.close();
            group = null;
            return new Result(name, Status.ERROR, "timed out after " + timeoutSeconds + " s", opTypes(test));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(name, Status.ERROR, "interrupted", opTypes(test));
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            return new Result(name, Status.ERROR, oneLine(String.valueOf(c)), opTypes(test));
        }
    }

    /** Loads and runs one test directory: every test_data_set_N in it. */
    Result runOne(Path test, CoreGroup g) {
        String name = test.getFileName().toString();
        Set<String> ops = opTypes(test);
        if (!Files.isRegularFile(test.resolve("model.onnx"))) {
            return new Result(name, Status.ERROR, "test not found (no " + test.resolve("model.onnx") + ")", ops);
        }
        HostMemory memory = new HostMemory();
        try (LoadedModel model = engine.load(test.resolve("model.onnx"), memory, g)) {
            List<Path> sets;
            try (Stream<Path> s = Files.list(test)) {
                sets = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_") && Files.isDirectory(p))
                        .sorted(Comparator.comparing(p -> index(p.getFileName().toString()))).toList();
            }
            if (sets.isEmpty()) {
                return new Result(name, Status.ERROR, "no test_data_set_N directory", ops);
            }
            for (Path set : sets) {
                Map<String, Tensor> inputs = readInputs(set, model);
                Map<String, Tensor> outputs = model.execute(inputs);
                String mismatch = compareOutputs(set, model, outputs);
                if (mismatch != null) {
                    String where = sets.size() > 1 ? " (" + set.getFileName() + ")" : "";
                    return new Result(name, Status.FAIL, mismatch + where, ops);
                }
            }
            return new Result(name, Status.PASS, null, ops);
        } catch (ModelLoadException e) {
            // blame the operators the problems name (an unsupported op), not every op of the model
            Set<String> blamed = new LinkedHashSet<>();
            e.problems().forEach(p -> {
                if (p.opType() != null) {
                    blamed.add(p.opType());
                }
            });
            return new Result(name, Status.ERROR, "load failed: " + oneLine(e.getMessage()), blamed.isEmpty() ? ops : blamed);
        } catch (Exception | Error e) {
            String msg = e.getMessage() == null ? e.toString() : e.getClass().getSimpleName() + ": " + e.getMessage();
            return new Result(name, Status.ERROR, oneLine(msg), ops);
        }
    }

    private static Map<String, Tensor> readInputs(Path set, LoadedModel model) throws IOException {
        List<ValueInfo> declared = model.inputs();
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        List<Path> files = numbered(set, "input_");
        for (Path file : files) {
            // input_N.pb feeds the N-th graph input unless the tensor names its input
            int i = index(file.getFileName().toString());
            TensorProto p = TensorProtos.read(file);
            String n = p.getName();
            if (n.isEmpty() || declared.stream().noneMatch(v -> v.name().equals(n))) {
                if (i >= declared.size()) {
                    throw new IOException(file.getFileName() + " has no matching model input (the model has "
                            + declared.size() + ")");
                }
                inputs.put(declared.get(i).name(), TensorProtos.decode(p, null));
            } else {
                inputs.put(n, TensorProtos.decode(p, null));
            }
        }
        return inputs;
    }

    private static String compareOutputs(Path set, LoadedModel model, Map<String, Tensor> actual) throws IOException {
        List<ValueInfo> declared = model.outputs();
        List<Path> files = numbered(set, "output_");
        for (Path file : files) {
            int i = index(file.getFileName().toString());
            TensorProto p = TensorProtos.read(file);
            String n = p.getName();
            if (n.isEmpty() || !actual.containsKey(n)) {
                if (i >= declared.size()) {
                    return file.getFileName() + " has no matching model output";
                }
                n = declared.get(i).name();
            }
            Tensor expected = TensorProtos.decode(p, null);
            String why = TensorComparison.compare(actual.get(n), expected);
            if (why != null) {
                return "output '" + n + "' " + why;
            }
        }
        return null;
    }

    private static List<Path> numbered(Path dir, String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String f = p.getFileName().toString();
                return f.startsWith(prefix) && f.endsWith(".pb");
            }).sorted(Comparator.comparing(p -> index(p.getFileName().toString()))).toList();
        }
    }

    private static int index(String fileName) {
        String digits = fileName.replaceAll("\\D", "");
        return digits.isEmpty() ? 0 : Integer.parseInt(digits.length() > 9 ? digits.substring(0, 9) : digits);
    }

    /** Operator types of a test's model, for the summary (empty if unreadable). */
    static Set<String> opTypes(Path test) {
        Set<String> ops = new LinkedHashSet<>();
        try {
            ModelProto m = ModelProto.parseFrom(Files.readAllBytes(test.resolve("model.onnx")));
            for (NodeProto n : m.getGraph().getNodeList()) {
                ops.add(n.getOpType());
            }
        } catch (IOException e) {
            // reported by the test itself
        }
        return ops;
    }

    private static String oneLine(String s) {
        return s == null ? "null" : s.replaceAll("\\s*\\n\\s*", "; ");
    }

    /** Prints failures per operator, then the final "N passed, N failed" line. */
    public static void printSummary(List<Result> results, PrintStream out) {
        Map<String, List<String>> byOp = new TreeMap<>();
        for (Result r : results) {
            if (r.status() != Status.PASS) {
                Set<String> ops = r.opTypes().isEmpty() ? Set.of("(unknown)") : r.opTypes();
                for (String op : ops) {
                    byOp.computeIfAbsent(op, k -> new ArrayList<>()).add(r.test());
                }
            }
        }
        if (!byOp.isEmpty()) {
            out.println();
            out.println("Failures by operator:");
            byOp.entrySet().stream().sorted((a, b) -> b.getValue().size() - a.getValue().size()).forEach(e -> {
                List<String> t = e.getValue();
                String shown = String.join(" ", t.subList(0, Math.min(6, t.size()))) + (t.size() > 6 ? " ..." : "");
                out.printf("  %-28s %4d  %s%n", e.getKey(), t.size(), shown);
            });
        }
        long passed = results.stream().filter(r -> r.status() == Status.PASS).count();
        out.println(passed + " passed, " + (results.size() - passed) + " failed");
    }

    /** Stops the core group and the test thread. */
    public void close() {
        if (group != null) {
            group.close();
            runner.shutdownNow();
            group = null;
        }
    }
}
