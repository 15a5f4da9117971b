package io.vnrt.client.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.v1.ReadTensorResponse;
import io.vnrt.proto.v1.WriteTensorRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What the bulk marshaller writes parses back, byte for byte, into the message it was given,
 * whatever memory the bytes fields wrap (heap, off-heap, ropes of both) and whatever their sizes
 * around the bulk threshold and the copy block; read instead of drained, or reset, it still gives
 * the same message; in-process its message is handed over as it is.
 */
class BulkMarshallerTest {
  private static final int BULK = BulkMarshaller.BULK_FIELD_BYTES;
  private static final int BLOCK = BulkMarshaller.BLOCK_BYTES;
  /** Sizes on each side of the bulk threshold and of the copy block, and odd ones. */
  private static final int[] SIZES = {0, 1, 7, BULK - 1, BULK, BULK + 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5,
      (4 << 20) + 3};

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /** {@code bytes} wrapped in each kind of memory a field may wrap. */
  private static List<ByteString> kinds(Arena arena, byte[] bytes) {
    MemorySegment offHeap = arena.allocate(Math.max(1, bytes.length));
    MemorySegment.copy(bytes, 0, offHeap, ValueLayout.JAVA_BYTE, 0, bytes.length);
    ByteString direct = UnsafeByteOperations.unsafeWrap(offHeap.asSlice(0, bytes.length).asByteBuffer());
    int half = bytes.length / 2;
    // a rope as the aliasing parser makes them: an off-heap piece, then a heap one
    ByteString rope = direct.substring(0, half).concat(ByteString.copyFrom(bytes, half, bytes.length - half));
    return List.of(ByteString.copyFrom(bytes), direct, rope);
  }

  private static byte[] drained(InputStream stream) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int n = ((Drainable) stream).drainTo(out);
    assertEquals(out.size(), n, "drainTo returns the bytes it wrote");
    return out.toByteArray();
  }

  @Test
  void writeTensorChunksOfEverySizeAndMemoryParseBackIntact() throws IOException {
    BulkMarshaller<WriteTensorRequest> m = BulkMarshaller.of(WriteTensorRequest.getDefaultInstance());
    try (Arena arena = Arena.ofConfined()) {
      for (int size : SIZES) {
        byte[] bytes = random(size, size);
        for (ByteString data : kinds(arena, bytes)) {
          WriteTensorRequest msg = WriteTensorRequest.newBuilder().setHandle("t-1").setOffsetBytes(size * 3L)
              .setTotalBytes(1L << 40).setData(data).build();
          InputStream stream = m.stream(msg);
          assertInstanceOf(KnownLength.class, stream);
          assertEquals(msg.getSerializedSize(), stream.available(), "size " + size + ": the stream's length");
          byte[] wire = drained(stream);
          assertEquals(0, stream.available(), "a drained stream is empty");
          WriteTensorRequest back = WriteTensorRequest.parseFrom(wire);
          assertEquals("t-1", back.getHandle());
          assertEquals(size * 3L, back.getOffsetBytes());
          assertEquals(1L << 40, back.getTotalBytes());
          assertArrayEquals(bytes, back.getData().toByteArray(), "size " + size + ": the chunk's bytes");
        }
      }
    }
  }

  @Test
  void repeatedRawContentsKeepTheirOrderBesideTheOtherFields() throws IOException {
    BulkMarshaller<ModelInferRequest> m = BulkMarshaller.of(ModelInferRequest.getDefaultInstance());
    try (Arena arena = Arena.ofConfined()) {
      byte[] large = random(BLOCK + 3, 1);
      byte[] small = random(13, 2);
      byte[] other = random(BULK + 1, 3);
      ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("m").setId("r");
      for (String name : List.of("a", "b", "c", "d")) {
        b.addInputsBuilder().setName(name).setDatatype("UINT8").addShape(1);
      }
      b.addRawInputContents(kinds(arena, large).get(1)).addRawInputContents(ByteString.copyFrom(small))
          .addRawInputContents(ByteString.EMPTY).addRawInputContents(kinds(arena, other).get(2));
      ModelInferRequest msg = b.build();
      InputStream stream = m.stream(msg);
      assertEquals(msg.getSerializedSize(), stream.available());
      ModelInferRequest back = ModelInferRequest.parseFrom(drained(stream));
      assertEquals(msg, back, "the parsed message equals the one streamed");
      assertArrayEquals(large, back.getRawInputContents(0).toByteArray());
      assertArrayEquals(small, back.getRawInputContents(1).toByteArray());
      assertEquals(0, back.getRawInputContents(2).size());
      assertArrayEquals(other, back.getRawInputContents(3).toByteArray());
    }
  }

  @Test
  void aMessageWithoutLargeFieldsIsWrittenAsProtobufWritesIt() throws IOException {
    BulkMarshaller<ModelInferResponse> m = BulkMarshaller.of(ModelInferResponse.getDefaultInstance());
    ModelInferResponse msg = ModelInferResponse.newBuilder().setModelName("m").setId("x")
        .addRawOutputContents(ByteString.copyFrom(random(100, 4))).build();
    assertArrayEquals(msg.toByteArray(), drained(m.stream(msg)));
  }

  @Test
  void readInsteadOfDrainedOrResetTheStreamGivesTheSameMessage() throws IOException {
    BulkMarshaller<ReadTensorResponse> m = BulkMarshaller.of(ReadTensorResponse.getDefaultInstance());
    try (Arena arena = Arena.ofConfined()) {
      byte[] bytes = random(BLOCK + 17, 5);
      ReadTensorResponse msg = ReadTensorResponse.newBuilder().setOffsetBytes(64)
          .setData(kinds(arena, bytes).get(1)).build();
      InputStream stream = m.stream(msg);
      assertTrue(stream.markSupported(), "gRPC's InputStream services hand a markable stream on as it is");
      stream.mark(Integer.MAX_VALUE);
      byte[] head = stream.readNBytes(100);
      stream.reset();
      byte[] all = stream.readAllBytes();
      assertArrayEquals(head, java.util.Arrays.copyOf(all, 100), "reset goes back to the mark");
      assertEquals(msg, ReadTensorResponse.parseFrom(all));

      InputStream drainedOnce = m.stream(msg);
      drained(drainedOnce);
      assertThrows(IOException.class, drainedOnce::reset, "a drained stream cannot be replayed");
      assertThrows(IllegalStateException.class, () -> ((Drainable) drainedOnce).drainTo(new ByteArrayOutputStream()));
    }
  }

  @Test
  void inProcessTheReceiverTakesTheMessageItselfOnce() throws IOException {
    BulkMarshaller<WriteTensorRequest> m = BulkMarshaller.of(WriteTensorRequest.getDefaultInstance());
    WriteTensorRequest msg = WriteTensorRequest.newBuilder().setHandle("h")
        .setData(ByteString.copyFrom(random(BULK * 2, 6))).build();
    assertSame(msg, m.parse(m.stream(msg)), "parsed without a copy");
    assertSame(msg, AliasingMarshaller.of(WriteTensorRequest.getDefaultInstance()).parse(m.stream(msg)),
        "an aliasing marshaller takes it too");
    InputStream stream = m.stream(msg);
    assertSame(msg, m.parse(stream));
    assertThrows(IllegalStateException.class, () -> drained(stream), "a message taken is not written again");
    // a stream of another message type is parsed from its bytes
    InputStream other = BulkMarshaller.of(ReadTensorResponse.getDefaultInstance())
        .stream(ReadTensorResponse.newBuilder().setOffsetBytes(9).build());
    assertEquals(null, BulkMarshaller.unread(other, WriteTensorRequest.class));
    assertEquals(9, ReadTensorResponse.parseFrom(drained(other)).getOffsetBytes());
  }
}
