package io.vnrt.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.BatchingOptions;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.InlineTensor;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.UnloadModelRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A soak of the daemon over loopback TCP: 16 clients (each its own session) of mixed work — mlp
 * (N=1) without and with dynamic batching, and a load, execute, unload cycle of mlp every 64th
 * operation — for a given time, then (optionally) malformed loads: byte flips of mlp from a fixed
 * seed. Prints RSS (this JVM: daemon and clients) and HBM in use at the start, after the soak and
 * after the malformed loads (each after a GC), the p50/p99 latency of the first and last window of
 * the soak, and operations by status.
 * Arguments: [seconds, default 600] [malformed loads, default 0] [mlp.onnx, default ../shared/models/mlp.onnx].
 */
public final class SoakHarness {
  private static final int CLIENTS = 16;

  private SoakHarness() {
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 600;
    int malformed = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    byte[] mlp = Files.readAllBytes(Path.of(args.length > 2 ? args[2] : "../shared/models/mlp.onnx"));
    Topology topology = Topology.of(Profile.CPU, Optional.of(1), Optional.empty(), Optional.of(2L << 30),
        Optional.empty());
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology))) {
      DaemonServer daemon = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()));
      String target = daemon.targets().getFirst();
      ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES).build();
      try (VnrtClient client = VnrtClient.connect(target)) {
        report("start", runtime);
        Map<String, AtomicLong> statuses = new ConcurrentHashMap<>();
        long windowNanos = TimeUnit.SECONDS.toNanos(Math.max(1, Math.min(60, seconds / 4)));
        List<long[]> first = new ArrayList<>();
        List<long[]> last = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
        List<Future<long[][]>> work = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
          int id = c;
          work.add(pool.submit(() -> soakClient(client, channel, mlp, id, t0, end, windowNanos, statuses)));
        }
        for (Future<long[][]> f : work) {
          long[][] w = f.get();
          first.add(w[0]);
          last.add(w[1]);
        }
        System.out.printf(Locale.ROOT, "soak: %d clients, %d s; latency (ms) first %d s: %s; last %d s: %s%n",
            CLIENTS, seconds, windowNanos / 1_000_000_000L, percentiles(first), windowNanos / 1_000_000_000L,
            percentiles(last));
        System.out.println("soak operations by status: " + new java.util.TreeMap<>(statuses));
        report("after soak", runtime);
        if (malformed > 0) {
          Map<String, AtomicLong> loads = new ConcurrentHashMap<>();
          List<Future<?>> fs = new ArrayList<>();
          for (int c = 0; c < 4; c++) {
            int id = c;
            fs.add(pool.submit(() -> malformedLoads(client, channel, mlp, id, malformed / 4, loads)));
          }
          for (Future<?> f : fs) {
            f.get();
          }
          System.out.println(malformed + " malformed loads by status: " + new java.util.TreeMap<>(loads));
          report("after malformed loads", runtime);
        }
        pool.shutdown();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
      }
    }
  }

  /** One client's loop; returns the latencies (µs) of its first and last window. */
  private static long[][] soakClient(VnrtClient client, ManagedChannel channel, byte[] mlp, int id, long t0,
      long end, long windowNanos, Map<String, AtomicLong> statuses) throws Exception {
    try (Session session = client.openSession("soak-" + id)) {
      Metadata h = new Metadata();
      h.put(Session.SESSION_ID_KEY, session.id());
      var withSession = MetadataUtils.newAttachHeadersInterceptor(h);
      ModelGrpc.ModelStub models = ModelGrpc.newStub(channel).withInterceptors(withSession);
      ExecutionGrpc.ExecutionBlockingStub exec = ExecutionGrpc.newBlockingStub(channel).withInterceptors(withSession);
      ModelInfo plain = ExecuteBench.load(models, ExecuteBench.header("mlp", 1), mlp);
      ModelInfo batched = ExecuteBench.load(models, ExecuteBench.header("mlp-batched", 1).setBatching(BatchingOptions.newBuilder()
          .setEnabled(true).setMaxBatchSize(8).setMaxQueueDelayUs(500)), mlp);
      ByteString x = floats(784, 0.01f * id);
      String input = plain.getInputs(0).getName();
      List<Long> first = new ArrayList<>();
      List<Long> last = new ArrayList<>();
      long n = 0;
      while (System.nanoTime() < end) {
        long start = System.nanoTime();
        String status;
        try {
          if (n % 64 == 63) {
            ModelInfo m = ExecuteBench.load(models, ExecuteBench.header("churn", 1), mlp);
            exec.withDeadlineAfter(30, TimeUnit.SECONDS).execute(request(m, input, x));
            ModelGrpc.newBlockingStub(channel).withInterceptors(withSession)
                .unloadModel(UnloadModelRequest.newBuilder().setModelId(m.getModelId()).build());
          } else {
            exec.withDeadlineAfter(30, TimeUnit.SECONDS).execute(request(n % 2 == 0 ? plain : batched, input, x));
          }
          status = "OK";
        } catch (Exception e) {
          status = Status.fromThrowable(e).getCode().name();
        }
        long now = System.nanoTime();
        statuses.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
        if (n % 64 != 63) {
          if (start - t0 < windowNanos) {
            first.add((now - start) / 1000);
          } else if (end - start < windowNanos) {
            last.add((now - start) / 1000);
          }
        }
        n++;
      }
      return new long[][] {first.stream().mapToLong(Long::longValue).toArray(),
          last.stream().mapToLong(Long::longValue).toArray()};
    }
  }

  private static void malformedLoads(VnrtClient client, ManagedChannel channel, byte[] mlp, int id, int count,
      Map<String, AtomicLong> statuses) {
    Random rnd = new Random(0x50a4L + id);
    try (Session session = client.openSession("malformed-" + id)) {
      Metadata h = new Metadata();
      h.put(Session.SESSION_ID_KEY, session.id());
      ModelGrpc.ModelStub models = ModelGrpc.newStub(channel).withInterceptors(
          MetadataUtils.newAttachHeadersInterceptor(h));
      for (int i = 0; i < count; i++) {
        byte[] m = mlp.clone();
        for (int k = 1 + rnd.nextInt(16); k > 0; k--) {
          int at = rnd.nextBoolean() ? rnd.nextInt(Math.min(4096, m.length)) : rnd.nextInt(m.length);
          m[at] = (byte) rnd.nextInt(256);
        }
        String status;
        try {
          ModelInfo info = ExecuteBench.load(models, ExecuteBench.header("bad-" + i, 1), m);
          ModelGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
              .unloadModel(UnloadModelRequest.newBuilder().setModelId(info.getModelId()).build());
          status = "OK";
        } catch (Exception e) {
          status = Status.fromThrowable(e).getCode().name();
        }
        statuses.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
      }
    }
  }

  private static String percentiles(List<long[]> perClient) {
    long[] all = perClient.stream().flatMapToLong(Arrays::stream).sorted().toArray();
    if (all.length == 0) {
      return "no samples";
    }
    return String.format(Locale.ROOT, "p50 %.2f p99 %.2f (%d samples)", all[all.length / 2] / 1000.0,
        all[(int) Math.min(all.length - 1, Math.round(all.length * 0.99))] / 1000.0, all.length);
  }

  private static void report(String when, VnrtRuntime runtime) throws Exception {
    System.gc();
    Thread.sleep(200);
    long hbm = runtime.devices().devices().stream().mapToLong((Device d) -> d.pool().usedBytes()).sum();
    String rss = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS"))
        .findFirst().orElse("VmRSS: ?").replaceAll("\\s+", " ");
    Runtime r = Runtime.getRuntime();
    System.out.printf(Locale.ROOT, "%s: %s, heap used %d MiB, HBM used %d bytes%n", when, rss,
        (r.totalMemory() - r.freeMemory()) >> 20, hbm);
  }

  private static ExecuteRequest request(ModelInfo m, String input, ByteString x) {
    return ExecuteRequest.newBuilder().setModelId(m.getModelId()).addInputs(ExecuteInput.newBuilder().setName(input)
        .setInline(InlineTensor.newBuilder().setDtype(DataType.DATA_TYPE_FLOAT32).setData(x).addShape(1).addShape(784)))
        .build();
  }

  private static ByteString floats(int n, float v) {
    ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat(v + i * 1e-3f);
    }
    return ByteString.copyFrom(b.flip());
  }
}
