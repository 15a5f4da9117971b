package io.vnrt.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.proto.v1.BatchingOptions;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecuteResponse;
import io.vnrt.proto.v1.ExecuteResult;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.InlineTensor;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.RegisterSharedMemoryRequest;
import io.vnrt.proto.v1.SharedMemoryRef;
import io.vnrt.proto.v1.UnregisterSharedMemoryRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Executions through the real daemon over loopback TCP, each against a peer in the same run:
 * <ol>
 *   <li>Execute round trip of a tiny model (Add of two 1×16 float tensors) against a plain grpc-java
 *   unary echo service carrying the same request and a response of the same size;</li>
 *   <li>mlp (N=1) from 16 concurrent clients, with and without dynamic batching;</li>
 *   <li>a 64 MiB input through shared memory against the same bytes sent through gRPC (a WriteTensor
 *   stream into a device tensor, then Execute by handle: one message cannot carry 64 MiB).</li>
 * </ol>
 * Arguments: [path of mlp.onnx, default ../shared/models/mlp.onnx] [seconds per throughput run, default 5].
 */
public final class ExecuteBench {
  private static final MethodDescriptor<ExecuteRequest, ExecuteResponse> ECHO = MethodDescriptor
      .<ExecuteRequest, ExecuteResponse>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("vnrt.bench.Echo/Echo")
      .setRequestMarshaller(ProtoUtils.marshaller(ExecuteRequest.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(ExecuteResponse.getDefaultInstance())).build();

  private ExecuteBench() {
  }

  public static void main(String[] args) throws Exception {
    Path mlp = Path.of(args.length > 0 ? args[0] : "../shared/models/mlp.onnx");
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Topology topology = Topology.of(Profile.CPU, Optional.empty(), Optional.empty(), Optional.of(1L << 30),
        Optional.empty());
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology))) {
      DaemonServer daemon = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      Server echo = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(ServerServiceDefinition.builder("vnrt.bench.Echo").addMethod(ECHO,
              ServerCalls.asyncUnaryCall((req, out) -> {
                out.onNext(ExecuteResponse.newBuilder().setRequestId(req.getRequestId()).addOutputs(ExecuteResult
                    .newBuilder().setName("z").setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1).addShape(16)
                    .setData(req.getInputs(0).getInline().getData())).build());
                out.onCompleted();
              })).build())
          .build().start();
      String target = daemon.targets().getFirst();
      ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES).build();
      ManagedChannel echoChannel = NettyChannelBuilder.forAddress("127.0.0.1", echo.getPort()).usePlaintext().build();
      try (VnrtClient client = VnrtClient.connect(target); Session session = client.openSession("execute-bench")) {
        Metadata h = new Metadata();
        h.put(Session.SESSION_ID_KEY, session.id());
        var withSession = MetadataUtils.newAttachHeadersInterceptor(h);
        ModelGrpc.ModelStub models = ModelGrpc.newStub(channel).withInterceptors(withSession);
        ExecutionGrpc.ExecutionBlockingStub exec = ExecutionGrpc.newBlockingStub(channel).withInterceptors(withSession);
        MemoryGrpc.MemoryBlockingStub memory = MemoryGrpc.newBlockingStub(channel).withInterceptors(withSession);

        roundTrip(models, exec, echoChannel);
        if (Files.exists(mlp)) {
          concurrentMlp(models, exec, Files.readAllBytes(mlp), seconds);
        } else {
          System.out.println("mlp: " + mlp + " not found; skipped");
        }
        largeInput(models, exec, memory, session);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        echoChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        echo.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
      }
    }
  }

  // ---- 1. tiny-model round trip vs echo ---------------------------------------------------------

  private static void roundTrip(ModelGrpc.ModelStub models, ExecutionGrpc.ExecutionBlockingStub exec,
      ManagedChannel echo) throws Exception {
    ModelInfo add = load(models, header("add", 1), onnx(13, List.of(info("x", 1, 16), info("y", 1, 16)),
        List.of(info("z", 1, 16)), node("Add", List.of("x", "y"), List.of("z"))));
    ByteString x = floats(16, 1f);
    ByteString y = floats(16, 2f);
    ExecuteRequest request = ExecuteRequest.newBuilder().setModelId(add.getModelId())
        .addInputs(inline("x", x, 1, 16)).addInputs(inline("y", y, 1, 16)).build();
    int perBlock = 2000;
    int blocks = 10;
    long[] daemonNs = new long[perBlock * blocks / 2];
    long[] echoNs = new long[perBlock * blocks / 2];
    for (int warm = 0; warm < 20_000; warm++) {
      exec.execute(request);
      ClientCalls.blockingUnaryCall(echo, ECHO, io.grpc.CallOptions.DEFAULT, request);
    }
    int d = 0;
    int e = 0;
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < perBlock / 2; i++) {
        long t0 = System.nanoTime();
        exec.execute(request);
        long t1 = System.nanoTime();
        ClientCalls.blockingUnaryCall(echo, ECHO, io.grpc.CallOptions.DEFAULT, request);
        long t2 = System.nanoTime();
        daemonNs[d++] = t1 - t0;
        echoNs[e++] = t2 - t1;
      }
    }
    Arrays.sort(daemonNs);
    Arrays.sort(echoNs);
    double dp50 = daemonNs[d / 2] / 1e3;
    double ep50 = echoNs[e / 2] / 1e3;
    double dp99 = daemonNs[(int) (d * 0.99)] / 1e3;
    double ep99 = echoNs[(int) (e * 0.99)] / 1e3;
    System.out.printf(Locale.ROOT, "round trip, %d calls each, interleaved: Execute(Add 1x16) p50 %.1f us p99 %.1f us; "
        + "echo p50 %.1f us p99 %.1f us; ratio p50 %.2fx p99 %.2fx%n", d, dp50, dp99, ep50, ep99, dp50 / ep50,
        dp99 / ep99);
  }

  // ---- 2. mlp from 16 clients, with and without batching ----------------------------------------

  private static void concurrentMlp(ModelGrpc.ModelStub models, ExecutionGrpc.ExecutionBlockingStub exec,
      byte[] mlp, int seconds) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    ModelInfo plain = load(models, header("mlp", cores).setQueueDepth(64), mlp);
    ModelInfo batched = load(models, header("mlp-batched", cores).setQueueDepth(64).setBatching(BatchingOptions
        .newBuilder().setEnabled(true).setMaxBatchSize(16).setMaxQueueDelayUs(500)), mlp);
    String input = plain.getInputs(0).getName();
    ByteString x = floats(784, 0.01f);
    for (ModelInfo m : List.of(plain, batched)) {
      ExecuteRequest r = ExecuteRequest.newBuilder().setModelId(m.getModelId()).addInputs(inline(input, x, 1, 784))
          .build();
      double[] result = throughput(exec, r, 16, seconds);
      System.out.printf(Locale.ROOT, "mlp N=1, 16 clients, %d s, %s: %.0f executions/s, mean batch %.1f%n", seconds,
          m.getBatching().getEnabled() ? "dynamic batching (max 16, 500 us)" : "no batching", result[0], result[1]);
    }
  }

  /** Measured after a warm-up run of the same length, in which the plan of every batch size seen compiles. */
  private static double[] throughput(ExecutionGrpc.ExecutionBlockingStub exec, ExecuteRequest r, int clients,
      int seconds) throws Exception {
    run(exec, r, clients, seconds);
    return run(exec, r, clients, seconds);
  }

  /** Executions per second and mean batch size of {@code clients} threads calling in a loop. */
  private static double[] run(ExecutionGrpc.ExecutionBlockingStub exec, ExecuteRequest r, int clients, int seconds)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    AtomicBoolean stop = new AtomicBoolean();
    try {
      List<Future<long[]>> counts = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        counts.add(pool.submit(() -> {
          long n = 0;
          long batchSum = 0;
          while (!stop.get()) {
            batchSum += exec.execute(r).getTiming().getBatchSize();
            n++;
          }
          return new long[] {n, batchSum};
        }));
      }
      long t0 = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      stop.set(true);
      long n = 0;
      long batch = 0;
      for (Future<long[]> f : counts) {
        long[] v = f.get();
        n += v[0];
        batch += v[1];
      }
      double elapsed = (System.nanoTime() - t0) / 1e9;
      return new double[] {n / elapsed, (double) batch / n};
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- 3. 64 MiB input through gRPC vs shared memory --------------------------------------------

  private static void largeInput(ModelGrpc.ModelStub models, ExecutionGrpc.ExecutionBlockingStub exec,
      MemoryGrpc.MemoryBlockingStub memory, Session session) throws Exception {
    long elements = 16L << 20;
    long bytes = elements * 4;
    ModelInfo sum = load(models, header("sum", 1), onnx(11, List.of(info("x", 1, elements)), List.of(info("s", 1, 1)),
        node("ReduceSum", List.of("x"), List.of("s"), ints("axes", 1))));
    Path file = Path.of("/dev/shm", "vnrt-execute-bench-" + ProcessHandle.current().pid());
    try (Arena arena = Arena.ofShared();
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      ch.truncate(bytes);
      MemorySegment shm = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
      MemorySegment src = arena.allocate(bytes, 64);
      for (long i = 0; i < elements; i++) {
        src.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f / 1024);
      }
      memory.registerSharedMemory(RegisterSharedMemoryRequest.newBuilder().setName("in")
          .setKey("/" + file.getFileName()).setSizeBytes(bytes).build());
      ExecuteRequest viaShm = ExecuteRequest.newBuilder().setModelId(sum.getModelId()).addInputs(ExecuteInput
          .newBuilder().setName("x").setSharedMemory(SharedMemoryRef.newBuilder().setRegion("in")
              .setLengthBytes(bytes)).setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1).addShape(elements)).build();
      try (io.vnrt.client.DeviceTensor t = session.allocate(io.vnrt.client.TensorSpec.raw(bytes), 0)) {
        ExecuteRequest viaHandle = ExecuteRequest.newBuilder().setModelId(sum.getModelId()).addInputs(ExecuteInput
            .newBuilder().setName("x").setHandle(t.handle()).setDtype(DataType.DATA_TYPE_FLOAT32).addShape(1)
            .addShape(elements)).build();
        int rounds = 9;
        long[] shmNs = new long[rounds];
        long[] grpcNs = new long[rounds];
        float expect = elements / 1024f;
        for (int i = -2; i < rounds; i++) {
          long t0 = System.nanoTime();
          MemorySegment.copy(src, 0, shm, 0, bytes);
          float a = floatOf(exec.execute(viaShm));
          long t1 = System.nanoTime();
          t.write(src);
          float b = floatOf(exec.execute(viaHandle));
          long t2 = System.nanoTime();
          if (Math.abs(a - expect) > 1 || Math.abs(b - expect) > 1) {
            throw new IllegalStateException("wrong sums " + a + ", " + b + "; expected " + expect);
          }
          if (i >= 0) {
            shmNs[i] = t1 - t0;
            grpcNs[i] = t2 - t1;
          }
        }
        Arrays.sort(shmNs);
        Arrays.sort(grpcNs);
        double s = shmNs[rounds / 2] / 1e6;
        double g = grpcNs[rounds / 2] / 1e6;
        System.out.printf(Locale.ROOT, "64 MiB input (ReduceSum), median of %d: shared memory (client copy into the "
            + "region + Execute) %.1f ms; gRPC (WriteTensor stream + Execute by handle) %.1f ms; gRPC / shm %.1fx%n",
            rounds, s, g, g / s);
      } finally {
        memory.unregisterSharedMemory(UnregisterSharedMemoryRequest.newBuilder().setName("in").build());
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static float floatOf(ExecuteResponse r) {
    return r.getOutputs(0).getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  static LoadModelHeader.Builder header(String name, int cores) {
    return LoadModelHeader.newBuilder().setName(name).setAutoPlace(true).setCoreCount(cores);
  }

  /** Streams {@code onnx} on LoadModel in 1 MiB chunks and waits for the answer (a failure's cause is its status). */
  static ModelInfo load(ModelGrpc.ModelStub models, LoadModelHeader.Builder header, byte[] onnx)
      throws Exception {
    CompletableFuture<ModelInfo> done = new CompletableFuture<>();
    var up = models.loadModel(new io.grpc.stub.StreamObserver<>() {
      @Override
      public void onNext(ModelInfo value) {
        done.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
      }
    });
    up.onNext(LoadModelRequest.newBuilder().setHeader(header.setModelSizeBytes(onnx.length)).build());
    for (int i = 0; i < onnx.length; i += 1 << 20) {
      up.onNext(LoadModelRequest.newBuilder().setChunk(ByteString.copyFrom(onnx, i, Math.min(1 << 20,
          onnx.length - i))).build());
    }
    up.onCompleted();
    return done.get(60, TimeUnit.SECONDS);
  }

  private static ByteString floats(int n, float v) {
    ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat(v + i);
    }
    return ByteString.copyFrom(b.flip());
  }

  private static ExecuteInput inline(String name, ByteString data, long... shape) {
    InlineTensor.Builder t = InlineTensor.newBuilder().setDtype(DataType.DATA_TYPE_FLOAT32).setData(data);
    for (long d : shape) {
      t.addShape(d);
    }
    return ExecuteInput.newBuilder().setName(name).setInline(t).build();
  }

  static ValueInfoProto info(String name, long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor
        .newBuilder().setElemType(1).setShape(shape))).build();
  }

  static NodeProto node(String op, List<String> in, List<String> out, AttributeProto... attrs) {
    return NodeProto.newBuilder().setOpType(op).setName(op).addAllInput(in).addAllOutput(out)
        .addAllAttribute(List.of(attrs)).build();
  }

  static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      b.addInts(x);
    }
    return b.build();
  }

  static byte[] onnx(int opset, List<ValueInfoProto> inputs, List<ValueInfoProto> outputs, NodeProto node) {
    return ModelProto.newBuilder().setIrVersion(7).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset))
        .setGraph(GraphProto.newBuilder().setName("bench").addAllInput(inputs).addAllOutput(outputs).addNode(node))
        .build().toByteArray();
  }
}
