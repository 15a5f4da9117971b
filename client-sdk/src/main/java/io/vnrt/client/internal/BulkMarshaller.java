package io.vnrt.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.ByteOutput;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf marshaller for messages carrying tensors in {@code bytes} fields: it writes each
 * large field straight from the memory its {@link ByteString} wraps, in large blocks, and parses
 * like an {@link AliasingMarshaller}. Protobuf's own marshaller writes a message through a
 * {@link CodedOutputStream} of at most 4 KiB, so a field wrapping off-heap memory (a tensor's
 * segment, the pinned HBM of a read) is copied into that buffer 4 KiB at a time and each piece
 * handed on to gRPC's framer; here the framer gets heap arrays as they are and off-heap memory
 * in blocks of up to {@value #BLOCK_BYTES} bytes. (gRPC's framer takes only heap arrays, so
 * off-heap bytes still pass through one heap block on their way into the transport's buffers.)
 *
 * <p>The large fields are written after the message's other fields, which protobuf parsers
 * accept in any order. The message's stream is drained synchronously by gRPC's Netty transport
 * inside {@code onNext}/{@code sendMessage}, so memory a field wraps need only stay valid until
 * that returns; the in-process transport hands the message itself to the other side, whose
 * {@link #parse} (or an {@link AliasingMarshaller}'s) takes it without copying, so there the
 * memory must stay valid until the receiver is done with the message.
 */
public final class BulkMarshaller<T extends Message> implements MethodDescriptor.PrototypeMarshaller<T> {
  /** Fields at least this long are written from their own memory; smaller ones by protobuf. */
  static final int BULK_FIELD_BYTES = 64 << 10;
  /** The largest heap block off-heap bytes are copied through. */
  static final int BLOCK_BYTES = 256 << 10;

  private final AliasingMarshaller<T> parser;
  private final List<FieldDescriptor> bytesFields;

  private BulkMarshaller(T prototype) {
    this.parser = AliasingMarshaller.of(prototype);
    this.bytesFields = prototype.getDescriptorForType().getFields().stream()
        .filter(f -> f.getType() == FieldDescriptor.Type.BYTES)
        .toList();
  }

  /** The marshaller of messages like {@code prototype}. */
  public static <T extends Message> BulkMarshaller<T> of(T prototype) {
    return new BulkMarshaller<>(prototype);
  }

  /** {@code method} with its requests written by a bulk marshaller (and parsed aliasing). */
  public static <Q extends Message, R> MethodDescriptor<Q, R> bulkRequests(MethodDescriptor<Q, R> method,
      Q prototype) {
    return method.toBuilder(of(prototype), method.getResponseMarshaller()).build();
  }

  /** {@code method} with its responses written by a bulk marshaller (and parsed aliasing). */
  public static <Q, R extends Message> MethodDescriptor<Q, R> bulkResponses(MethodDescriptor<Q, R> method,
      R prototype) {
    return method.toBuilder(method.getRequestMarshaller(), of(prototype)).build();
  }

  @Override
  public T getMessagePrototype() {
    return parser.getMessagePrototype();
  }

  @Override
  public Class<T> getMessageClass() {
    return parser.getMessageClass();
  }

  @Override
  public InputStream stream(T value) {
    List<FieldDescriptor> bulk = null;
    for (FieldDescriptor f : bytesFields) {
      if (hasBulk(value, f)) {
        if (bulk == null) {
          bulk = new ArrayList<>(2);
        }
        bulk.add(f);
      }
    }
    return new BulkStream<>(value, bulk == null ? List.of() : bulk);
  }

  private static boolean hasBulk(Message value, FieldDescriptor f) {
    if (f.isRepeated()) {
      for (int i = 0, n = value.getRepeatedFieldCount(f); i < n; i++) {
        if (((ByteString) value.getRepeatedField(f, i)).size() >= BULK_FIELD_BYTES) {
          return true;
        }
      }
      return false;
    }
    return value.hasField(f) && ((ByteString) value.getField(f)).size() >= BULK_FIELD_BYTES;
  }

  @Override
  public T parse(InputStream stream) {
    return parser.parse(stream);
  }

  /**
   * The message {@code stream} carries when a bulk marshaller made it, the message is a
   * {@code type} and nobody read the stream yet (the in-process transport hands streams over
   * as they were made); else null.
   */
  static <M> M unread(InputStream stream, Class<M> type) {
    return stream instanceof BulkStream<?> b && type.isInstance(b.message) ? type.cast(b.takeUnread()) : null;
  }

  /**
   * One message's serialized form, written on demand: drained (the transports' way) it writes
   * the message's small fields through protobuf and its large ones from their own memory; read
   * byte by byte (a fallback nobody in gRPC uses for Drainable streams) it serializes the whole
   * message first.
   */
  private static final class BulkStream<T extends Message> extends InputStream implements Drainable, KnownLength {
    private final T message;
    /** The large fields, written after the rest. */
    private final List<FieldDescriptor> bulk;
    private final Message rest;
    private final int size;
    private boolean consumed;
    /** The serialized message, made only if the stream is read rather than drained. */
    private InputStream fallback;
    /** Bytes read through the fallback, and where the last mark was. */
    private int position;
    private int mark;

    BulkStream(T message, List<FieldDescriptor> bulk) {
      this.message = message;
      this.bulk = bulk;
      this.rest = rest();
      long n = rest.getSerializedSize();
      for (FieldDescriptor f : bulk) {
        for (ByteString b : values(f)) {
          n += CodedOutputStream.computeBytesSize(f.getNumber(), b);
        }
      }
      if (n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("a message of " + n + " bytes is over gRPC's limit of 2 GiB - 1");
      }
      this.size = (int) n;
    }

    /** The message without its large fields. */
    private Message rest() {
      if (bulk.isEmpty()) {
        return message;
      }
      Message.Builder b = message.toBuilder();
      bulk.forEach(b::clearField);
      return b.build();
    }

    private List<ByteString> values(FieldDescriptor f) {
      if (!f.isRepeated()) {
        return List.of((ByteString) message.getField(f));
      }
      int n = message.getRepeatedFieldCount(f);
      List<ByteString> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add((ByteString) message.getRepeatedField(f, i));
      }
      return out;
    }

    synchronized Message takeUnread() {
      if (consumed || fallback != null) {
        return null;
      }
      consumed = true;
      return message;
    }

    @Override
    public synchronized int drainTo(OutputStream target) throws IOException {
      if (consumed || fallback != null) {
        throw new IllegalStateException("the message was already read");
      }
      consumed = true;
      CodedOutputStream small = CodedOutputStream.newInstance(target,
          Math.min(CodedOutputStream.DEFAULT_BUFFER_SIZE, Math.max(16, size)));
      rest.writeTo(small);
      BlockOutput out = null;
      for (FieldDescriptor f : bulk) {
        for (ByteString value : values(f)) {
          small.writeTag(f.getNumber(), com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
          small.writeUInt32NoTag(value.size());
          if (value.size() < BULK_FIELD_BYTES) {
            small.writeRawBytes(value);
            continue;
          }
          small.flush();
          if (out == null) {
            out = new BlockOutput(target, Math.min(BLOCK_BYTES, value.size()));
          }
          UnsafeByteOperations.unsafeWriteTo(value, out);
        }
      }
      small.flush();
      return size;
    }

    private InputStream fallback() {
      if (fallback == null) {
        if (consumed) {
          throw new IllegalStateException("the message was already drained");
        }
        fallback = message.toByteString().newInput();
      }
      return fallback;
    }

    @Override
    public synchronized int read() throws IOException {
      int b = fallback().read();
      if (b >= 0) {
        position++;
      }
      return b;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
      int n = fallback().read(b, off, len);
      if (n > 0) {
        position += n;
      }
      return n;
    }

    @Override
    public synchronized int available() throws IOException {
      if (fallback != null) {
        return fallback.available();
      }
      return consumed ? 0 : size;
    }

    /**
     * True: gRPC's {@code ServerInterceptors.useInputStreamMessages} (which the daemon's services
     * use) hands a stream that supports marks to the transport as it is, where it is drained; any
     * other it wraps in a BufferedInputStream, which the transport can only read byte by byte.
     */
    @Override
    public boolean markSupported() {
      return true;
    }

    @Override
    public synchronized void mark(int readLimit) {
      mark = position;
    }

    @Override
    public synchronized void reset() throws IOException {
      if (consumed && fallback == null) {
        throw new IOException("the message was drained: its stream cannot be reset");
      }
      fallback = null;
      position = 0;
      if (mark > 0) {
        fallback().skipNBytes(mark);
        position = mark;
      }
    }
  }

  /**
   * Hands a field's pieces to gRPC's framer: heap arrays as they are, off-heap memory through one
   * heap block (the framer copies what it is given into the transport's buffers before returning).
   */
  private static final class BlockOutput extends ByteOutput {
    private final OutputStream target;
    private final byte[] block;

    BlockOutput(OutputStream target, int blockBytes) {
      this.target = target;
      this.block = new byte[blockBytes];
    }

    @Override
    public void write(byte value) throws IOException {
      target.write(value);
    }

    @Override
    public void write(byte[] value, int offset, int length) throws IOException {
      target.write(value, offset, length);
    }

    @Override
    public void writeLazy(byte[] value, int offset, int length) throws IOException {
      target.write(value, offset, length);
    }

    @Override
    public void write(ByteBuffer value) throws IOException {
      if (value.hasArray()) {
        target.write(value.array(), value.arrayOffset() + value.position(), value.remaining());
        value.position(value.limit());
        return;
      }
      while (value.hasRemaining()) {
        int n = Math.min(block.length, value.remaining());
        value.get(block, 0, n);
        target.write(block, 0, n);
      }
    }

    @Override
    public void writeLazy(ByteBuffer value) throws IOException {
      write(value);
    }
  }
}
