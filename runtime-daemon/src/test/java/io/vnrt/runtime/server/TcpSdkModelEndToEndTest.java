package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;

/** The SDK's model API over loopback TCP. */
class TcpSdkModelEndToEndTest extends AbstractSdkModelEndToEndTest {
  @Override
  AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception {
    return TcpEndToEndTest.tcp(config);
  }
}
