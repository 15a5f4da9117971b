package io.vnrt.runtime.server;

import io.grpc.Channel;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;

/** The end-to-end contract in-process: the embedded runtime's own client and channel. */
class InProcessEndToEndTest extends AbstractEndToEndTest {

  @Override
  Fixture start(RuntimeConfig config) throws Exception {
    return inProcess(config);
  }

  /** The embedded runtime with its in-process channel. */
  static Fixture inProcess(RuntimeConfig config) throws Exception {
    EmbeddedRuntime embedded = EmbeddedRuntime.start(config);
    return new Fixture() {
      @Override
      public VnrtRuntime runtime() {
        return embedded.runtime();
      }

      @Override
      public VnrtClient client() {
        return embedded.client();
      }

      @Override
      public VnrtClient newClient() {
        return VnrtClient.of(embedded.channel());
      }

      @Override
      public Channel rawChannel() {
        return embedded.channel();
      }

      @Override
      public void close() {
        embedded.close();
      }
    };
  }
}
