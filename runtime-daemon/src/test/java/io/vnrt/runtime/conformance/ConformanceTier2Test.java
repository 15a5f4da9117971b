package io.vnrt.runtime.conformance;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The tier-2 ONNX conformance list (modern attention, bit and trigonometric operators, the rarer
 * pools and normalisations, quantization, recurrent and control-flow operators) against its
 * expected failures.
 */
class ConformanceTier2Test extends ConformanceTierTest {
    @Override
    String tier() {
        return "tier2";
    }

    @Test
    void tier2MatchesExpectedFailures() throws IOException {
        matchesExpectedFailures();
    }
}
