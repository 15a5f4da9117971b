package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.BackingChoice;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start-up warm-up of the request path: its calls all succeed, on a runtime of its own, and a failure is reported. */
class ServiceWarmupTest {
  @Test
  void runsEveryCallOnItsOwnRuntimeAndLeavesTheDaemonUntouched() throws Exception {
    try (VnrtRuntime daemon = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(64L << 20))) {
      DaemonServer server = DaemonServer.start(daemon, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      try {
        ServiceWarmup.Report r = ServiceWarmup.start(daemon.config(), DaemonServer.DEFAULT_MAX_MESSAGE_BYTES, Optional.empty())
            .get(2, TimeUnit.MINUTES);
        assertEquals(Optional.empty(), r.stopped(), r.describe());
        assertEquals(3 * ServiceWarmup.ROUNDS, r.executes(), r.describe());
        assertEquals(ServiceWarmup.ROUNDS, r.infers(), r.describe());
        assertTrue(r.describe().startsWith("done: " + 3 * ServiceWarmup.ROUNDS + " Execute and "), r.describe());
        // nothing of it is the daemon's: no session, no model, no execution counted
        assertEquals(0, daemon.sessions().openCount());
        assertTrue(daemon.models().byName("vnrt-service-warmup").isEmpty());
      } finally {
        server.close();
      }
    }
  }

  @Test
  void withTheDaemonsTokenOnItsServerEveryCallStillSucceeds() throws Exception {
    ServiceWarmup.Report r = ServiceWarmup.start(RuntimeConfig.defaults().withHostMemoryBytes(64L << 20),
        DaemonServer.DEFAULT_MAX_MESSAGE_BYTES, Optional.of("a-token-of-at-least-16-characters"))
        .get(2, TimeUnit.MINUTES);
    assertEquals(Optional.empty(), r.stopped(), r.describe());
    assertEquals(3 * ServiceWarmup.ROUNDS, r.executes(), r.describe());
  }

  @Test
  void aRuntimeThatCannotStartIsReportedNotThrown(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("no-such-directory");
    ServiceWarmup.Report r = ServiceWarmup.start(RuntimeConfig.defaults()
        .withBacking(new BackingChoice.Directory(missing)), DaemonServer.DEFAULT_MAX_MESSAGE_BYTES, Optional.empty())
        .get(1, TimeUnit.MINUTES);
    assertEquals(0, r.executes());
    assertTrue(r.stopped().isPresent(), r.describe());
    assertTrue(r.describe().startsWith("not run: "), r.describe());
  }
}
