package io.vnrt.runtime.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs deploy/validate-manifests.py: the Kubernetes manifests parse and agree with the daemon's
 * settings (VNRT_* names, probe port, /dev/shm, socket volume, memory limits, headless Service).
 * Skipped, saying why, where python3 with PyYAML is missing.
 */
class DeployManifestsTest {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  @Test
  void manifestsAgreeWithTheDaemonsSettings() throws Exception {
    Path script = ROOT.resolve("deploy/validate-manifests.py");
    assumeTrue(Files.exists(script), "run from runtime-daemon/ inside the repository");
    Process probe = new ProcessBuilder("python3", "-c", "import yaml").redirectErrorStream(true).start();
    assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0, "needs python3 with PyYAML");
    Process p = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    assertEquals(0, p.exitValue(), out);
  }
}
