package io.vnrt.client.internal;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * Just enough HTTP/2 framing over a raw socket to see the SETTINGS a gRPC peer sends (the SDK's channels
 * here, the daemon's listeners in runtime-daemon's tests, through this module's test-jar).
 */
public final class Http2Frames {
  public static final byte[] CLIENT_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int SETTINGS = 4;
  private static final int ACK = 1;
  private static final int MAX_FRAME_SIZE = 5;

  private Http2Frames() {
  }

  /** An empty SETTINGS frame (a peer's preface, or the first frame of a server). */
  public static void writeEmptySettings(OutputStream out) throws IOException {
    out.write(new byte[] {0, 0, 0, SETTINGS, 0, 0, 0, 0, 0});
    out.flush();
  }

  /**
   * The SETTINGS_MAX_FRAME_SIZE of the first SETTINGS frame among the next {@code frames} that carries one, acking
   * every SETTINGS frame read; empty if none does.
   */
  public static OptionalInt maxFrameSize(DataInputStream in, OutputStream out, int frames) throws IOException {
    for (int f = 0; f < frames; f++) {
      int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      in.readInt();
      byte[] payload = in.readNBytes(length);
      if (type != SETTINGS || (flags & ACK) != 0) {
        continue;
      }
      out.write(new byte[] {0, 0, 0, SETTINGS, ACK, 0, 0, 0, 0});
      out.flush();
      for (int i = 0; i + 6 <= payload.length; i += 6) {
        int id = ((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff);
        int value = ((payload[i + 2] & 0xff) << 24) | ((payload[i + 3] & 0xff) << 16) | ((payload[i + 4] & 0xff) << 8)
            | (payload[i + 5] & 0xff);
        if (id == MAX_FRAME_SIZE) {
          return OptionalInt.of(value);
        }
      }
    }
    return OptionalInt.empty();
  }
}
