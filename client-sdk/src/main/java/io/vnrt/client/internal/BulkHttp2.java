package io.vnrt.client.internal;

import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.netty.buffer.AdaptiveByteBufAllocator;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocator;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.ByteToMessageDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;

/**
 * The HTTP/2 side of moving tensors over gRPC's Netty transport, set on a connection once gRPC's
 * handler is in its pipeline. grpc-java leaves two things at their defaults that cost a copy or a
 * frame every 16 KiB of a tensor, and offers no setting for either:
 *
 * <ul>
 *   <li>Its decoder merges what each socket read returns into one buffer whenever a frame spans two
 *       reads, which with 16 KiB frames and 64 KiB reads is nearly every read: every byte received
 *       was copied once more. Composed instead, a frame's payload is a slice over the reads'
 *       own buffers, which the {@link AliasingMarshaller} parses as a rope.
 *   <li>It announces HTTP/2's smallest SETTINGS_MAX_FRAME_SIZE, 16 KiB, so a peer sends a 4 MiB chunk as
 *       256 DATA frames, each with its own header, buffer slice, flow-control step and write.
 *       Announcing {@value #MAX_FRAME_BYTES} bytes lets any peer that honours the setting (grpc-java,
 *       gRPC's C core under Python and C++ clients) send larger ones.
 * </ul>
 *
 * <p>Connections set up here also take their buffers from {@link #ALLOCATOR} rather than gRPC's pooled
 * allocator, whose 2 MiB chunks are freed when they empty and allocated (and zeroed) again by the next
 * message: every chunk's worth of a tensor cost an allocation and a memset.
 *
 * <p>Nothing else changes: message limits, flow-control windows and the frames this end sends are
 * gRPC's and the peer's.
 */
public final class BulkHttp2 {
  /** The largest DATA frame this end accepts: 1 MiB, a quarter of the SDK's chunks, so frames of a chunk pipeline. */
  public static final int MAX_FRAME_BYTES = 1 << 20;

  /**
   * The buffers of the connections set up here: Netty's adaptive allocator, which keeps the chunks it empties
   * for the next buffers, caching them for the threads that write messages too (a client's, a server's
   * executor).
   */
  public static final ByteBufAllocator ALLOCATOR = new AdaptiveByteBufAllocator(true, true);

  private BulkHttp2() {
  }

  /**
   * Adds, at the head of {@code channel}'s pipeline, a handler that configures gRPC's HTTP/2 handler
   * once it is there (after the protocol negotiation: at once for plaintext, after the TLS handshake) and
   * then removes itself. Call before the channel is registered, so that it sees the first read.
   */
  public static void configure(Channel channel) {
    channel.pipeline().addFirst(new Configurer());
  }

  /** Waits for gRPC's handler in the pipeline, configures it before it reads the next bytes, then leaves. */
  private static final class Configurer extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      GrpcHttp2ConnectionHandler grpc = ctx.pipeline().get(GrpcHttp2ConnectionHandler.class);
      if (grpc != null) {
        // its connection preface is out (it is sent as the handler is added to an active channel), so a
        // second SETTINGS frame is in order; the decoder applies it when the peer acknowledges it
        grpc.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        ChannelHandlerContext grpcContext = ctx.pipeline().context(grpc);
        grpc.encoder().writeSettings(grpcContext, new Http2Settings().maxFrameSize(MAX_FRAME_BYTES),
            grpcContext.newPromise());
        grpcContext.flush();
        ctx.pipeline().remove(this);
      }
      ctx.fireChannelRead(msg);
    }
  }
}
