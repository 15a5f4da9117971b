package io.vnrt.runtime.cli;

import io.vnrt.client.Session;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.CategoryUsage;
import io.vnrt.proto.v1.CoreUsage;
import io.vnrt.proto.v1.DeviceMemoryStats;
import io.vnrt.proto.v1.GetMemoryStatsResponse;
import io.vnrt.proto.v1.SessionUsage;
import io.vnrt.runtime.ByteSize;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vnrt mem}: HBM use per device by category, session and core. */
@Command(name = "mem", mixinStandardHelpOptions = true,
    description = "Show HBM use per device: by category, by session and by core, with peak and fragmentation.")
final class MemCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Option(names = "--json", description = "Print JSON (protobuf's mapping of GetMemoryStatsResponse, with numbers as "
      + "numbers) instead of text.")
  private boolean json;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    GetMemoryStatsResponse stats;
    try (VnrtClient client = target.connect();
        Session session = client.openSession("vnrt mem")) {
      stats = session.memoryStats();
    }
    if (json) {
      out.println(Json.pretty(stats));
      out.flush();
      return 0;
    }
    for (DeviceMemoryStats d : stats.getDevicesList()) {
      out.printf(Locale.ROOT, "device %d: %s used of %s (%.1f%%), peak %s, largest free block %s, "
              + "fragmentation %.2f, %d allocation(s), %s resident%n",
          d.getDeviceId(), ByteSize.format(d.getUsedBytes()), ByteSize.format(d.getCapacityBytes()),
          100.0 * d.getUsedBytes() / Math.max(1, d.getCapacityBytes()), ByteSize.format(d.getPeakUsedBytes()),
          ByteSize.format(d.getLargestFreeBlockBytes()), d.getFragmentation(), d.getAllocations(),
          ByteSize.format(d.getCommittedBytes()));
      StringBuilder categories = new StringBuilder();
      for (CategoryUsage c : d.getByCategoryList()) {
        categories.append(categories.isEmpty() ? "" : ", ")
            .append(c.getCategory().name().substring("MEMORY_CATEGORY_".length()).toLowerCase(Locale.ROOT))
            .append(' ').append(ByteSize.format(c.getUsedBytes()));
      }
      out.println("  by category: " + categories);
      if (d.getBySessionCount() == 0) {
        out.println("  by session:  none");
      }
      for (SessionUsage s : d.getBySessionList()) {
        out.printf("  by session:  %s (client '%s') %s in %d allocation(s)%n", s.getSession(), s.getClientName(),
            ByteSize.format(s.getUsedBytes()), s.getAllocations());
      }
      StringBuilder cores = new StringBuilder();
      for (CoreUsage c : d.getByCoreList()) {
        cores.append(cores.isEmpty() ? "" : ", ").append("core ").append(c.getCoreId()).append(' ')
            .append(ByteSize.format(c.getUsedBytes()));
      }
      out.println("  by core:     " + (cores.isEmpty() ? "none" : cores));
    }
    out.println("host memory: " + ByteSize.format(stats.getHostUsedBytes()) + " used");
    out.flush();
    return 0;
  }
}
