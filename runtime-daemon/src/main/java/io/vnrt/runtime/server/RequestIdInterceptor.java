package io.vnrt.runtime.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Gives every call a request id, from the client's {@code x-request-id} header or generated, and
 * puts it in the logging MDC as {@value #MDC_KEY} around each of the call's callbacks (which gRPC
 * may run on different threads), so every log line about the request carries it. The id is sent
 * back in the response headers (or the trailers of a call that ends without headers), and the
 * call's end is logged (DEBUG, or INFO for failures).
 */
final class RequestIdInterceptor implements ServerInterceptor {
  /** The header carrying the request id, both ways. */
  static final Metadata.Key<String> HEADER = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
  /** The MDC key of the request id. */
  static final String MDC_KEY = "request_id";
  /** Client ids longer than this are cut, so a client cannot bloat every log line. */
  static final int MAX_ID_LENGTH = 64;

  private static final Logger log = LoggerFactory.getLogger(RequestIdInterceptor.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String id = requestId(headers.get(HEADER));
    String method = call.getMethodDescriptor().getFullMethodName();
    long started = System.nanoTime();
    ServerCall<Q, R> tagged = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      private volatile boolean headersSent;

      @Override
      public void sendHeaders(Metadata responseHeaders) {
        responseHeaders.put(HEADER, id);
        headersSent = true;
        super.sendHeaders(responseHeaders);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        if (!headersSent) {
          trailers.put(HEADER, id);
        }
        withId(id, () -> {
          long micros = (System.nanoTime() - started) / 1_000;
          if (status.isOk()) {
            log.debug("{} OK in {} us", method, micros);
          } else {
            log.info("{} {} in {} us: {}", method, status.getCode(), micros, status.getDescription());
          }
          super.close(status, trailers);
        });
      }
    };
    ServerCall.Listener<Q> listener = withIdCall(id, () -> next.startCall(tagged, headers));
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        withId(id, () -> super.onMessage(message));
      }

      @Override
      public void onHalfClose() {
        withId(id, super::onHalfClose);
      }

      @Override
      public void onCancel() {
        withId(id, () -> {
          log.debug("{} cancelled by the client", method);
          super.onCancel();
        });
      }

      @Override
      public void onComplete() {
        withId(id, super::onComplete);
      }

      @Override
      public void onReady() {
        withId(id, super::onReady);
      }
    };
  }

  /** The client's id if it is printable ASCII without spaces (cut to the limit), else a fresh one. */
  static String requestId(String fromClient) {
    if (fromClient != null && !fromClient.isEmpty() && fromClient.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      return fromClient.length() <= MAX_ID_LENGTH ? fromClient : fromClient.substring(0, MAX_ID_LENGTH);
    }
    byte[] random = new byte[8];
    ThreadLocalRandom.current().nextBytes(random);
    return HexFormat.of().formatHex(random);
  }

  private static void withId(String id, Runnable body) {
    withIdCall(id, () -> {
      body.run();
      return null;
    });
  }

  /** Runs body with the id in the MDC, restoring what the thread had before (nested calls in-process). */
  private static <T> T withIdCall(String id, Supplier<T> body) {
    String outer = MDC.get(MDC_KEY);
    MDC.put(MDC_KEY, id);
    try {
      return body.get();
    } finally {
      if (outer == null) {
        MDC.remove(MDC_KEY);
      } else {
        MDC.put(MDC_KEY, outer);
      }
    }
  }
}
