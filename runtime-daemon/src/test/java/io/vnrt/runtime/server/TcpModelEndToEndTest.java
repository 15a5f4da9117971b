package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;

/** The model and execution contract over loopback TCP. */
class TcpModelEndToEndTest extends AbstractModelEndToEndTest {
  @Override
  AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception {
    return TcpEndToEndTest.tcp(config);
  }
}
