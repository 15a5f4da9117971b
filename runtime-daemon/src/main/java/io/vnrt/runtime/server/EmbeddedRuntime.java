package io.vnrt.runtime.server;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.io.IOException;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A runtime inside the application's own process: the same services and the same SDK as a
 * remote daemon, over an in-process channel that passes messages without serialising them.
 *
 * <pre>{@code
 * try (EmbeddedRuntime rt = EmbeddedRuntime.start(RuntimeConfig.defaults());
 *      Session s = rt.client().openSession("app")) { ... }
 * }</pre>
 */
public final class EmbeddedRuntime implements AutoCloseable {
  private final VnrtRuntime runtime;
  private final DaemonServer server;
  private final ManagedChannel channel;
  private final VnrtClient client;

  private EmbeddedRuntime(VnrtRuntime runtime, DaemonServer server, ManagedChannel channel) {
    this.runtime = runtime;
    this.server = server;
    this.channel = channel;
    this.client = VnrtClient.of(channel);
  }

  /** Starts a runtime with {@code config} and connects a client to it. */
  public static EmbeddedRuntime start(RuntimeConfig config) throws IOException {
    VnrtRuntime runtime = VnrtRuntime.start(config);
    try {
      String name = "vnrt-embedded-" + UUID.randomUUID();
      DaemonServer server = DaemonServer.start(runtime,
          new DaemonServer.Listeners(Optional.empty(), Optional.empty(), Optional.of(name)));
      ManagedChannel channel = InProcessChannelBuilder.forName(name)
          .directExecutor()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES)
          .build();
      return new EmbeddedRuntime(runtime, server, channel);
    } catch (IOException | RuntimeException e) {
      runtime.close();
      throw e;
    }
  }

  /** The client for this runtime (do not close it separately: {@link #close()} does). */
  public VnrtClient client() {
    return client;
  }

  /** The in-process channel, for generated stubs or another {@link VnrtClient#of} client. */
  public Channel channel() {
    return channel;
  }

  /** The runtime itself, for direct (transport-free) use. */
  public VnrtRuntime runtime() {
    return runtime;
  }

  /** Closes the client's sessions, the channel, the server and the runtime, in that order. */
  @Override
  public void close() {
    client.close();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
    server.close();
    runtime.close();
  }
}
