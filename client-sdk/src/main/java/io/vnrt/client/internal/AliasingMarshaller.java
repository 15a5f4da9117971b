package io.vnrt.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf marshaller whose parsed {@code bytes} fields alias the transport's receive buffers
 * instead of copying them twice, as protobuf's default marshaller does (into a thread-local array,
 * then into each field). gRPC's Netty transport hands a message over as a stream of its buffers
 * ({@link HasByteBuffer}); the stream is marked so that none is released while it is read, viewed
 * as one rope of those buffers and parsed with aliasing. A large bytes field is then a rope of
 * slices of the buffers it arrived in: read it with {@link ByteString#asReadOnlyByteBufferList()}
 * ({@code asReadOnlyByteBuffer()} would flatten it into a copy).
 *
 * <p>The buffers are released when gRPC closes the message's stream, right after the listener's
 * {@code onMessage} (a server handler's, or a client observer's {@code onNext}) returns: the code
 * that receives a message parsed here must copy what it keeps of its bytes fields before
 * returning, and never hand the message to another thread. Streams without buffers (compressed
 * messages, the in-process transport) are parsed by protobuf's own marshaller, except that a
 * message a {@link BulkMarshaller} streamed in-process is taken as it is.
 */
public final class AliasingMarshaller<T extends Message> implements MethodDescriptor.PrototypeMarshaller<T> {
  private final MethodDescriptor.PrototypeMarshaller<T> plain;
  private final Parser<T> parser;

  private AliasingMarshaller(T prototype) {
    this.plain = (MethodDescriptor.PrototypeMarshaller<T>) ProtoUtils.marshaller(prototype);
    @SuppressWarnings("unchecked")
    Parser<T> p = (Parser<T>) prototype.getParserForType();
    this.parser = p;
  }

  /** The marshaller of messages like {@code prototype}. */
  public static <T extends Message> AliasingMarshaller<T> of(T prototype) {
    return new AliasingMarshaller<>(prototype);
  }

  /** {@code method} with its request parsed by an aliasing marshaller. */
  public static <Q extends Message, R> MethodDescriptor<Q, R> aliasingRequests(MethodDescriptor<Q, R> method,
      Q prototype) {
    return method.toBuilder(of(prototype), method.getResponseMarshaller()).build();
  }

  /** {@code method} with its responses parsed by an aliasing marshaller. */
  public static <Q, R extends Message> MethodDescriptor<Q, R> aliasingResponses(MethodDescriptor<Q, R> method,
      R prototype) {
    return method.toBuilder(method.getRequestMarshaller(), of(prototype)).build();
  }

  @Override
  public T getMessagePrototype() {
    return plain.getMessagePrototype();
  }

  @Override
  public Class<T> getMessageClass() {
    return plain.getMessageClass();
  }

  @Override
  public InputStream stream(T value) {
    return plain.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    T unread = BulkMarshaller.unread(stream, getMessageClass());
    if (unread != null) {
      return unread;
    }
    if (!(stream instanceof HasByteBuffer buffers) || !buffers.byteBufferSupported() || !stream.markSupported()) {
      return plain.parse(stream);
    }
    try {
      // marked, the stream keeps every buffer read until gRPC closes it after onMessage
      stream.mark(Integer.MAX_VALUE);
      List<ByteString> parts = new ArrayList<>();
      while (stream.available() > 0) {
        ByteBuffer b = buffers.getByteBuffer();
        if (b == null || !b.hasRemaining()) {
          break;
        }
        int n = b.remaining();
        parts.add(UnsafeByteOperations.unsafeWrap(b));
        if (stream.skip(n) != n) {
          throw new IOException("the message stream skipped fewer bytes than its buffer held");
        }
      }
      if (stream.available() > 0) {
        // a stream that stopped offering buffers part way: parse the rest the ordinary way
        stream.reset();
        return plain.parse(stream);
      }
      CodedInputStream in = ByteString.copyFrom(parts).newCodedInput();
      in.enableAliasing(true);
      in.setSizeLimit(Integer.MAX_VALUE);
      T message = parser.parseFrom(in, ExtensionRegistryLite.getEmptyRegistry());
      in.checkLastTagWas(0);
      return message;
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL.withDescription("invalid protobuf message: " + e.getMessage()).withCause(e)
          .asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("cannot read the message: " + e.getMessage()).withCause(e)
          .asRuntimeException();
    }
  }
}
