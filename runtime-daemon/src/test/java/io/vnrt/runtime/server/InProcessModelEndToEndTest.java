package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;

/** The model and execution contract in-process. */
class InProcessModelEndToEndTest extends AbstractModelEndToEndTest {
  @Override
  AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception {
    return InProcessEndToEndTest.inProcess(config);
  }

  @Override
  boolean callsRunOnTheClientsThread() {
    return true;
  }
}
