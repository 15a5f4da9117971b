package io.vnrt.runtime.cli;

import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.CoreInfo;
import io.vnrt.proto.v1.DeviceInfo;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.exec.VisibleCores;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.BitSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vnrt ls}: the daemon's devices, cores and HBM use, like neuron-ls, and what its engine runs. */
@Command(name = "ls", mixinStandardHelpOptions = true,
    description = "List the daemon's devices, cores and HBM used/total (like neuron-ls), the CPU features and vector"
        + " width its engine uses, its GEMM kernels and its kernel warm-up.")
final class LsCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Option(names = "--json", description = "Print JSON (protobuf's mapping of GetRuntimeInfoResponse, with numbers as "
      + "numbers) instead of a table.")
  private boolean json;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    GetRuntimeInfoResponse info;
    try (VnrtClient client = target.connect()) {
      info = client.runtimeInfo();
    }
    if (json) {
      out.println(Json.pretty(info));
      out.flush();
      return 0;
    }
    out.printf("vnrt %s at %s, up %s, %d open session(s)%n", info.getVersion(), target.target(),
        uptime(info.getUptimeMs()), info.getOpenSessions());
    TextTable table = new TextTable("DEVICE", "PROFILE", "CORES", "CORE IDS", "HBM USED", "HBM TOTAL", "USE");
    for (DeviceInfo d : info.getDevicesList()) {
      BitSet ids = new BitSet();
      d.getCoresList().stream().mapToInt(CoreInfo::getCoreId).forEach(ids::set);
      table.row(d.getDeviceId(), d.getProfile(), d.getCoresCount(), new VisibleCores(ids),
          ByteSize.format(d.getHbmUsedBytes()), ByteSize.format(d.getHbmCapacityBytes()),
          String.format("%.1f%%", 100.0 * d.getHbmUsedBytes() / Math.max(1, d.getHbmCapacityBytes())));
    }
    out.print(table.render());
    if (info.hasEngine()) {
      EngineLines.machine(info.getEngine()).forEach(out::println);
      out.println(EngineLines.warmup(info.getEngine()));
    }
    out.flush();
    return 0;
  }

  private static String uptime(long ms) {
    Duration d = Duration.ofMillis(ms);
    return d.toHours() > 0 ? d.toHours() + "h " + d.toMinutesPart() + "m"
        : d.toMinutes() > 0 ? d.toMinutes() + "m " + d.toSecondsPart() + "s"
        : d.toSeconds() + "s";
  }
}
