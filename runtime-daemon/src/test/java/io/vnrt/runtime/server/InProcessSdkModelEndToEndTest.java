package io.vnrt.runtime.server;

import io.vnrt.runtime.RuntimeConfig;

/** The SDK's model API in-process. */
class InProcessSdkModelEndToEndTest extends AbstractSdkModelEndToEndTest {
  @Override
  AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception {
    return InProcessEndToEndTest.inProcess(config);
  }
}
