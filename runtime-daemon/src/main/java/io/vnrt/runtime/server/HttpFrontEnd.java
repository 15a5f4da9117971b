package io.vnrt.runtime.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import io.vnrt.runtime.memory.SharedMemoryAccess;
import io.vnrt.runtime.metrics.RuntimeMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The REST listener (--http-listen): HTTP/1.1 on Netty's codec, with the gRPC listener's TLS,
 * bearer tokens (health endpoints open, as gRPC's health service is), drain (new requests refused
 * with 503 while in-progress ones finish, counted by the same gate) and metrics, and the same
 * message size limit on bodies (413 over it, the rest of the body read and dropped so the
 * connection stays usable). A request whose body stops arriving for the read timeout is answered
 * 408. Requests run one at a time per connection, in order, on virtual threads, never on Netty's.
 */
final class HttpFrontEnd implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpFrontEnd.class);

  private final EventLoopGroup loops;
  private final ExecutorService workers;
  private final Channel listener;

  private HttpFrontEnd(EventLoopGroup loops, ExecutorService workers, Channel listener) {
    this.loops = loops;
    this.workers = workers;
    this.listener = listener;
  }

  /**
   * What every request of the listener is checked against and counted in; {@code shmAllow} are the file-name
   * patterns of {@code --shm-allow}, which any caller may map.
   */
  record Context(KServeFrontEnd front, AuthInterceptor auth, DrainGate gate, RuntimeMetrics metrics,
      long maxBodyBytes, Duration readTimeout, List<String> shmAllow) {
  }

  /** Listens on {@code address} (port 0 picks one), with TLS when {@code tls} is given. */
  static HttpFrontEnd start(InetSocketAddress address, Optional<SslContext> tls, Context context)
      throws InterruptedException {
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    ExecutorService workers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("vnrt-http-", 0).factory());
    try {
      ServerBootstrap b = new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
          .option(ChannelOption.SO_BACKLOG, 256)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ChannelPipeline p = ch.pipeline();
              tls.ifPresent(t -> p.addLast("tls", t.newHandler(ch.alloc())));
              // a connection's shared-memory regions are its own, as on gRPC, and go when it closes
              SharedMemoryAccess access = new SharedMemoryAccess(
                  CallerIdentity.peerUid(ch.remoteAddress(), ch.localAddress()), context.shmAllow());
              KServeFrontEnd.Caller caller = new KServeFrontEnd.Caller(ch.id(), () -> access);
              ch.closeFuture().addListener(f -> context.front().connectionClosed(ch.id()));
              KServeRest rest = new KServeRest(context.front(), caller, ch.alloc());
              p.addLast("codec", new HttpServerCodec(4096, 16 << 10, 64 << 10));
              p.addLast("timeout", new BodyTimeout(rest, context.readTimeout()));
              p.addLast("aggregate", new Aggregator(rest, context));
              p.addLast("requests", new Requests(rest, context, workers));
            }
          });
      Channel ch = b.bind(address).sync().channel();
      return new HttpFrontEnd(loops, workers, ch);
    } catch (InterruptedException | RuntimeException e) {
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      workers.shutdownNow();
      throw e;
    }
  }

  /** The bound address. */
  InetSocketAddress address() {
    return (InetSocketAddress) listener.localAddress();
  }

  /** Stops listening and closes every connection; requests in progress have had the drain to finish. */
  @Override
  public void close() {
    listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    workers.shutdownNow();
  }

  /** Answers 408 when a started request's body stops arriving for the read timeout. */
  private static final class BodyTimeout extends ChannelDuplexHandler {
    private final KServeRest rest;
    private final Duration timeout;
    private ScheduledFuture<?> timer;
    private long received;
    private long declared;

    BodyTimeout(KServeRest rest, Duration timeout) {
      this.rest = rest;
      this.timeout = timeout;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (msg instanceof HttpRequest r) {
        received = 0;
        declared = declaredLength(r);
        arm(ctx);
      }
      if (msg instanceof HttpContent c) {
        received += c.content().readableBytes();
        if (msg instanceof LastHttpContent) {
          disarm();
        } else {
          arm(ctx);
        }
      }
      super.channelRead(ctx, msg);
    }

    /** The Content-Length, or -1 when absent or unreadable (the request handler answers that one). */
    private static long declaredLength(HttpMessage m) {
      try {
        return m.decoderResult().isSuccess() ? HttpUtil.getContentLength(m, -1L) : -1;
      } catch (NumberFormatException e) {
        return -1;
      }
    }

    private void arm(ChannelHandlerContext ctx) {
      disarm();
      timer = ctx.executor().schedule(() -> expire(ctx), timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void disarm() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    private void expire(ChannelHandlerContext ctx) {
      timer = null;
      KServeRest.Response r = rest.error(408, "the request's body stopped arriving: " + received + " bytes came"
          + (declared >= 0 ? " of the " + declared + " its Content-Length declared" : "") + ", none for "
          + timeout.toMillis() + " ms");
      log.info("HTTP request timed out after {} bytes (Content-Length {})", received, declared);
      ctx.writeAndFlush(response(r, false, "")).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      disarm();
      super.channelInactive(ctx);
    }
  }

  /** Netty's aggregation, answering a body over the limit with KServe's error body. */
  private static final class Aggregator extends HttpObjectAggregator {
    private final KServeRest rest;
    private final Context context;

    Aggregator(KServeRest rest, Context context) {
      super((int) Math.min(Integer.MAX_VALUE, context.maxBodyBytes()), true);
      this.rest = rest;
      this.context = context;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      long length = BodyTimeout.declaredLength(oversized);
      KServeRest.Response r = rest.error(413, "the request body" + (length >= 0 ? " of " + length + " bytes" : "")
          + " is over the daemon's message size limit of " + context.maxBodyBytes() + " bytes (--max-message-size); "
          + "send tensors through shared memory, or raise --max-message-size");
      String uri = oversized instanceof HttpRequest req ? req.uri() : "";
      context.metrics().httpRequestCompleted(oversized instanceof HttpRequest req ? req.method().name() : "?",
          "(too large)", 413);
      log.info("HTTP {} {} 413: {}", oversized instanceof HttpRequest req ? req.method() : "?", uri, r.error());
      // the rest of the body is read and dropped (the aggregator's handling), so a kept-alive connection stays usable
      boolean keep = HttpUtil.isKeepAlive(oversized) && !(oversized instanceof FullHttpRequest);
      var future = ctx.writeAndFlush(response(r, keep, ""));
      if (!keep) {
        future.addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  /** The requests of one connection, answered one at a time in arrival order. */
  private static final class Requests extends ChannelInboundHandlerAdapter {
    private final KServeRest rest;
    private final Context context;
    private final ExecutorService workers;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    private boolean busy;

    Requests(KServeRest rest, Context context, ExecutorService workers) {
      this.rest = rest;
      this.context = context;
      this.workers = workers;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof FullHttpRequest request)) {
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      waiting.add(request);
      next(ctx);
    }

    private void next(ChannelHandlerContext ctx) {
      if (busy || waiting.isEmpty()) {
        ctx.channel().config().setAutoRead(true);
        return;
      }
      busy = true;
      // no more requests read until this one is answered
      ctx.channel().config().setAutoRead(false);
      FullHttpRequest request = waiting.poll();
      workers.execute(() -> answer(ctx, request));
    }

    private void answer(ChannelHandlerContext ctx, FullHttpRequest request) {
      boolean keep = HttpUtil.isKeepAlive(request) && request.decoderResult().isSuccess();
      String id = RequestIdInterceptor.requestId(request.headers().get(RequestIdInterceptor.HEADER.name()));
      FullHttpResponse response;
      MDC.put(RequestIdInterceptor.MDC_KEY, id);
      try {
        response = response(handle(request, id), keep, id);
        if (request.method().equals(HttpMethod.HEAD)) {
          response.content().clear();
        }
      } finally {
        MDC.remove(RequestIdInterceptor.MDC_KEY);
        request.release();
      }
      ctx.writeAndFlush(response).addListener(f -> {
        if (!keep || !f.isSuccess()) {
          ctx.close();
          return;
        }
        ctx.executor().execute(() -> {
          busy = false;
          next(ctx);
        });
      });
    }

    /** Routes, checks credentials and the drain, runs the route; every outcome counted and logged. */
    private KServeRest.Response handle(FullHttpRequest request, String id) {
      long started = System.nanoTime();
      HttpMethod method = request.method();
      QueryStringDecoder uri = new QueryStringDecoder(request.uri());
      List<String> path = new ArrayList<>();
      for (String s : uri.rawPath().split("/")) {
        if (!s.isEmpty()) {
          path.add(QueryStringDecoder.decodeComponent(s));
        }
      }
      KServeRest.Route route = rest.route(method, path);
      KServeRest.Response r;
      if (request.decoderResult().isFailure()) {
        Throwable cause = request.decoderResult().cause();
        r = rest.error(400, "malformed HTTP request: " + (cause == null ? "unreadable" : cause.getMessage()));
      } else {
        boolean open = route.template().startsWith("/v2/health");
        r = open ? null : refusal(request);
        if (r == null) {
          boolean counted = open || context.gate().tryEnter();
          if (!counted) {
            r = rest.error(503, "the daemon is draining before it shuts down and takes no new work; retry on "
                + "another daemon");
          } else {
            try {
              r = route.handler().handle(request.content(), headerLength(request), gone);
            } catch (Exception e) {
              r = rest.failure(e);
            } finally {
              if (!open) {
                context.gate().exit();
              }
            }
          }
        }
      }
      context.metrics().httpRequestCompleted(method.name(), route.template(), r.status());
      long micros = (System.nanoTime() - started) / 1000;
      if (r.error() == null) {
        // a success, or an answer such as "not ready" that is not a failure
        log.debug("HTTP {} {} {} in {} us", method, route.template(), r.status(), micros);
      } else {
        log.info("HTTP {} {} {} in {} us: {}", method, route.template(), r.status(), micros, r.error());
      }
      return r;
    }

    /** 401 without a bearer token, 403 with a wrong one, when the daemon needs one; null when the caller may go on. */
    private KServeRest.Response refusal(FullHttpRequest request) {
      String header = request.headers().get(HttpHeaderNames.AUTHORIZATION);
      Optional<String> why = context.auth().checkUser(header);
      if (why.isEmpty()) {
        return null;
      }
      return rest.error(AuthInterceptor.bearer(header).isEmpty() ? 401 : 403, why.get());
    }

    private static Optional<Integer> headerLength(FullHttpRequest request) {
      String v = request.headers().get(KServeRest.HEADER_LENGTH);
      if (v == null) {
        return Optional.empty();
      }
      try {
        return Optional.of(Integer.parseInt(v.strip()));
      } catch (NumberFormatException e) {
        return Optional.of(-1);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      gone.complete(null);
      waiting.forEach(FullHttpRequest::release);
      waiting.clear();
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a reset connection or a TLS failure ends that connection only
      log.debug("HTTP connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }

  /** The Netty response of {@code r}, with its length, content type, request id and connection headers. */
  private static FullHttpResponse response(KServeRest.Response r, boolean keepAlive, String requestId) {
    ByteBuf body = r.body() == null ? Unpooled.EMPTY_BUFFER : r.body();
    FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
        body);
    out.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    if (r.headerLength() >= 0) {
      out.headers().setInt(KServeRest.HEADER_LENGTH, r.headerLength());
    }
    if (!requestId.isEmpty()) {
      out.headers().set(RequestIdInterceptor.HEADER.name(), requestId);
    }
    if (r.status() == 401) {
      out.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
    }
    out.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
    return out;
  }
}
