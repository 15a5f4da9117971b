package io.vnrt.client.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The SDK's TCP channels announce large HTTP/2 frames, so a daemon sends a tensor read in few of them. */
class BulkHttp2Test {
  @Test
  void anSdkChannelAnnouncesLargeFramesToTheServer() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setSoTimeout(30_000);
      Transports.OwnedChannel owned = Transports.open("127.0.0.1:" + listener.getLocalPort());
      try {
        owned.channel().getState(true); // connect now, without a call
        try (Socket socket = listener.accept()) {
          socket.setSoTimeout(30_000);
          DataInputStream in = new DataInputStream(socket.getInputStream());
          assertArrayEquals(Http2Frames.CLIENT_PREFACE, in.readNBytes(Http2Frames.CLIENT_PREFACE.length));
          Http2Frames.writeEmptySettings(socket.getOutputStream());
          OptionalInt size = Http2Frames.maxFrameSize(in, socket.getOutputStream(), 10);
          assertEquals(OptionalInt.of(BulkHttp2.MAX_FRAME_BYTES), size);
        }
      } finally {
        owned.shutdown();
      }
    }
  }
}
