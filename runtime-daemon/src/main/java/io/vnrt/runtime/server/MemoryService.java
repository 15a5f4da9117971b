package io.vnrt.runtime.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.AllocateTensorRequest;
import io.vnrt.proto.v1.CategoryUsage;
import io.vnrt.proto.v1.CopyTensorRequest;
import io.vnrt.proto.v1.CopyTensorResponse;
import io.vnrt.proto.v1.CoreUsage;
import io.vnrt.proto.v1.DeviceMemoryStats;
import io.vnrt.proto.v1.FreeTensorRequest;
import io.vnrt.proto.v1.FreeTensorResponse;
import io.vnrt.proto.v1.GetMemoryStatsRequest;
import io.vnrt.proto.v1.GetMemoryStatsResponse;
import io.vnrt.proto.v1.GetTensorRequest;
import io.vnrt.proto.v1.ListSharedMemoryRequest;
import io.vnrt.proto.v1.ModelUsage;
import io.vnrt.runtime.models.ModelEntry;
import io.vnrt.proto.v1.ListSharedMemoryResponse;
import io.vnrt.proto.v1.ListTensorsRequest;
import io.vnrt.proto.v1.ListTensorsResponse;
import io.vnrt.proto.v1.MemoryCategory;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ReadTensorRequest;
import io.vnrt.proto.v1.ReadTensorResponse;
import io.vnrt.proto.v1.RegisterSharedMemoryRequest;
import io.vnrt.proto.v1.SessionUsage;
import io.vnrt.proto.v1.SharedMemoryRegion;
import io.vnrt.proto.v1.SliceTensorRequest;
import io.vnrt.proto.v1.TensorInfo;
import io.vnrt.proto.v1.UnregisterSharedMemoryRequest;
import io.vnrt.proto.v1.UnregisterSharedMemoryResponse;
import io.vnrt.proto.v1.WriteTensorRequest;
import io.vnrt.proto.v1.WriteTensorResponse;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.memory.MemoryStats;
import io.vnrt.runtime.session.DType;
import io.vnrt.runtime.session.Session;
import io.vnrt.runtime.session.Tensor;
import io.vnrt.runtime.session.TensorRead;
import io.vnrt.runtime.session.TensorWrite;
import java.util.List;
import java.util.Map;

/**
 * vnrt.v1.Memory: tensors of the calling session. Streams copy each chunk straight between the
 * message and HBM, and reads send only while the transport is ready, so a tensor of any size
 * moves with a few chunks in flight.
 */
final class MemoryService extends MemoryGrpc.MemoryImplBase {

  private final VnrtRuntime runtime;
  private final boolean aliasReadChunks;
  private final StreamIdleWatch idleStreams;

  /**
   * @param aliasReadChunks true when the transport serializes each message inside onNext (Netty):
   *     a read chunk may then wrap the pinned HBM instead of being copied first
   * @param idleStreams ends WriteTensor streams that go quiet
   */
  MemoryService(VnrtRuntime runtime, boolean aliasReadChunks, StreamIdleWatch idleStreams) {
    this.runtime = runtime;
    this.aliasReadChunks = aliasReadChunks;
    this.idleStreams = idleStreams;
  }

  @Override
  public void allocateTensor(AllocateTensorRequest request, StreamObserver<TensorInfo> response) {
    Calls.unary(response, () -> TensorMessages.info(
        SessionInterceptor.current().allocate(TensorMessages.toRequest(request))));
  }

  @Override
  public void freeTensor(FreeTensorRequest request, StreamObserver<FreeTensorResponse> response) {
    Calls.unary(response, () -> FreeTensorResponse.newBuilder()
        .setFreedBytes(SessionInterceptor.current().free(request.getHandle()))
        .build());
  }

  @Override
  public void getTensor(GetTensorRequest request, StreamObserver<TensorInfo> response) {
    Calls.unary(response, () -> TensorMessages.info(SessionInterceptor.current().tensor(request.getHandle())));
  }

  @Override
  public void listTensors(ListTensorsRequest request, StreamObserver<ListTensorsResponse> response) {
    Calls.unary(response, () -> {
      ListTensorsResponse.Builder out = ListTensorsResponse.newBuilder();
      SessionInterceptor.current().tensors().forEach(t -> out.addTensors(TensorMessages.info(t)));
      return out.build();
    });
  }

  @Override
  public void copyTensor(CopyTensorRequest r, StreamObserver<CopyTensorResponse> response) {
    Calls.unary(response, () -> CopyTensorResponse.newBuilder()
        .setBytesCopied(SessionInterceptor.current().copy(r.getSrcHandle(), r.getSrcOffsetBytes(), r.getDstHandle(),
            r.getDstOffsetBytes(), r.getLengthBytes()))
        .build());
  }

  @Override
  public void sliceTensor(SliceTensorRequest r, StreamObserver<TensorInfo> response) {
    Calls.unary(response, () -> {
      DType dtype = r.getDtypeValue() == 0 ? DType.RAW : TensorMessages.dtype(r.getDtype(), r.getDtypeValue());
      Tensor slice = SessionInterceptor.current().slice(r.getHandle(), r.getOffsetBytes(), r.getSizeBytes(), dtype,
          r.getShapeList(), r.getName());
      return TensorMessages.info(slice);
    });
  }

  @Override
  public StreamObserver<WriteTensorRequest> writeTensor(StreamObserver<WriteTensorResponse> response) {
    return new WriteStream(SessionInterceptor.current(), response, idleStreams);
  }

  /** Receives one WriteTensor stream; gRPC asks for the next chunk only after this one is copied. */
  private static final class WriteStream extends ClientUpload<WriteTensorRequest, WriteTensorResponse> {
    private final Session session;
    private TensorWrite write;

    WriteStream(Session session, StreamObserver<WriteTensorResponse> response, StreamIdleWatch idleStreams) {
      super(response, idleStreams);
      this.session = session;
    }

    @Override
    void accept(WriteTensorRequest chunk) {
      if (write == null) {
        if (chunk.getHandle().isEmpty()) {
          throw VnrtRuntimeException.invalid("the first WriteTensor message must name the tensor's handle");
        }
        write = session.beginWrite(chunk.getHandle(), chunk.getOffsetBytes(), chunk.getTotalBytes());
      } else if (!chunk.getHandle().isEmpty() && !chunk.getHandle().equals(write.tensor().handle())) {
        throw VnrtRuntimeException.invalid("a WriteTensor stream writes one tensor: a later message names another "
            + "handle; leave handle empty after the first message");
      } else if (chunk.getTotalBytes() != 0 && chunk.getTotalBytes() != write.totalBytes()) {
        throw VnrtRuntimeException.invalid("a later WriteTensor message says total_bytes "
            + Long.toUnsignedString(chunk.getTotalBytes()) + " but the first said " + write.totalBytes()
            + "; leave it 0 after the first message", "total_bytes", Long.toUnsignedString(chunk.getTotalBytes()));
      }
      // a rope of the transport's buffers: copied into HBM piece by piece, never flattened first
      write.chunk(chunk.getOffsetBytes(), chunk.getData().asReadOnlyByteBufferList());
    }

    @Override
    WriteTensorResponse finish() {
      if (write == null) {
        throw VnrtRuntimeException.invalid("the WriteTensor stream ended without a message; the first must name "
            + "the tensor's handle");
      }
      return WriteTensorResponse.newBuilder().setBytesWritten(write.finish()).build();
    }

    @Override
    void release() {
      // the tensor's pin: the bytes already written stay written
      if (write != null) {
        write.close();
      }
    }
  }

  @Override
  public void readTensor(ReadTensorRequest request, StreamObserver<ReadTensorResponse> response) {
    long chunk = request.getChunkBytes() == 0 ? runtime.config().streamChunkBytes() : request.getChunkBytes();
    TensorRead read;
    try {
      if (chunk < 0 || chunk > RuntimeConfig.MAX_CHUNK_BYTES) {
        throw VnrtRuntimeException.invalid("chunk_bytes " + Long.toUnsignedString(chunk) + " is too large: at most "
            + RuntimeConfig.MAX_CHUNK_BYTES + " (or 0 for the daemon's default, "
            + runtime.config().streamChunkBytes() + ")", "chunk_bytes", Long.toUnsignedString(chunk));
      }
      read = SessionInterceptor.current().beginRead(request.getHandle(), request.getOffsetBytes(),
          request.getLengthBytes(), chunk);
    } catch (RuntimeException e) {
      response.onError(Statuses.toStatus(e));
      return;
    }
    new ReadStream(read, (ServerCallStreamObserver<ReadTensorResponse>) response, aliasReadChunks).start();
  }

  /**
   * Sends one ReadTensor stream while the transport is ready. All callbacks run on the call's
   * serialized executor, so the plain fields need no lock.
   */
  private static final class ReadStream {
    /** Bytes queued for the transport before the stream waits: two chunks of the SDK's 4 MiB. */
    private static final int ON_READY_THRESHOLD_BYTES = 8 << 20;
    private final TensorRead read;
    private final ServerCallStreamObserver<ReadTensorResponse> out;
    private final boolean alias;
    private boolean done;

    ReadStream(TensorRead read, ServerCallStreamObserver<ReadTensorResponse> out, boolean alias) {
      this.read = read;
      this.out = out;
      this.alias = alias;
    }

    void start() {
      // the next chunk is serialized while the transport sends the last (gRPC's default of 32 KiB
      // would let one chunk be queued at a time)
      out.setOnReadyThreshold(ON_READY_THRESHOLD_BYTES);
      out.setOnCancelHandler(this::finish);
      out.setOnReadyHandler(this::drain);
      drain();
    }

    private void drain() {
      if (done) {
        return;
      }
      try {
        while (read.hasNext() && out.isReady()) {
          TensorRead.Chunk c = read.next();
          out.onNext(ReadTensorResponse.newBuilder()
              .setOffsetBytes(c.offset())
              .setData(alias
                  ? UnsafeByteOperations.unsafeWrap(c.data().asByteBuffer())
                  : ByteString.copyFrom(c.data().asByteBuffer()))
              .build());
        }
        if (!read.hasNext()) {
          finish();
          out.onCompleted();
        }
      } catch (RuntimeException e) {
        finish();
        out.onError(Statuses.toStatus(e));
      }
    }

    private void finish() {
      done = true;
      read.close();
    }
  }

  @Override
  public void getMemoryStats(GetMemoryStatsRequest request, StreamObserver<GetMemoryStatsResponse> response) {
    Calls.unary(response, () -> {
      List<Device> devices = request.getHasDevice()
          ? List.of(runtime.devices().device(request.getDeviceId()))
          : runtime.devices().devices();
      GetMemoryStatsResponse.Builder out = GetMemoryStatsResponse.newBuilder()
          .setHostUsedBytes(runtime.devices().hostPool().usedBytes());
      for (Device d : devices) {
        DeviceMemoryStats.Builder stats = deviceStats(d.pool().stats()).toBuilder();
        for (ModelEntry m : runtime.models().all()) {
          if (m.deviceId() == d.id()) {
            stats.addByModel(ModelUsage.newBuilder().setModelId(m.id()).setWeightsBytes(m.weightsBytes())
                .setScratchBytes(m.scratchBytes()));
          }
        }
        out.addDevices(stats);
      }
      return out.build();
    });
  }

  private static DeviceMemoryStats deviceStats(MemoryStats s) {
    DeviceMemoryStats.Builder d = DeviceMemoryStats.newBuilder()
        .setDeviceId(s.deviceId())
        .setCapacityBytes(s.capacityBytes())
        .setUsedBytes(s.usedBytes())
        .setPeakUsedBytes(s.peakUsedBytes())
        .setFreeBytes(s.freeBytes())
        .setLargestFreeBlockBytes(s.largestFreeBlockBytes())
        .setFragmentation(s.fragmentation())
        .setAllocations(s.allocations())
        .setFreeBlocks(s.freeBlocks())
        .setCommittedBytes(Math.max(0, s.residentBytes()));
    for (Map.Entry<io.vnrt.runtime.memory.MemoryCategory, Long> e : s.byCategory().entrySet()) {
      d.addByCategory(CategoryUsage.newBuilder()
          .setCategory(MemoryCategory.valueOf("MEMORY_CATEGORY_" + e.getKey().name()))
          .setUsedBytes(e.getValue()));
    }
    for (MemoryStats.OwnerUsage o : s.byOwner()) {
      d.addBySession(SessionUsage.newBuilder()
          .setSession(o.ownerId())
          .setClientName(o.ownerLabel() == null ? "" : o.ownerLabel())
          .setUsedBytes(o.usedBytes())
          .setAllocations(o.allocations()));
    }
    s.byCore().forEach((core, bytes) -> d.addByCore(CoreUsage.newBuilder().setCoreId(core).setUsedBytes(bytes)));
    return d.build();
  }

  @Override
  public void registerSharedMemory(RegisterSharedMemoryRequest request, StreamObserver<SharedMemoryRegion> response) {
    Calls.unary(response, () -> region(SessionInterceptor.current().sharedMemory().register(request.getName(),
        request.getKey(), request.getOffsetBytes(), request.getSizeBytes(), CallerIdentity.sharedMemoryAccess())));
  }

  @Override
  public void unregisterSharedMemory(UnregisterSharedMemoryRequest request,
      StreamObserver<UnregisterSharedMemoryResponse> response) {
    Calls.unary(response, () -> {
      SessionInterceptor.current().sharedMemory().unregister(request.getName());
      return UnregisterSharedMemoryResponse.getDefaultInstance();
    });
  }

  @Override
  public void listSharedMemory(ListSharedMemoryRequest request, StreamObserver<ListSharedMemoryResponse> response) {
    Calls.unary(response, () -> {
      ListSharedMemoryResponse.Builder b = ListSharedMemoryResponse.newBuilder();
      SessionInterceptor.current().sharedMemory().list().forEach(r -> b.addRegions(region(r)));
      return b.build();
    });
  }

  private static SharedMemoryRegion region(io.vnrt.runtime.memory.SharedMemoryRegion r) {
    return SharedMemoryRegion.newBuilder().setName(r.name()).setKey(r.key()).setOffsetBytes(r.offsetBytes())
        .setSizeBytes(r.sizeBytes()).build();
  }
}
