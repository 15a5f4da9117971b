package io.vnrt.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.HostTensor;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.server.DaemonServer;
import io.vnrt.runtime.server.EmbeddedRuntime;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The quickstart against a real daemon on a free port and embedded, checked against a reference computed here. */
class QuickstartTest {

  /** y = relu(x · W + b), computed in plain Java. */
  static float[] reference() {
    float[] y = new float[6];
    for (int r = 0; r < 2; r++) {
      for (int c = 0; c < 3; c++) {
        float s = Quickstart.B[c];
        for (int k = 0; k < 4; k++) {
          s += Quickstart.X[r * 4 + k] * Quickstart.W[k * 3 + c];
        }
        y[r * 3 + c] = Math.max(0, s);
      }
    }
    return y;
  }

  static void check(Map<String, HostTensor> outputs, String printed) {
    HostTensor y = outputs.get("y");
    assertArrayEquals(new long[] {2, 3}, y.shape());
    assertArrayEquals(reference(), y.floats(), 1e-5f);
    assertTrue(printed.contains("loaded 'quickstart'"), printed);
    assertTrue(printed.contains("y [2, 3] = "), printed);
  }

  @Test
  void remoteAgainstARealDaemon() throws Exception {
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults())) {
      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      try (VnrtClient client = VnrtClient.connect(server.targets().getFirst())) {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Map<String, HostTensor> outputs = Quickstart.run(client, Quickstart.denseModel(),
            new PrintStream(printed, true, StandardCharsets.UTF_8));
        check(outputs, printed.toString(StandardCharsets.UTF_8));
      } finally {
        server.close();
      }
      assertEquals(0, runtime.devices().devices().getFirst().pool().usedBytes(), "the model was unloaded");
    }
  }

  @Test
  void embedded() throws Exception {
    try (EmbeddedRuntime runtime = EmbeddedRuntime.start(RuntimeConfig.defaults())) {
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      Map<String, HostTensor> outputs = Quickstart.run(runtime.client(), Quickstart.denseModel(),
          new PrintStream(printed, true, StandardCharsets.UTF_8));
      check(outputs, printed.toString(StandardCharsets.UTF_8));
    }
  }
}
