package io.vnrt.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import io.vnrt.client.internal.BulkMarshaller;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelMetadataRequest;
import io.vnrt.proto.inference.ModelMetadataResponse;
import io.vnrt.proto.inference.RepositoryModelLoadRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import io.vnrt.runtime.server.Security;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The KServe front end through the real daemon over loopback TCP, each figure beside its peer in
 * the same run:
 * <ol>
 *   <li>ModelInfer of a 64 MiB {@code raw_input_contents} (ReduceSum over 16 Mi floats, a 4-byte
 *   answer), sent by the generated stub and by the SDK's BulkMarshaller, against a
 *   {@code MemorySegment.copy} of the same 64 MiB, rounds interleaved: the bandwidth a large input
 *   reaches through gRPC, counting the request's framing, the daemon's copy of it and the
 *   reduction;</li>
 *   <li>mlp (N=1) through KServe REST (JSON tensors, and Triton's binary-tensor extension) against
 *   gRPC ModelInfer with raw contents, calls interleaved one to one from one client: p50 and p99.</li>
 * </ol>
 * Arguments: [path of mlp.onnx, default ../shared/models/mlp.onnx] [calls per protocol, default 3000]
 * [rounds of the 64 MiB input, default 9].
 */
public final class KServeBench {
  private static final long ELEMENTS = 16L << 20;
  private static final long BYTES = ELEMENTS * 4;

  private KServeBench() {
  }

  /** Runs both parts and prints the figures and their ratios to the peers. */
  public static void main(String[] args) throws Exception {
    Path mlp = Path.of(args.length > 0 ? args[0] : "../shared/models/mlp.onnx");
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 3000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 9;
    Path repository = Files.createTempDirectory("vnrt-kserve-bench");
    Files.createDirectories(repository.resolve("sum/1"));
    Files.write(repository.resolve("sum/1/model.onnx"), ExecuteBench.onnx(11,
        List.of(ExecuteBench.info("x", 1, ELEMENTS)), List.of(ExecuteBench.info("s", 1, 1)),
        ExecuteBench.node("ReduceSum", List.of("x"), List.of("s"), ExecuteBench.ints("axes", 1))));
    boolean withMlp = Files.exists(mlp);
    if (withMlp) {
      Files.createDirectories(repository.resolve("mlp/1"));
      Files.copy(mlp, repository.resolve("mlp/1/model.onnx"));
    }
    Topology topology = Topology.of(Profile.CPU, Optional.empty(), Optional.empty(), Optional.of(1L << 30),
        Optional.empty());
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology))) {
      DaemonServer daemon = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty())
          .withHttp(new InetSocketAddress("127.0.0.1", 0)), Security.NONE,
          new DaemonServer.Options(Optional.of(repository), Duration.ZERO, DaemonServer.DEFAULT_MAX_MESSAGE_BYTES));
      ManagedChannel channel = NettyChannelBuilder.forTarget(daemon.targets().getFirst()).usePlaintext()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES).build();
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      try {
        var kserve = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        kserve.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("sum").build());
        largeInput(channel, rounds);
        if (withMlp) {
          kserve.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("mlp").build());
          String base = "http://127.0.0.1:" + daemon.httpAddress().orElseThrow().getPort();
          restAgainstGrpc(kserve, http, base, calls);
        } else {
          System.out.println("mlp: " + mlp + " not found; REST against gRPC skipped");
        }
      } finally {
        http.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
      }
    } finally {
      try (Stream<Path> files = Files.walk(repository)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /**
   * ModelInfer of 64 MiB, each round: a MemorySegment.copy of 64 MiB, the call through the stub
   * generated from grpc_service.proto (what any Triton client does: protobuf's marshaller), and
   * the same call with its request written by the SDK's BulkMarshaller (a Java client sending the
   * raw input from its own memory). Elapsed time and the process's CPU time per GB, medians.
   */
  private static void largeInput(ManagedChannel channel, int rounds) {
    ByteBuffer data = ByteBuffer.allocateDirect((int) BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (long i = 0; i < ELEMENTS; i++) {
      data.putFloat(1f / 1024);
    }
    data.flip();
    ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("sum")
        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP32").addShape(1)
            .addShape(ELEMENTS))
        .addRawInputContents(UnsafeByteOperations.unsafeWrap(data)).build();
    var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
    MethodDescriptor<ModelInferRequest, ModelInferResponse> bulk = BulkMarshaller.bulkRequests(
        GRPCInferenceServiceGrpc.getModelInferMethod(), ModelInferRequest.getDefaultInstance());
    float expect = ELEMENTS / 1024f;
    int warmups = 5;
    long[][] ns = new long[3][rounds];
    long[][] cpu = new long[3][rounds];
    try (Arena arena = Arena.ofShared()) {
      MemorySegment src = arena.allocate(BYTES, 64);
      MemorySegment dst = arena.allocate(BYTES, 64);
      MemorySegment.copy(MemorySegment.ofBuffer(data), 0, src, 0, BYTES);
      List<Runnable> actions = List.of(
          () -> MemorySegment.copy(src, 0, dst, 0, BYTES),
          () -> check(stub.modelInfer(request), expect),
          () -> check(ClientCalls.blockingUnaryCall(channel, bulk, CallOptions.DEFAULT, request), expect));
      for (int i = -warmups; i < rounds; i++) {
        for (int a = 0; a < actions.size(); a++) {
          long c0 = OS.getProcessCpuTime();
          long t0 = System.nanoTime();
          actions.get(a).run();
          long t1 = System.nanoTime();
          long c1 = OS.getProcessCpuTime();
          if (i >= 0) {
            ns[a][i] = t1 - t0;
            cpu[a][i] = c1 - c0;
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "ModelInfer, 64 MiB raw input (ReduceSum), median of %d rounds after %d warm-ups, "
        + "load average %.1f:%n", rounds, warmups, OS.getSystemLoadAverage());
    String[] names = {"MemorySegment.copy of 64 MiB", "ModelInfer, generated stub", "ModelInfer, SDK BulkMarshaller"};
    double copy = BYTES / (double) median(ns[0]);
    for (int a = 0; a < names.length; a++) {
      double gbps = BYTES / (double) median(ns[a]);
      System.out.printf(Locale.ROOT, "  %-32s %6.2f GB/s (%6.1f ms, %.3f CPU s/GB)  / copy %.3fx%n", names[a], gbps,
          median(ns[a]) / 1e6, median(cpu[a]) / 1e9 / (BYTES / 1e9), gbps / copy);
    }
  }

  private static void check(ModelInferResponse r, float expect) {
    float sum = r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
    if (Math.abs(sum - expect) > 1) {
      throw new IllegalStateException("wrong sum " + sum + "; expected " + expect);
    }
  }

  private static void restAgainstGrpc(GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub kserve,
      HttpClient http, String base, int calls) throws Exception {
    ModelMetadataResponse meta = kserve.modelMetadata(ModelMetadataRequest.newBuilder().setName("mlp").build());
    String input = meta.getInputs(0).getName();
    long features = meta.getInputs(0).getShape(1);
    SplittableRandom random = new SplittableRandom(42);
    float[] x = new float[(int) features];
    ByteBuffer raw = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    StringBuilder json = new StringBuilder();
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextDouble(-1, 1);
      raw.putFloat(x[i]);
      json.append(i == 0 ? "" : ",").append(x[i]);
    }
    String tensor = "{\"name\":\"" + input + "\",\"shape\":[1," + features + "],\"datatype\":\"FP32\"";
    byte[] jsonBody = ("{\"inputs\":[" + tensor + ",\"data\":[" + json + "]}]}").getBytes(StandardCharsets.UTF_8);
    byte[] header = ("{\"inputs\":[" + tensor + ",\"parameters\":{\"binary_data_size\":" + raw.capacity() + "}}],"
        + "\"outputs\":[{\"name\":\"" + meta.getOutputs(0).getName() + "\",\"parameters\":{\"binary_data\":true}}]}")
        .getBytes(StandardCharsets.UTF_8);
    byte[] binaryBody = Arrays.copyOf(header, header.length + raw.capacity());
    System.arraycopy(raw.array(), 0, binaryBody, header.length, raw.capacity());
    URI infer = URI.create(base + "/v2/models/mlp/infer");
    HttpRequest restJson = HttpRequest.newBuilder(infer).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(jsonBody)).build();
    HttpRequest restBinary = HttpRequest.newBuilder(infer).header("Content-Type", "application/octet-stream")
        .header("Inference-Header-Content-Length", String.valueOf(header.length))
        .POST(HttpRequest.BodyPublishers.ofByteArray(binaryBody)).build();
    ModelInferRequest grpc = ModelInferRequest.newBuilder().setModelName("mlp")
        .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(input).setDatatype("FP32").addShape(1)
            .addShape(features))
        .addRawInputContents(ByteString.copyFrom(raw.array())).build();
    int warmup = Math.max(200, calls / 5);
    long[] grpcNs = new long[calls];
    long[] jsonNs = new long[calls];
    long[] binaryNs = new long[calls];
    for (int i = -warmup; i < calls; i++) {
      long t0 = System.nanoTime();
      kserve.modelInfer(grpc);
      long t1 = System.nanoTime();
      ok(http.send(restJson, HttpResponse.BodyHandlers.ofByteArray()));
      long t2 = System.nanoTime();
      ok(http.send(restBinary, HttpResponse.BodyHandlers.ofByteArray()));
      long t3 = System.nanoTime();
      if (i >= 0) {
        grpcNs[i] = t1 - t0;
        jsonNs[i] = t2 - t1;
        binaryNs[i] = t3 - t2;
      }
    }
    Arrays.sort(grpcNs);
    Arrays.sort(jsonNs);
    Arrays.sort(binaryNs);
    System.out.printf(Locale.ROOT, "mlp N=1, %d calls each after %d warm-ups, interleaved, p50 / p99:%n", calls, warmup);
    System.out.printf(Locale.ROOT, "  gRPC ModelInfer (raw contents)   %7.1f / %7.1f us%n", p(grpcNs, 50), p(grpcNs, 99));
    System.out.printf(Locale.ROOT, "  REST infer, JSON tensors         %7.1f / %7.1f us  (p50 %.2fx gRPC's)%n",
        p(jsonNs, 50), p(jsonNs, 99), p(jsonNs, 50) / p(grpcNs, 50));
    System.out.printf(Locale.ROOT, "  REST infer, binary extension     %7.1f / %7.1f us  (p50 %.2fx gRPC's)%n",
        p(binaryNs, 50), p(binaryNs, 99), p(binaryNs, 50) / p(grpcNs, 50));
  }

  private static void ok(HttpResponse<byte[]> r) {
    if (r.statusCode() != 200) {
      throw new IllegalStateException("REST infer answered " + r.statusCode() + ": "
          + new String(r.body(), StandardCharsets.UTF_8));
    }
  }

  private static long median(long[] ns) {
    long[] sorted = ns.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** The {@code pct} percentile of sorted nanoseconds, in microseconds. */
  private static double p(long[] sortedNs, int pct) {
    return sortedNs[Math.min(sortedNs.length - 1, sortedNs.length * pct / 100)] / 1e3;
  }
}
