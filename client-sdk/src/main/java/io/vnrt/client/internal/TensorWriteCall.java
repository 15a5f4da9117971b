package io.vnrt.client.internal;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.WriteTensorRequest;
import io.vnrt.proto.v1.WriteTensorResponse;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
* One WriteTensor stream: sends the source in chunks only while the transport is ready, so a
* large tensor never sits in memory more than a chunk or two beyond the caller's own copy.
*/
public final class TensorWriteCall implements ClientResponseObserver<WriteTensorRequest, WriteTensorResponse> {
  private final String handle;
  private final long offset;
  private final MemorySegment source;
  private final WireFormat format;
  private final int chunkBytes;
  private final CompletableFuture<Long> result = new CompletableFuture<>();
  private ClientCallStreamObserver<WriteTensorRequest> requests;
  private long sent;
  private boolean halfClosed;

  private TensorWriteCall(String handle, long offset, MemorySegment source, WireFormat format, int chunkBytes) {
    this.handle = handle;
    this.offset = offset;
    this.source = source;
    this.format = format;
    int element = format.elementBytes();
    this.chunkBytes = Math.max(element, chunkBytes / element * element);
  }

  /**
  * Writes all of {@code source} into the tensor at byte {@code offset}; the future yields the
  * bytes written. The source must not change until the future completes.
  */
  public static CompletableFuture<Long> start(MemoryGrpc.MemoryStub stub, String handle, long offset,
      MemorySegment source, WireFormat format, int chunkBytes) {
    if (source.byteSize() == 0) {
      return CompletableFuture.completedFuture(0L);
    }
    TensorWriteCall call = new TensorWriteCall(handle, offset, source, format, chunkBytes);
    stub.writeTensor(call);
    return call.result;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<WriteTensorRequest> requestStream) {
    this.requests = requestStream;
    requestStream.setOnReadyHandler(this::pump);
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        requestStream.cancel("cancelled by the caller", null);
      }
    });
  }

  /** Runs on the call's serialized executor whenever the transport can take more. */
  private void pump() {
    while (!halfClosed && !result.isDone() && requests.isReady()) {
      long remaining = source.byteSize() - sent;
      if (remaining == 0) {
        halfClosed = true;
        requests.onCompleted();
        return;
      }
      int n = (int) Math.min(chunkBytes, remaining);
      byte[] chunk = new byte[n];
      format.toWire(source, sent, MemorySegment.ofArray(chunk), n);
      WriteTensorRequest.Builder message = WriteTensorRequest.newBuilder()
          .setOffsetBytes(offset + sent)
          .setData(UnsafeByteOperations.unsafeWrap(chunk));
      if (sent == 0) {
        message.setHandle(handle).setTotalBytes(source.byteSize());
      }
      requests.onNext(message.build());
      sent += n;
    }
  }

  @Override
  public void onNext(WriteTensorResponse value) {
    result.complete(value.getBytesWritten());
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(Errors.translate(t));
  }

  @Override
  public void onCompleted() {
    result.complete(sent);
  }
}
