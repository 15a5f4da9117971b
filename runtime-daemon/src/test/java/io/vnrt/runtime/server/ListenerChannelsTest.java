package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.client.internal.BulkHttp2;
import io.vnrt.client.internal.Http2Frames;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The daemon's TCP listener announces large HTTP/2 frames to any client, whatever its gRPC library, so that a
 * client that honours the setting sends a tensor in few frames.
 */
class ListenerChannelsTest {
  @Test
  void theTcpListenerAnnouncesLargeFramesToAnyClient() throws Exception {
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults());
        DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
            Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
        Socket socket = new Socket()) {
      socket.connect(server.tcpAddress().orElseThrow(), 30_000);
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(Http2Frames.CLIENT_PREFACE);
      Http2Frames.writeEmptySettings(socket.getOutputStream());
      OptionalInt size = Http2Frames.maxFrameSize(new DataInputStream(socket.getInputStream()),
          socket.getOutputStream(), 10);
      assertEquals(OptionalInt.of(BulkHttp2.MAX_FRAME_BYTES), size);
    }
  }
}
