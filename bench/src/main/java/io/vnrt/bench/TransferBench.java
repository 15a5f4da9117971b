package io.vnrt.bench;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.server.DaemonServer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * WriteTensor and ReadTensor of one large tensor through the real daemon and SDK, over loopback
 * TCP and in-process, beside a plain MemorySegment.copy of the same size in the same run (the
 * peer: what moving the bytes once costs). Arguments: [size MiB, default 256] [rounds, default 5].
 */
public final class TransferBench {
  private TransferBench() {
  }

  /** One transport's client and what it measured. */
  private record Result(String transport, double writeGbps, double readGbps) {
  }

  /** Runs the benchmark and prints GB/s and the ratios to MemorySegment.copy. */
  public static void main(String[] args) throws Exception {
    long size = (args.length > 0 ? Long.parseLong(args[0]) : 256) << 20;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Topology topology = Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(2 * size + (64 << 20)),
        Optional.empty());
    String inProcess = "transfer-bench";
    try (Arena arena = Arena.ofShared();
        VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology))) {
      MemorySegment src = arena.allocate(size, 64);
      MemorySegment dst = arena.allocate(size, 64);
      for (long i = 0; i < size; i += 8) {
        src.set(ValueLayout.JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
      }
      double copy = median(rounds, () -> MemorySegment.copy(src, 0, dst, 0, size), size);

      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.of(inProcess)));
      ManagedChannel channel = InProcessChannelBuilder.forName(inProcess).directExecutor()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES).build();
      try (VnrtClient tcp = VnrtClient.connect(server.targets().getFirst());
          VnrtClient local = VnrtClient.of(channel)) {
        Result overTcp = measure("loopback TCP", tcp, src, dst, rounds);
        Result inProc = measure("in-process", local, src, dst, rounds);
        System.out.printf(Locale.ROOT, "tensor %d MiB, median of %d rounds after 2 warm-up rounds; 2 shared cores%n",
            size >> 20, rounds);
        System.out.printf(Locale.ROOT, "%-14s %8s %8s   %s%n", "", "GB/s", "", "ratio to MemorySegment.copy");
        System.out.printf(Locale.ROOT, "%-14s %8.2f %8s%n", "segment copy", copy, "");
        for (Result r : new Result[] {overTcp, inProc}) {
          System.out.printf(Locale.ROOT, "%-14s write %6.2f read %6.2f   write %.3f read %.3f%n", r.transport(),
              r.writeGbps(), r.readGbps(), r.writeGbps() / copy, r.readGbps() / copy);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
      }
    }
  }

  private static Result measure(String transport, VnrtClient client, MemorySegment src, MemorySegment dst,
      int rounds) {
    try (Session session = client.openSession("transfer-bench");
        DeviceTensor tensor = session.allocate(TensorSpec.raw(src.byteSize()), 0)) {
      double write = median(rounds, () -> tensor.write(src), src.byteSize());
      dst.fill((byte) 0);
      double read = median(rounds, () -> tensor.read(dst), src.byteSize());
      if (src.mismatch(dst) != -1) {
        throw new AssertionError(transport + ": the tensor read back differs from what was written");
      }
      return new Result(transport, write, read);
    }
  }

  /** Median throughput in GB/s (10^9 bytes per second) of {@code rounds} runs after two warm-up runs. */
  private static double median(int rounds, Runnable action, long bytes) {
    action.run();
    action.run();
    double[] gbps = new double[rounds];
    for (int i = 0; i < rounds; i++) {
      long start = System.nanoTime();
      action.run();
      gbps[i] = bytes / ((System.nanoTime() - start) / 1e9) / 1e9;
    }
    Arrays.sort(gbps);
    return gbps[rounds / 2];
  }
}
