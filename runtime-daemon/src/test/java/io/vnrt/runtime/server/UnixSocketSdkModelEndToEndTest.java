package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The SDK's model API over a Unix domain socket. */
class UnixSocketSdkModelEndToEndTest extends AbstractSdkModelEndToEndTest {
  @TempDir
  static Path dir;

  @Override
  AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception {
    return UnixSocketEndToEndTest.unixSocket(config, dir);
  }
}
