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
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
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
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ObjectName;

/**
 * A soak of the daemon over loopback TCP: 16 clients (each its own session) of mixed work — mlp
 * (N=1) without and with dynamic batching, and a load, execute, unload cycle of mlp every 64th
 * operation — for a given time, then (optionally) malformed loads: byte flips of mlp from a fixed
 * seed. Prints RSS (this JVM: daemon and clients) and HBM in use at the start, after the soak, after
 * the first tenth of the malformed loads (which warms up the refusal paths) and after all of them (each
 * after a GC, with where the RSS is: HBM resident, malloc's free arenas, NMT's categories when enabled),
 * the p50/p99 latency of the first and last window of the soak, and operations by status.
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
        // The clock starts once every client has loaded its two models, so the first window is of executions.
        long[] clock = new long[2];
        CyclicBarrier loaded = new CyclicBarrier(CLIENTS, () -> {
          clock[0] = System.nanoTime();
          clock[1] = clock[0] + TimeUnit.SECONDS.toNanos(seconds);
        });
        List<Future<long[][]>> work = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
          int id = c;
          work.add(pool.submit(() -> soakClient(client, channel, mlp, id, loaded, clock, windowNanos, statuses)));
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
          // The first tenth also warms up the refusal paths (their code is JIT-compiled then, not before): RSS
          // after it is a second baseline, so a leak shows as growth over the other nine tenths.
          Map<String, AtomicLong> loads = new ConcurrentHashMap<>();
          Random[] seeds = new Random[4];
          for (int c = 0; c < seeds.length; c++) {
            seeds[c] = new Random(0x50a4L + c);
          }
          int firstRound = Math.max(seeds.length, malformed / 10);
          int[] rounds = malformed > firstRound ? new int[] {firstRound, malformed - firstRound} : new int[] {malformed};
          int done = 0;
          for (int round : rounds) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < seeds.length; c++) {
              Random rnd = seeds[c];
              int count = round / seeds.length + (c < round % seeds.length ? 1 : 0);
              int base = done;
              fs.add(pool.submit(() -> malformedLoads(client, channel, mlp, rnd, base, count, loads)));
              done += count;
            }
            for (Future<?> f : fs) {
              f.get();
            }
            report("after " + done + " malformed loads", runtime);
          }
          System.out.println(malformed + " malformed loads by status: " + new java.util.TreeMap<>(loads));
        }
        pool.shutdown();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
      }
    }
  }

  /** One client's loop; returns the latencies (µs) of its first and last window. */
  private static long[][] soakClient(VnrtClient client, ManagedChannel channel, byte[] mlp, int id,
      CyclicBarrier loaded, long[] clock, long windowNanos, Map<String, AtomicLong> statuses) throws Exception {
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
      loaded.await();
      long t0 = clock[0];
      long end = clock[1];
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

  private static void malformedLoads(VnrtClient client, ManagedChannel channel, byte[] mlp, Random rnd, int base,
      int count, Map<String, AtomicLong> statuses) {
    try (Session session = client.openSession("malformed-" + base)) {
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
          ModelInfo info = ExecuteBench.load(models, ExecuteBench.header("bad-" + (base + i), 1), m);
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
    // G1 gives shrunk heap regions back in a background task and the Cleaner frees GC'd off-heap segments
    // after the collection: wait until RSS has stopped falling (one second without a drop, at most 20 s).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    long lowest = Long.MAX_VALUE;
    int steady = 0;
    while (steady < 4 && System.nanoTime() < deadline) {
      Thread.sleep(250);
      long rss = smapsRollup().getOrDefault("Rss", 0L);
      steady = rss < lowest - 1024 ? 0 : steady + 1;
      lowest = Math.min(lowest, rss);
    }
    long hbm = runtime.devices().devices().stream().mapToLong((Device d) -> d.pool().usedBytes()).sum();
    long hbmResident = runtime.devices().devices().stream()
        .mapToLong((Device d) -> Math.max(0, d.pool().backing().residentBytes())).sum();
    Map<String, Long> rollup = smapsRollup();
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    long[] malloc = mallinfo2();
    System.out.printf(Locale.ROOT,
        "%s: VmRSS %d MB (anonymous %d MB), heap used %d MiB of %d MiB committed, HBM used %d bytes, HBM resident"
            + " %d MB, malloc in use %d MB, free in malloc's arenas %d MB%n",
        when, rollup.getOrDefault("Rss", -1L) >> 10, rollup.getOrDefault("Anonymous", -1L) >> 10, heap.getUsed() >> 20,
        heap.getCommitted() >> 20, hbm, hbmResident >> 20, malloc[0] >> 20, malloc[1] >> 20);
    String nmt = nativeMemorySummary();
    if (!nmt.isEmpty()) {
      System.out.println("  NMT committed (MB): " + nmt);
    }
  }

  /** /proc/self/smaps_rollup in KiB by field (Rss, Anonymous, ...). */
  private static Map<String, Long> smapsRollup() throws Exception {
    Map<String, Long> fields = new java.util.HashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length == 3 && parts[0].endsWith(":") && parts[2].equals("kB")) {
        fields.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]));
      }
    }
    return fields;
  }

  /**
   * glibc's mallinfo2 (all arenas): bytes malloc has handed out (uordblks + hblkhd) and bytes it holds free
   * (fordblks), which stay in RSS until trimmed; {-1, -1} where there is no mallinfo2.
   */
  @SuppressWarnings("restricted")
  private static long[] mallinfo2() {
    Linker linker = Linker.nativeLinker();
    Optional<MemorySegment> symbol = linker.defaultLookup().find("mallinfo2");
    if (symbol.isEmpty()) {
      return new long[] {-1, -1};
    }
    StructLayout layout = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, ValueLayout.JAVA_LONG));
    try (Arena arena = Arena.ofConfined()) {
      MethodHandle call = linker.downcallHandle(symbol.get(), FunctionDescriptor.of(layout));
      MemorySegment info = (MemorySegment) call.invokeExact((SegmentAllocator) arena);
      long hblkhd = info.getAtIndex(ValueLayout.JAVA_LONG, 4);
      long uordblks = info.getAtIndex(ValueLayout.JAVA_LONG, 7);
      long fordblks = info.getAtIndex(ValueLayout.JAVA_LONG, 8);
      return new long[] {uordblks + hblkhd, fordblks};
    } catch (Throwable t) {
      throw new IllegalStateException("mallinfo2 failed", t);
    }
  }

  /** The committed MB of each NMT category when the JVM runs with -XX:NativeMemoryTracking, else "". */
  private static String nativeMemorySummary() throws Exception {
    String out = (String) ManagementFactory.getPlatformMBeanServer().invoke(
        new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
        new Object[] {new String[] {"summary", "scale=MB"}}, new String[] {String[].class.getName()});
    StringBuilder b = new StringBuilder();
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("(?m)^(?:-\\s+([A-Za-z][A-Za-z ]*?)|(Total)): reserved=\\d+MB, committed=(\\d+)MB|^-\\s+([A-Za-z][A-Za-z ]*?) \\(reserved=\\d+MB, committed=(\\d+)MB")
        .matcher(out);
    while (m.find()) {
      String name = m.group(4) != null ? m.group(4) : m.group(1) != null ? m.group(1) : m.group(2);
      String committed = m.group(5) != null ? m.group(5) : m.group(3);
      if (!committed.equals("0")) {
        b.append(b.isEmpty() ? "" : ", ").append(name).append(' ').append(committed);
      }
    }
    return out.contains("not enabled") ? "" : b.toString();
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
