package io.vnrt.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.server.DaemonServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * examples/python/run.sh against a real daemon on a free port: the Python client loads a model
 * through vnrt.v1, executes it, runs it again by name through KServe, and checks every number.
 * Skipped (with the reason) where Debian's python3-grpcio, python3-protobuf or protoc are missing.
 */
class PythonClientTest {
  static final Path SCRIPT = Path.of("python/run.sh").toAbsolutePath();

  static boolean available() throws InterruptedException {
    try {
      Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import grpc, google.protobuf")
          .redirectErrorStream(true).start();
      Process q = new ProcessBuilder("protoc", "--version").redirectErrorStream(true).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 && q.waitFor(30, TimeUnit.SECONDS)
          && q.exitValue() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void pythonClientGetsTheRightNumbersThroughBothApis() throws Exception {
    assumeTrue(available(), "needs /usr/bin/python3 with python3-grpcio and python3-protobuf, and protoc "
        + "(apt-get install -y python3-grpcio python3-protobuf protobuf-compiler)");
    assertTrue(Files.isExecutable(SCRIPT), SCRIPT + " is missing or not executable");
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults())) {
      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      try {
        Process p = new ProcessBuilder(SCRIPT.toString(), "--target", server.targets().getFirst())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "run.sh did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("ok   vnrt.v1 Execute y"), out);
        assertTrue(out.contains("ok   KServe ModelInfer y"), out);
        assertTrue(out.strip().endsWith("PASS"), out);
      } finally {
        server.close();
      }
      assertEquals(0, runtime.devices().devices().getFirst().pool().usedBytes(), "the Python client's session "
          + "ended and its model was unloaded");
    }
  }
}
