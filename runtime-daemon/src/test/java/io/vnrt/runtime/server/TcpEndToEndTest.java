package io.vnrt.runtime.server;

import io.grpc.Channel;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.internal.Transports;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.net.InetSocketAddress;
import java.util.Optional;

/** The end-to-end contract over loopback TCP, on a free port. */
class TcpEndToEndTest extends AbstractEndToEndTest {

  @Override
  Fixture start(RuntimeConfig config) throws Exception {
    return tcp(config);
  }

  /** A daemon on a free loopback port. */
  static Fixture tcp(RuntimeConfig config) throws Exception {
    return tcp(config, DaemonServer.Options.DEFAULT);
  }

  /** A daemon on a free loopback port with {@code options} (a message size limit, a repository). */
  static Fixture tcp(RuntimeConfig config, DaemonServer.Options options) throws Exception {
    VnrtRuntime runtime = VnrtRuntime.start(config);
    DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()), Security.NONE,
        options);
    return new NettyFixture(runtime, server, server.targets().getFirst());
  }

  /** A daemon reached through Netty at {@code target}. */
  static final class NettyFixture implements Fixture {
    private final VnrtRuntime runtime;
    private final DaemonServer server;
    private final String target;
    private final VnrtClient client;
    private final Transports.OwnedChannel raw;

    NettyFixture(VnrtRuntime runtime, DaemonServer server, String target) {
      this.runtime = runtime;
      this.server = server;
      this.target = target;
      this.client = VnrtClient.connect(target);
      this.raw = Transports.open(target);
    }

    @Override
    public VnrtRuntime runtime() {
      return runtime;
    }

    @Override
    public VnrtClient client() {
      return client;
    }

    @Override
    public VnrtClient newClient() {
      return VnrtClient.connect(target);
    }

    @Override
    public Channel rawChannel() {
      return raw.channel();
    }

    @Override
    public void close() {
      client.close();
      raw.shutdown();
      server.close();
      runtime.close();
    }
  }
}
