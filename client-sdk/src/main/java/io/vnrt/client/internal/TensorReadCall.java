package io.vnrt.client.internal;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.client.VnrtException;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.proto.v1.ReadTensorRequest;
import io.vnrt.proto.v1.ReadTensorResponse;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
* One ReadTensor stream: copies each chunk into the destination as it arrives; gRPC asks for
* the next chunk only after this one is consumed, so nothing piles up.
*/
public final class TensorReadCall implements ClientResponseObserver<ReadTensorRequest, ReadTensorResponse> {
  private final long offset;
  private final MemorySegment destination;
  private final WireFormat format;
  private final CompletableFuture<Long> result = new CompletableFuture<>();
  private ClientCallStreamObserver<ReadTensorRequest> call;
  private long received;

  private TensorReadCall(long offset, MemorySegment destination, WireFormat format) {
    this.offset = offset;
    this.destination = destination;
    this.format = format;
  }

  /**
  * Reads {@code destination.byteSize()} bytes of the tensor from byte {@code offset}; the
  * future yields the bytes read.
  */
  public static CompletableFuture<Long> start(MemoryGrpc.MemoryStub stub, String handle, long offset,
      MemorySegment destination, WireFormat format, int chunkBytes) {
    if (destination.byteSize() == 0) {
      return CompletableFuture.completedFuture(0L);
    }
    int element = format.elementBytes();
    ReadTensorRequest request = ReadTensorRequest.newBuilder()
        .setHandle(handle)
        .setOffsetBytes(offset)
        .setLengthBytes(destination.byteSize())
        .setChunkBytes(Math.max(element, chunkBytes / element * element))
        .build();
    TensorReadCall read = new TensorReadCall(offset, destination, format);
    stub.readTensor(request, read);
    return read.result;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ReadTensorRequest> requestStream) {
    this.call = requestStream;
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        requestStream.cancel("cancelled by the caller", null);
      }
    });
  }

  @Override
  public void onNext(ReadTensorResponse chunk) {
    if (result.isDone()) {
      return;
    }
    long at = chunk.getOffsetBytes() - offset;
    long n = chunk.getData().size();
    if (at != received || received + n > destination.byteSize() || n % format.elementBytes() != 0) {
      fail("the daemon sent " + n + " bytes at offset " + chunk.getOffsetBytes() + " but the read expected "
          + "the next chunk at offset " + (offset + received) + " within " + destination.byteSize()
          + " bytes, in whole elements of " + format.elementBytes() + " bytes");
      return;
    }
    format.fromWire(MemorySegment.ofBuffer(chunk.getData().asReadOnlyByteBuffer()), destination, received, n);
    received += n;
  }

  private void fail(String message) {
    call.cancel(message, null);
    result.completeExceptionally(new VnrtException(Status.Code.INTERNAL, NrtCode.NRT_FAILURE, message, Map.of(),
        null));
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(Errors.translate(t));
  }

  @Override
  public void onCompleted() {
    if (received != destination.byteSize()) {
      fail("the daemon ended the read after " + received + " of " + destination.byteSize() + " bytes");
    } else {
      result.complete(received);
    }
  }
}
