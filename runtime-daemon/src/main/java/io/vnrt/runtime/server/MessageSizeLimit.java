package io.vnrt.runtime.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.KnownLength;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.ByteSize;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * The daemon's message size limit (--max-message-size), enforced on serialized messages before
 * they are parsed (the services see {@link InputStream}s: {@code ServerInterceptors.useInputStreamMessages}),
 * so that a message over it is refused as a request, in the daemon's words, instead of the
 * transport's cutting the call off: a unary call or server stream ends with RESOURCE_EXHAUSTED
 * naming the size and the limit; an upload (client stream) is cancelled for its handler, which
 * drops what it held, and ends the same way; a bidirectional stream is half-closed for its handler,
 * which answers the requests it already took, and then ends with that status instead of OK.
 * The transport itself reads messages up to {@link #transportLimit(long)}; beyond that it ends
 * the call at once.
 */
final class MessageSizeLimit implements ServerInterceptor {
  private final long limitBytes;

  MessageSizeLimit(long limitBytes) {
    this.limitBytes = limitBytes;
  }

  /**
   * What the transport is allowed to read, so that messages somewhat over the limit still reach
   * this check: a quarter more, at least 64 MiB more, at most gRPC's 2 GiB - 1.
   */
  static int transportLimit(long limitBytes) {
    return (int) Math.min(Integer.MAX_VALUE, limitBytes + Math.max(limitBytes / 4, 64L << 20));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    LimitedCall<Q, R> limited = new LimitedCall<>(call);
    return new Listener<>(next.startCall(limited, headers), limited, call.getMethodDescriptor());
  }

  /** The call, which closes once and, after a refusal, ends with the refusal's status rather than OK. */
  private static final class LimitedCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private boolean closed;
    private StatusRuntimeException refusal;

    LimitedCall(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (closed) {
        return;
      }
      closed = true;
      if (refusal != null && status.isOk()) {
        super.close(refusal.getStatus(), refusal.getTrailers() == null ? new Metadata() : refusal.getTrailers());
      } else {
        super.close(status, trailers);
      }
    }

    synchronized void refuse(StatusRuntimeException status, boolean now) {
      refusal = status;
      if (now) {
        close(Status.OK, new Metadata());
      }
    }
  }

  private final class Listener<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final LimitedCall<Q, R> call;
    private final MethodDescriptor<Q, R> method;
    private boolean refused;

    Listener(ServerCall.Listener<Q> delegate, LimitedCall<Q, R> call, MethodDescriptor<Q, R> method) {
      super(delegate);
      this.call = call;
      this.method = method;
    }

    @Override
    public void onMessage(Q message) {
      if (refused) {
        close(message);
        return;
      }
      if (!(message instanceof InputStream stream)) {
        super.onMessage(message);
        return;
      }
      long size;
      InputStream checked = stream;
      try {
        if (stream instanceof KnownLength) {
          size = stream.available();
        } else {
          // a decompressed message: its size is known only once read, and it is read no further than the limit
          byte[] bytes = readAtMost(stream, limitBytes + 1);
          size = bytes.length > limitBytes ? -1 : bytes.length;
          checked = new ByteArrayInputStream(bytes);
        }
      } catch (IOException | StatusRuntimeException e) {
        size = -1;
      }
      if (size >= 0 && size <= limitBytes) {
        @SuppressWarnings("unchecked")
        Q forwarded = (Q) checked;
        super.onMessage(forwarded);
        return;
      }
      close(message);
      refuse(size);
    }

    private void refuse(long size) {
      refused = true;
      String what = size < 0 ? "a compressed message larger than " + limitBytes + " bytes once decompressed"
          : "a message of " + size + " bytes";
      StatusRuntimeException status = Statuses.status(Status.Code.RESOURCE_EXHAUSTED, NrtCode.NRT_RESOURCE,
          method.getFullMethodName() + ": " + what + " is over the daemon's message size limit of " + limitBytes
              + " bytes (" + ByteSize.format(limitBytes) + ", --max-message-size); send tensors in chunks "
              + "(WriteTensor), through shared memory, or raise --max-message-size",
          Map.of("limit_bytes", String.valueOf(limitBytes), "message_bytes", String.valueOf(size),
              "rpc", method.getFullMethodName()));
      switch (method.getType()) {
        case CLIENT_STREAMING -> {
          // the upload is abandoned: its handler drops what it held, as for a vanished client
          super.onCancel();
          call.refuse(status, true);
        }
        case BIDI_STREAMING -> {
          // the handler answers what it already took, then ends the call, which then carries the refusal
          call.refuse(status, false);
          super.onHalfClose();
        }
        default -> call.refuse(status, true);
      }
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        super.onHalfClose();
      }
    }

    private void close(Q message) {
      if (message instanceof InputStream s) {
        try {
          s.close();
        } catch (IOException e) {
          // nothing more can be done about a buffer that will not release
        }
      }
    }
  }

  private static byte[] readAtMost(InputStream in, long max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[64 << 10];
    long total = 0;
    int n;
    while (total < max && (n = in.read(buffer, 0, (int) Math.min(buffer.length, max - total))) > 0) {
      out.write(buffer, 0, n);
      total += n;
    }
    return out.toByteArray();
  }
}
