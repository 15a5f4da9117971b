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
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * WriteTensor and ReadTensor of one large tensor through the real daemon and SDK, over loopback
 * TCP and in-process, beside a plain MemorySegment.copy of the same size in the same run (the
 * peer: what moving the bytes once costs), each transfer round followed by a copy round. Besides
 * GB/s it prints the CPU time the whole process (client and daemon) spent per GB moved, which a
 * loaded machine distorts less than elapsed time. Arguments: [size MiB, default 256] [rounds,
 * default 5] [tcp|all, default all] [warm-up rounds, default 5: fewer leave the JIT compiling
 * during the measured rounds on a busy machine].
 */
public final class TransferBench {
  private TransferBench() {
  }

  /** One transport's client and what it measured, with the copies measured between its rounds. */
  private record Result(String transport, Rate write, Rate read, Rate copy) {
  }

  /**
   * Medians over rounds.
   *
   * @param gbps bytes moved per second, in GB/s (10^9 bytes)
   * @param cpuSecondsPerGb CPU time of the whole process per GB moved
   */
  private record Rate(double gbps, double cpuSecondsPerGb) {
  }

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** Runs the benchmark and prints GB/s and the ratios to MemorySegment.copy. */
  public static void main(String[] args) throws Exception {
    long size = (args.length > 0 ? Long.parseLong(args[0]) : 256) << 20;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    boolean tcpOnly = args.length > 2 && args[2].equals("tcp");
    int warmups = args.length > 3 ? Integer.parseInt(args[3]) : 5;
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
      // the copy's own destination: the checks of what was read look at dst
      MemorySegment copied = arena.allocate(size, 64);
      Runnable copy = () -> MemorySegment.copy(src, 0, copied, 0, size);

      DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
          Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.of(inProcess)));
      ManagedChannel channel = InProcessChannelBuilder.forName(inProcess).directExecutor()
          .maxInboundMessageSize((int) DaemonServer.DEFAULT_MAX_MESSAGE_BYTES).build();
      try (VnrtClient tcp = VnrtClient.connect(server.targets().getFirst());
          VnrtClient local = VnrtClient.of(channel)) {
        List<Result> results = new ArrayList<>();
        results.add(measure("loopback TCP", tcp, src, dst, copy, warmups, rounds));
        if (!tcpOnly) {
          results.add(measure("in-process", local, src, dst, copy, warmups, rounds));
        }
        System.out.printf(Locale.ROOT, "tensor %d MiB, median of %d rounds after %d warm-up rounds, each followed by a "
            + "MemorySegment.copy round; load average %.1f%n", size >> 20, rounds, warmups, OS.getSystemLoadAverage());
        for (Result r : results) {
          System.out.printf(Locale.ROOT, "%-13s write %6.2f GB/s (%.3f CPU s/GB)  read %6.2f GB/s (%.3f CPU s/GB)  "
              + "copy %6.2f GB/s (%.3f CPU s/GB)%n", r.transport(), r.write().gbps(), r.write().cpuSecondsPerGb(),
              r.read().gbps(), r.read().cpuSecondsPerGb(), r.copy().gbps(), r.copy().cpuSecondsPerGb());
          System.out.printf(Locale.ROOT, "%-13s ratio to the copy: write %.3f read %.3f (GB/s); CPU per GB, copy / "
              + "transfer: write %.3f read %.3f%n", "", r.write().gbps() / r.copy().gbps(),
              r.read().gbps() / r.copy().gbps(), r.copy().cpuSecondsPerGb() / r.write().cpuSecondsPerGb(),
              r.copy().cpuSecondsPerGb() / r.read().cpuSecondsPerGb());
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
      }
    }
  }

  private static Result measure(String transport, VnrtClient client, MemorySegment src, MemorySegment dst,
      Runnable copy, int warmups, int rounds) {
    try (Session session = client.openSession("transfer-bench");
        DeviceTensor tensor = session.allocate(TensorSpec.raw(src.byteSize()), 0)) {
      long bytes = src.byteSize();
      Rate[] write = interleaved(warmups, rounds, () -> tensor.write(src), copy, bytes);
      dst.fill((byte) 0);
      Rate[] read = interleaved(warmups, rounds, () -> tensor.read(dst), copy, bytes);
      if (src.mismatch(dst) != -1) {
        throw new AssertionError(transport + ": the tensor read back differs from what was written");
      }
      Rate[] copies = new Rate[2 * rounds];
      System.arraycopy(write, rounds, copies, 0, rounds);
      System.arraycopy(read, rounds, copies, rounds, rounds);
      return new Result(transport, median(Arrays.copyOf(write, rounds)), median(Arrays.copyOf(read, rounds)),
          median(copies));
    }
  }

  /**
   * {@code rounds} runs of {@code action}, each followed by one of {@code peer}, after
   * {@code warmups} of each: the action's rates, then the peer's.
   */
  private static Rate[] interleaved(int warmups, int rounds, Runnable action, Runnable peer, long bytes) {
    for (int i = 0; i < warmups; i++) {
      action.run();
      peer.run();
    }
    Rate[] out = new Rate[2 * rounds];
    for (int i = 0; i < rounds; i++) {
      out[i] = timed(action, bytes);
      out[rounds + i] = timed(peer, bytes);
    }
    return out;
  }

  private static Rate timed(Runnable action, long bytes) {
    long cpu = OS.getProcessCpuTime();
    long start = System.nanoTime();
    action.run();
    long ns = System.nanoTime() - start;
    return new Rate(bytes / (double) ns, (OS.getProcessCpuTime() - cpu) / 1e9 / (bytes / 1e9));
  }

  /** The median of each figure. */
  private static Rate median(Rate[] rates) {
    double[] gbps = Arrays.stream(rates).mapToDouble(Rate::gbps).sorted().toArray();
    double[] cpu = Arrays.stream(rates).mapToDouble(Rate::cpuSecondsPerGb).sorted().toArray();
    return new Rate(gbps[gbps.length / 2], cpu[cpu.length / 2]);
  }
}
