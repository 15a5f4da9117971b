package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The socket file's life: a stale one is replaced, a live one or a plain file is left alone, close removes it. */
class UnixSocketListenerTest {
  @TempDir
  Path dir;
  private VnrtRuntime runtime;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(1 << 20).withTopology(
        Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(1L << 20), Optional.empty())));
  }

  @AfterEach
  void stop() {
    runtime.close();
  }

  private DaemonServer listen(Path socket) throws IOException {
    return DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.empty(), Optional.of(socket),
        Optional.empty()));
  }

  @Test
  void aStaleSocketIsReplacedAndCloseRemovesTheFile() throws Exception {
    Path socket = dir.resolve("vnrt.sock");
    try (ServerSocketChannel previous = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      previous.bind(UnixDomainSocketAddress.of(socket)); // a daemon that died without cleaning up
    }
    assertTrue(Files.exists(socket));
    DaemonServer server = listen(socket);
    try (VnrtClient client = VnrtClient.connect("unix:" + socket)) {
      assertEquals(1, client.runtimeInfo().getDevicesCount());
    } finally {
      server.close();
    }
    assertFalse(Files.exists(socket), "the socket file is removed at shutdown");
  }

  @Test
  void aLiveSocketOrAPlainFileIsNotTouched() throws Exception {
    Path live = dir.resolve("live.sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(live));
      IOException e = assertThrows(IOException.class, () -> listen(live));
      assertTrue(e.getMessage().contains("another process is listening on " + live), e.getMessage());
    }
    Path file = Files.writeString(dir.resolve("notes.txt"), "keep me");
    IOException e = assertThrows(IOException.class, () -> listen(file));
    assertTrue(e.getMessage().contains("exists and is not a socket"), e.getMessage());
    assertEquals("keep me", Files.readString(file));
  }
}
