package io.vnrt.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.memory.HbmPool;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The engine's tensor rules without any transport: slices, pins, bounds and sizes. */
class TensorLifecycleTest {
  private VnrtRuntime runtime;
  private HbmPool pool;
  private Session session;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults()
        .withTopology(Topology.of(Profile.TRN1, Optional.empty(), Optional.empty(), Optional.of(64L << 20),
            Optional.empty()))
        .withHostMemoryBytes(1 << 20)
        .withClock(new FakeTicker(), Duration.ofHours(1)));
    pool = runtime.devices().device(0).pool();
    session = runtime.sessions().open("lifecycle", 0);
  }

  @AfterEach
  void stop() {
    runtime.close();
  }

  private Tensor allocate(long bytes) {
    return session.allocate(new TensorRequest(0, -1, false, DType.RAW, List.of(), bytes, ""));
  }

  @Test
  void aPinOutlivesAFreeAndReleasesTheMemoryWhenClosed() {
    Tensor t = allocate(4096);
    try (Tensor.Pin pin = t.pin()) {
      pin.segment().set(ValueLayout.JAVA_BYTE, 7, (byte) 42);
      assertEquals(0, session.free(t.handle()), "a pinned tensor gives nothing back yet");
      assertFalse(t.isLive());
      assertEquals(4096, pool.usedBytes());
      assertEquals(42, pin.segment().get(ValueLayout.JAVA_BYTE, 7), "the pinned memory stays valid");
      assertThrows(VnrtRuntimeException.class, t::pin, "a freed tensor cannot be pinned again");
    }
    assertEquals(0, pool.usedBytes());
    assertEquals(0, runtime.devices().busyOperations());
  }

  @Test
  void slicesShareTheBlockUntilTheLastHandleIsFreed() {
    Tensor parent = allocate(1024);
    Tensor a = session.slice(parent.handle(), 0, 512, DType.RAW, List.of(), "a");
    Tensor b = session.slice(a.handle(), 256, 0, DType.FLOAT32, List.of(2L, 8L), "b");
    assertEquals(64, b.sizeBytes());
    assertEquals(a.handle(), b.parentHandle());
    try (Tensor.Pin p = parent.pin(); Tensor.Pin pb = b.pin()) {
      pb.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
      assertEquals(9, p.segment().get(ValueLayout.JAVA_BYTE, 256), "a slice of a slice aliases the root");
    }
    assertEquals(0, session.free(parent.handle()));
    assertEquals(0, session.free(a.handle()));
    assertEquals(1024, pool.usedBytes());
    assertEquals(1024, session.free(b.handle()));
    assertEquals(0, pool.usedBytes());
  }

  @Test
  void rangesAreCheckedWithUnsignedValuesShown() {
    Tensor t = allocate(100);
    assertMessage("slice of 64 bytes at offset 40 goes past the end",
        () -> session.slice(t.handle(), 40, 64, DType.RAW, List.of(), ""));
    assertMessage("size_bytes 100 does not match FLOAT32[4], which is 16 bytes",
        () -> session.slice(t.handle(), 0, 100, DType.FLOAT32, List.of(4L), ""));
    assertMessage("copy source of 101 bytes at offset 0",
        () -> session.copy(t.handle(), 0, t.handle(), 0, 101));
    assertMessage("read of 0 bytes at offset 18446744073709551615",
        () -> session.beginRead(t.handle(), -1, 0, 1 << 20));
    assertMessage("write of 18446744073709551615 bytes at offset 0",
        () -> session.beginWrite(t.handle(), 0, -1));
    assertEquals(0, runtime.devices().busyOperations(), "refused operations pin nothing");
  }

  @Test
  void writesMustBeContiguousAndWithinTheAnnouncedTotal() {
    Tensor t = allocate(64);
    try (TensorWrite w = session.beginWrite(t.handle(), 8, 16)) {
      w.chunk(8, ByteBuffer.wrap(new byte[8]));
      assertMessage("chunk at offset 8 repeats bytes already written", () -> w.chunk(8, ByteBuffer.allocate(1)));
      assertMessage("chunk at offset 24 leaves a gap", () -> w.chunk(24, ByteBuffer.allocate(1)));
      assertMessage("the stream ended after 8 bytes but announced total_bytes 16", w::finish);
      w.chunk(16, ByteBuffer.wrap(new byte[8]));
      assertEquals(16, w.finish());
    }
    assertEquals(0, runtime.devices().busyOperations());
  }

  @Test
  void aWriteFailsCleanlyOnceItsTensorIsFreed() {
    Tensor t = allocate(64);
    try (TensorWrite w = session.beginWrite(t.handle(), 0, 0)) {
      w.chunk(0, ByteBuffer.allocate(8));
      session.free(t.handle());
      VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class, () -> w.chunk(8, ByteBuffer.allocate(8)));
      assertEquals(VnrtRuntimeException.Kind.NOT_FOUND, e.kind());
      assertTrue(e.getMessage().contains("was freed during the write"), e.getMessage());
      assertEquals(64, pool.usedBytes(), "the write's pin still holds the block");
    }
    assertEquals(0, pool.usedBytes());
  }

  @Test
  void sizesAreValidated() {
    assertMessage("has no elements", () -> TensorRequest.sizeOf(DType.INT8, List.of(3L, 0L), 0));
    assertMessage("dimension 0 = -1", () -> TensorRequest.sizeOf(DType.INT8, List.of(-1L), 0));
    assertMessage("needs more than 2^63-1 bytes",
        () -> TensorRequest.sizeOf(DType.FLOAT64, List.of(1L << 31, 1L << 31), 0));
    assertMessage("a RAW tensor's shape must be empty or [size_bytes]",
        () -> TensorRequest.sizeOf(DType.RAW, List.of(8L), 16));
    assertEquals(8, TensorRequest.sizeOf(DType.RAW, List.of(8L), 0));
    assertEquals(4, TensorRequest.sizeOf(DType.FLOAT32, List.of(), 0), "a scalar has one element");
    assertMessage("tensor name is 300 characters long", () -> session.allocate(
        new TensorRequest(0, -1, false, DType.RAW, List.of(), 8, "n".repeat(300))));
  }

  @Test
  void closingTheRuntimeWaitsForPinnedOperationsBeforeUnmapping() throws Exception {
    Tensor t = allocate(1 << 20);
    Tensor.Pin pin = t.pin();
    AtomicBoolean released = new AtomicBoolean();
    Thread operation = Thread.ofPlatform().start(() -> {
      try {
        Thread.sleep(100);
        pin.segment().fill((byte) 1); // would crash the JVM if the pool were already unmapped
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      pin.close();
      released.set(true);
    });
    runtime.close();
    assertTrue(released.get(), "close() returned before the pinned operation ended");
    assertEquals(0, runtime.devices().busyOperations());
    operation.join();
  }

  private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class, call);
    assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' lacks '" + part + "'");
  }
}
