package io.vnrt.runtime.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs one tier's ONNX conformance list and compares the outcome with the checked-in list of
 * expected failures ({@code /conformance/tierN-expected-failures.txt}: a test name and its reason
 * per line): a failure not listed fails the build (a regression, or a new test), and so does a
 * listed test that now passes (remove it from the list). The actual failures are written to
 * target/tierN-actual-failures.txt, ready to replace the list after a deliberate change.
 */
abstract class ConformanceTierTest {
    /** "tier1", "tier2": names the list in the shared data and the expected-failures resource. */
    abstract String tier();

    void matchesExpectedFailures() throws IOException {
        String expectedResource = "/conformance/" + tier() + "-expected-failures.txt";
        Path shared = Path.of(System.getProperty("vnrt.shared", "../shared"));
        Path conformance = shared.resolve("conformance");
        Path data = conformance.resolve("onnx-node");
        Path list = conformance.resolve(tier() + ".txt");
        Assumptions.assumeTrue(Files.isDirectory(data) && Files.isRegularFile(list),
                "conformance data not found at " + data.toAbsolutePath() + " (set -Dvnrt.shared=DIR); skipping "
                        + tier() + " conformance");

        List<Path> tests = ConformanceRunner.discover(List.of(data), ConformanceRunner.readList(list), null);
        ConformanceRunner runner = new ConformanceRunner(2, 30);
        List<ConformanceRunner.Result> results;
        try {
            results = runner.run(tests, null);
        } finally {
            runner.close();
        }

        Map<String, String> expected = readExpected(expectedResource);
        StringBuilder actualFile = new StringBuilder();
        List<String> unexpected = new ArrayList<>();
        List<String> nowPassing = new ArrayList<>();
        long passed = 0;
        for (ConformanceRunner.Result r : results) {
            if (r.status() == ConformanceRunner.Status.PASS) {
                passed++;
                if (expected.containsKey(r.test())) {
                    nowPassing.add(r.test());
                }
            } else {
                actualFile.append(r.test()).append("  ").append(r.status()).append(": ").append(r.message()).append('\n');
                if (!expected.containsKey(r.test())) {
                    unexpected.add(r.line());
                }
            }
        }
        Path out = Path.of("target", tier() + "-actual-failures.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, actualFile.toString());
        System.out.println(tier() + " conformance: " + passed + " passed, " + (results.size() - passed) + " failed (of "
                + results.size() + "); actual failures in " + out.toAbsolutePath());
        if (!unexpected.isEmpty() || !nowPassing.isEmpty()) {
            StringBuilder msg = new StringBuilder();
            if (!unexpected.isEmpty()) {
                msg.append(unexpected.size()).append(" failure(s) not in ").append(expectedResource).append(":\n");
                unexpected.forEach(l -> msg.append("  ").append(l).append('\n'));
            }
            if (!nowPassing.isEmpty()) {
                msg.append(nowPassing.size()).append(" test(s) listed as failing now pass; remove them from the list:\n");
                nowPassing.forEach(t -> msg.append("  ").append(t).append('\n'));
            }
            msg.append("(the actual failures are in ").append(out.toAbsolutePath()).append(")");
            fail(msg.toString());
        }
    }

    private static Map<String, String> readExpected(String resource) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        try (InputStream in = ConformanceTierTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                return m;
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                String[] parts = t.split("\\s+", 2);
                m.put(parts[0], parts.length > 1 ? parts[1] : "");
            }
        }
        return m;
    }
}
