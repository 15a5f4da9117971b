package io.vnrt.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.WriteTensorRequest;
import io.vnrt.proto.v1.WriteTensorResponse;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
 * One WriteTensor stream: sends the source in chunks only while the transport is ready, so a
 * large tensor never sits in memory more than a chunk or two beyond the caller's own copy.
 * Asynchronous writes produce chunks on gRPC's threads; blocking writes on the caller's thread,
 * so that a thread-confined source segment works too.
 */
public final class TensorWriteCall implements ClientResponseObserver<WriteTensorRequest, WriteTensorResponse> {
  private final String handle;
  private final long offset;
  private final MemorySegment source;
  private final WireFormat format;
  private final int chunkBytes;
  private final boolean blocking;
  private final boolean alias;
  /**
   * WriteTensor with its chunks written from the source's memory in large blocks (protobuf's own
   * marshaller would copy a chunk wrapping off-heap memory 4 KiB at a time).
   */
  private static final MethodDescriptor<WriteTensorRequest, WriteTensorResponse> BULK_WRITE =
      BulkMarshaller.bulkRequests(MemoryGrpc.getWriteTensorMethod(), WriteTensorRequest.getDefaultInstance());
  /**
   * Bytes gRPC may hold queued for the transport before the writer waits for it: two 4 MiB chunks,
   * so the next chunk is serialized while the transport sends the last (gRPC's default, 32 KiB,
   * lets at most one chunk be queued at a time).
   */
  static final int ON_READY_THRESHOLD_BYTES = 8 << 20;

  private final CompletableFuture<Long> result = new CompletableFuture<>();
  /** Wakes a blocking writer when the transport becomes ready or the call ends. */
  private final Object readiness = new Object();
  private ClientCallStreamObserver<WriteTensorRequest> requests;
  private long sent;
  private boolean halfClosed;

  private TensorWriteCall(String handle, long offset, MemorySegment source, WireFormat format, int chunkBytes,
      boolean blocking) {
    this.handle = handle;
    this.offset = offset;
    this.source = source;
    this.format = format;
    int element = format.elementBytes();
    this.chunkBytes = Math.max(element, chunkBytes / element * element);
    this.blocking = blocking;
    this.alias = format.canAlias(source);
  }

  /**
   * Writes all of {@code source} into the tensor at byte {@code offset}; the future yields the
   * bytes written. The source must be readable from any thread and unchanged until the future completes.
   */
  public static CompletableFuture<Long> start(MemoryGrpc.MemoryStub stub, String handle, long offset,
      MemorySegment source, WireFormat format, int chunkBytes) {
    WireFormat.requireShared(source, "write");
    if (source.byteSize() == 0) {
      return CompletableFuture.completedFuture(0L);
    }
    TensorWriteCall call = new TensorWriteCall(handle, offset, source, format, chunkBytes, false);
    call.begin(stub);
    return call.result;
  }

  /** Writes all of {@code source} at byte {@code offset}, producing chunks on this thread; returns the bytes written. */
  public static long write(MemoryGrpc.MemoryStub stub, String handle, long offset, MemorySegment source,
      WireFormat format, int chunkBytes) {
    if (source.byteSize() == 0) {
      return 0;
    }
    TensorWriteCall call = new TensorWriteCall(handle, offset, source, format, chunkBytes, true);
    call.begin(stub);
    try {
      while (!call.halfClosed) {
        synchronized (call.readiness) {
          while (!call.result.isDone() && !call.requests.isReady()) {
            call.readiness.wait();
          }
        }
        if (call.result.isDone()) {
          break;
        }
        call.sendOne();
      }
    } catch (InterruptedException e) {
      call.requests.cancel("the writing thread was interrupted", e);
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      call.requests.cancel("the write failed in the client", e);
      throw e;
    }
    return Errors.await(call.result);
  }

  private void begin(MemoryGrpc.MemoryStub stub) {
    ClientCalls.asyncClientStreamingCall(stub.getChannel().newCall(BULK_WRITE,
        stub.getCallOptions().withOnReadyThreshold(ON_READY_THRESHOLD_BYTES)), this);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<WriteTensorRequest> requestStream) {
    this.requests = requestStream;
    requestStream.setOnReadyHandler(blocking ? this::wake : this::pump);
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        requestStream.cancel("cancelled by the caller", null);
      }
    });
  }

  private void wake() {
    synchronized (readiness) {
      readiness.notifyAll();
    }
  }

  /** Runs on the call's serialized executor whenever the transport can take more. */
  private void pump() {
    while (!halfClosed && !result.isDone() && requests.isReady()) {
      sendOne();
    }
  }

  /** Sends the next chunk, or half-closes once everything was sent. */
  private void sendOne() {
    long remaining = source.byteSize() - sent;
    if (remaining == 0) {
      halfClosed = true;
      requests.onCompleted();
      return;
    }
    int n = (int) Math.min(chunkBytes, remaining);
    ByteString data;
    if (alias) {
      // the call completes only after the daemon consumed every chunk, and the source must not
      // change until then: the chunk may wrap it
      data = UnsafeByteOperations.unsafeWrap(source.asSlice(sent, n).asByteBuffer());
    } else {
      byte[] chunk = new byte[n];
      format.toWire(source, sent, MemorySegment.ofArray(chunk), n);
      data = UnsafeByteOperations.unsafeWrap(chunk);
    }
    WriteTensorRequest.Builder message = WriteTensorRequest.newBuilder()
        .setOffsetBytes(offset + sent)
        .setData(data);
    if (sent == 0) {
      message.setHandle(handle).setTotalBytes(source.byteSize());
    }
    requests.onNext(message.build());
    sent += n;
  }

  @Override
  public void onNext(WriteTensorResponse value) {
    result.complete(value.getBytesWritten());
    wake();
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(Errors.translate(t));
    wake();
  }

  @Override
  public void onCompleted() {
    result.complete(sent);
    wake();
  }
}
