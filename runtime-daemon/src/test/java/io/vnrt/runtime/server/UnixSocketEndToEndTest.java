package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;

/** The end-to-end contract over a Unix domain socket. */
class UnixSocketEndToEndTest extends AbstractEndToEndTest {
  @TempDir
  static Path dir;

  @Override
  Fixture start(RuntimeConfig config) throws Exception {
    return unixSocket(config, dir);
  }

  /** A daemon on a Unix socket in a new directory under {@code dir}. */
  static Fixture unixSocket(RuntimeConfig config, Path dir) throws Exception {
    Path socket = Files.createTempDirectory(dir, "uds").resolve("vnrt.sock");
    VnrtRuntime runtime = VnrtRuntime.start(config);
    DaemonServer server = DaemonServer.start(runtime,
        new DaemonServer.Listeners(Optional.empty(), Optional.of(socket), Optional.empty()));
    return new TcpEndToEndTest.NettyFixture(runtime, server, "unix:" + socket);
  }
}
