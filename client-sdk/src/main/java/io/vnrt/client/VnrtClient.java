package io.vnrt.client;

import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.internal.Errors;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.GetRuntimeInfoRequest;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.proto.v1.OpenSessionRequest;
import io.vnrt.proto.v1.OpenSessionResponse;
import io.vnrt.proto.v1.RuntimeGrpc;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Entry point of the SDK: a connection to a vnrt daemon (TCP, Unix socket, or an in-process
 * channel from an embedded runtime). Thread-safe; close it to release the connection.
 *
 * <pre>{@code
 * try (VnrtClient client = VnrtClient.connect("127.0.0.1:50051");
 *      Session session = client.openSession("my-app");
 *      DeviceTensor t = session.allocate(TensorSpec.of(DType.FLOAT32, 1024), 0)) {
 *     t.write(new float[1024]);
 *     float[] back = t.readFloats();
 * }
 * }</pre>
 */
public final class VnrtClient implements AutoCloseable {
  /**
   * Bytes per message of a streamed write or read: 4 MiB less 4 KiB, so a large tensor costs few
   * messages (each one framing, parse and dispatch) while each still fits, with its few bytes of
   * header, in a daemon limited to gRPC's customary 4 MiB messages (--max-message-size 4MiB); a
   * multiple of 4 KiB, so of every element size.
   */
  static final int CHUNK_BYTES = (4 << 20) - (4 << 10);

  private final Channel channel;
  private final Transports.OwnedChannel owned;
  private final RuntimeGrpc.RuntimeBlockingStub runtime;
  private final ScheduledExecutorService timer;
  private final Set<Session> openSessions = ConcurrentHashMap.newKeySet();

  private VnrtClient(Channel channel, Transports.OwnedChannel owned) {
    this.channel = channel;
    this.owned = owned;
    this.runtime = RuntimeGrpc.newBlockingStub(channel);
    this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
        .name("vnrt-keepalive").daemon(true).factory());
  }

  /**
   * Connects to a daemon at {@code target}: "host:port" (e.g. "127.0.0.1:50051") or
   * "unix:/path/to/socket". The connection is made lazily, on the first call.
   */
  public static VnrtClient connect(String target) {
    return connect(target, ConnectOptions.plaintext());
  }

  /**
   * Connects to a daemon at {@code target} with TLS, a client certificate and a bearer token as
   * {@code options} say (TLS needs a TCP target).
   */
  public static VnrtClient connect(String target, ConnectOptions options) {
    Transports.OwnedChannel owned = Transports.open(target, options);
    return new VnrtClient(owned.channel(), owned);
  }

  /** A client over a channel the caller owns (and closes); used by the embedded runtime. */
  public static VnrtClient of(Channel channel) {
    return new VnrtClient(channel, null);
  }

  /** Version, devices, limits and open sessions of the daemon. */
  public GetRuntimeInfoResponse runtimeInfo() {
    try {
      return runtime.getRuntimeInfo(GetRuntimeInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
  }

  /** Opens a session with the daemon's default lease; {@code clientName} shows in stats and logs. */
  public Session openSession(String clientName) {
    return openSession(clientName, Duration.ZERO);
  }

  /**
   * Opens a session asking for a lease of {@code leaseTtl} (zero: the daemon's default). The
   * session renews its lease in the background until closed.
   */
  public Session openSession(String clientName, Duration leaseTtl) {
    OpenSessionResponse opened;
    try {
      opened = runtime.openSession(OpenSessionRequest.newBuilder()
          .setClientName(clientName)
          .setLeaseTtlMs(leaseTtl.toMillis())
          .build());
    } catch (StatusRuntimeException e) {
      throw Errors.translate(e);
    }
    Session session = new Session(this, opened.getSessionId(), clientName,
        Duration.ofMillis(opened.getLeaseTtlMs()));
    openSessions.add(session);
    return session;
  }

  /**
   * The channel, with the credentials attached, for generated stubs of services the SDK does not
   * wrap (e.g. {@code AdminGrpc}).
   */
  public Channel channel() {
    return channel;
  }

  ScheduledExecutorService timer() {
    return timer;
  }

  void forget(Session session) {
    openSessions.remove(session);
  }

  /** Closes the sessions still open (best effort), then the connection if this client made it. */
  @Override
  public void close() {
    for (Session s : List.copyOf(openSessions)) {
      try {
        s.close();
      } catch (VnrtException e) {
        // the daemon may already be gone; its leases then expire on their own
      }
    }
    timer.shutdownNow();
    if (owned != null) {
      owned.shutdown();
    }
  }
}
