package io.vnrt.runtime.server;

import io.vnrt.runtime.VnrtRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** KServe v2 over a Unix domain socket. */
class UnixSocketKServeEndToEndTest extends AbstractKServeEndToEndTest {
  @Override
  DaemonServer listen(VnrtRuntime runtime, Path repository) throws Exception {
    Path socket = Files.createTempDirectory("vnrt-kserve").resolve("vnrt.sock");
    return DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.empty(), Optional.of(socket),
        Optional.empty()), Security.NONE, Optional.of(repository));
  }
}
