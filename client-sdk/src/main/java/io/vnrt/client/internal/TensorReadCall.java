package io.vnrt.client.internal;

import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.client.VnrtException;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.ReadTensorRequest;
import io.vnrt.proto.v1.ReadTensorResponse;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One ReadTensor stream. Reads into a destination usable from any thread copy each chunk into it
 * on gRPC's thread as it arrives, straight from the transport's buffers (the chunks are parsed by
 * an {@link AliasingMarshaller}); blocking reads into a thread-confined destination hand chunks
 * to the caller's thread, parsed the ordinary way, and ask for the next only when one is
 * consumed. Either way at most a few chunks are in flight.
 */
public final class TensorReadCall implements ClientResponseObserver<ReadTensorRequest, ReadTensorResponse> {
  /** Chunks a blocking reader lets the daemon send ahead. */
  private static final int AHEAD = 2;
  private static final Object END = new Object();
  /** ReadTensor with its chunks aliasing the transport's buffers while onNext runs. */
  private static final MethodDescriptor<ReadTensorRequest, ReadTensorResponse> ALIASED_READ =
      AliasingMarshaller.aliasingResponses(MemoryGrpc.getReadTensorMethod(), ReadTensorResponse.getDefaultInstance());

  private final long offset;
  private final MemorySegment destination;
  private final WireFormat format;
  private final boolean blocking;
  private final CompletableFuture<Long> result = new CompletableFuture<>();
  /** Chunks, then END or a Throwable, for a blocking reader; bounded by the AHEAD requests. */
  private final BlockingQueue<Object> arrivals = new LinkedBlockingQueue<>();
  private ClientCallStreamObserver<ReadTensorRequest> call;
  private long received;

  private TensorReadCall(long offset, MemorySegment destination, WireFormat format, boolean blocking) {
    this.offset = offset;
    this.destination = destination;
    this.format = format;
    this.blocking = blocking;
  }

  private static ReadTensorRequest request(String handle, long offset, long length, WireFormat format,
      int chunkBytes) {
    int element = format.elementBytes();
    return ReadTensorRequest.newBuilder()
        .setHandle(handle)
        .setOffsetBytes(offset)
        .setLengthBytes(length)
        .setChunkBytes(Math.max(element, chunkBytes / element * element))
        .build();
  }

  /**
   * Reads {@code destination.byteSize()} bytes of the tensor from byte {@code offset} into a
   * destination usable from any thread; the future yields the bytes read.
   */
  public static CompletableFuture<Long> start(MemoryGrpc.MemoryStub stub, String handle, long offset,
      MemorySegment destination, WireFormat format, int chunkBytes) {
    WireFormat.requireShared(destination, "read");
    if (destination.byteSize() == 0) {
      return CompletableFuture.completedFuture(0L);
    }
    TensorReadCall read = new TensorReadCall(offset, destination, format, false);
    ClientCalls.asyncServerStreamingCall(stub.getChannel().newCall(ALIASED_READ, stub.getCallOptions()),
        request(handle, offset, destination.byteSize(), format, chunkBytes), read);
    return read.result;
  }

  /** Reads into {@code destination} from byte {@code offset}, copying on this thread; returns the bytes read. */
  public static long read(MemoryGrpc.MemoryStub stub, String handle, long offset, MemorySegment destination,
      WireFormat format, int chunkBytes) {
    if (destination.byteSize() == 0) {
      return 0;
    }
    if (WireFormat.isShared(destination)) {
      // nothing ties the copy to this thread: let gRPC's do it as chunks arrive
      return Errors.await(start(stub, handle, offset, destination, format, chunkBytes));
    }
    TensorReadCall read = new TensorReadCall(offset, destination, format, true);
    stub.readTensor(request(handle, offset, destination.byteSize(), format, chunkBytes), read);
    try {
      for (;;) {
        Object next = read.arrivals.take();
        if (next == END) {
          read.finish();
          break;
        }
        if (next instanceof Throwable t) {
          read.result.completeExceptionally(Errors.translate(t));
          break;
        }
        read.accept((ReadTensorResponse) next);
        if (read.result.isDone()) {
          break;
        }
        read.call.request(1);
      }
    } catch (InterruptedException e) {
      read.call.cancel("the reading thread was interrupted", e);
      Thread.currentThread().interrupt();
    }
    return Errors.await(read.result);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ReadTensorRequest> requestStream) {
    this.call = requestStream;
    if (blocking) {
      requestStream.disableAutoRequestWithInitial(AHEAD);
    }
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        requestStream.cancel("cancelled by the caller", null);
      }
    });
  }

  @Override
  public void onNext(ReadTensorResponse chunk) {
    if (blocking) {
      arrivals.add(chunk);
    } else {
      accept(chunk);
    }
  }

  /** Checks a chunk's place and copies it into the destination. */
  private void accept(ReadTensorResponse chunk) {
    if (result.isDone()) {
      return;
    }
    long at = chunk.getOffsetBytes() - offset;
    long n = chunk.getData().size();
    if (at != received || n > destination.byteSize() - received || n % format.elementBytes() != 0) {
      fail("the daemon sent " + n + " bytes at offset " + chunk.getOffsetBytes() + " but the read expected the "
          + "next chunk at offset " + (offset + received) + " within " + destination.byteSize() + " bytes, in "
          + "whole elements of " + format.elementBytes() + " bytes");
      return;
    }
    if (format.isByteCopy()) {
      // a rope of the transport's buffers, whose ends need not fall between elements: copy each piece
      long to = received;
      for (ByteBuffer piece : chunk.getData().asReadOnlyByteBufferList()) {
        MemorySegment.copy(MemorySegment.ofBuffer(piece), 0, destination, to, piece.remaining());
        to += piece.remaining();
      }
    } else {
      format.fromWire(MemorySegment.ofArray(chunk.getData().toByteArray()), destination, received, n);
    }
    received += n;
  }

  private void fail(String message) {
    call.cancel(message, null);
    result.completeExceptionally(new VnrtException(Status.Code.INTERNAL, NrtCode.NRT_FAILURE, message, Map.of(),
        null));
  }

  private void finish() {
    if (received != destination.byteSize()) {
      fail("the daemon ended the read after " + received + " of " + destination.byteSize() + " bytes");
    } else {
      result.complete(received);
    }
  }

  @Override
  public void onError(Throwable t) {
    if (blocking) {
      arrivals.add(t);
    } else {
      result.completeExceptionally(Errors.translate(t));
    }
  }

  @Override
  public void onCompleted() {
    if (blocking) {
      arrivals.add(END);
    } else {
      finish();
    }
  }
}
