package io.vnrt.runtime.server;

import io.vnrt.runtime.VnrtRuntime;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;

/** KServe v2 over loopback TCP. */
class TcpKServeEndToEndTest extends AbstractKServeEndToEndTest {
  @Override
  DaemonServer listen(VnrtRuntime runtime, Path repository) throws Exception {
    return DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        Optional.empty(), Optional.empty()), Security.NONE, Optional.of(repository), repositoryWarmup());
  }

  @Override
  java.time.Duration repositoryWarmup() {
    return java.time.Duration.ofMillis(30);
  }
}
