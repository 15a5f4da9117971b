package io.vnrt.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.proto.v1.CoreMetrics;
import io.vnrt.proto.v1.DeviceMemoryUsage;
import io.vnrt.proto.v1.LatencySummary;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.ModelMetrics;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The frame of vnrt top for a fixed snapshot. */
class TopViewTest {
  @Test
  void framesCoresMemoryModelsAndErrors() {
    MetricsSnapshot snapshot = MetricsSnapshot.newBuilder()
        .setTimestampMs(1_767_225_600_000L) // 2026-01-01T00:00:00Z
        .setPeriodMs(1000)
        .setSessions(2)
        .addCores(CoreMetrics.newBuilder().setCoreId(0).setDeviceId(0).setUtilization(0.5).setExecutions(120))
        .addCores(CoreMetrics.newBuilder().setCoreId(1).setDeviceId(0).setUtilization(1.0).setExecutions(7))
        .addMemory(DeviceMemoryUsage.newBuilder().setDeviceId(0).setCapacityBytes(4L << 30).setUsedBytes(1L << 30)
            .setPeakUsedBytes(2L << 30).putUsedBytesByCategory("tensors", 768L << 20)
            .putUsedBytesByCategory("weights", 256L << 20).putUsedBytesByCategory("scratch", 0))
        .addModels(ModelMetrics.newBuilder().setModelId("m-0123456789abcdef").setName("resnet50").setCompleted(120)
            .setFailed(1).setLatency(LatencySummary.newBuilder().setP50Us(812.5).setP99Us(1500)))
        .putErrors("NOT_FOUND", 3)
        .build();
    assertEquals(List.of(
        "vnrt top - 127.0.0.1:50051 - 2026-01-01 00:00:00 UTC - period 1000 ms - 2 sessions - q quits",
        "",
        "CORES",
        "  nc0   dev 0  [###############...............]  50.0%       120 exec",
        "  nc1   dev 0  [##############################] 100.0%         7 exec",
        "",
        "MEMORY",
        "  dev 0  [########......................]  25.0%  1.0 GiB / 4.0 GiB (peak 2.0 GiB)",
        "          scratch 0 B  tensors 768.0 MiB  weights 256.0 MiB",
        "",
        "MODELS",
        "  NAME                     ID             EXEC   FAIL      P50 us      P99 us",
        "  resnet50                 m-0123456~      120      1       812.5      1500.0",
        "",
        "ERRORS  NOT_FOUND 3"), TopView.render("127.0.0.1:50051", snapshot));
  }

  @Test
  void barsClampAndRound() {
    assertEquals("[" + ".".repeat(TopView.BAR_WIDTH) + "]", TopView.bar(-0.2));
    assertEquals("[" + "#".repeat(TopView.BAR_WIDTH) + "]", TopView.bar(1.7));
    assertEquals("[#" + ".".repeat(TopView.BAR_WIDTH - 1) + "]", TopView.bar(1.0 / TopView.BAR_WIDTH));
  }
}
