package io.vnrt.runtime.conformance;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The tier-1 ONNX conformance list (MLPs, CNNs, transformers) against its expected failures. */
class ConformanceTier1Test extends ConformanceTierTest {
    @Override
    String tier() {
        return "tier1";
    }

    @Test
    void tier1MatchesExpectedFailures() throws IOException {
        matchesExpectedFailures();
    }
}
