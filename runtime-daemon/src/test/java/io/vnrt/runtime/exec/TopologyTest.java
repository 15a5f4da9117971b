package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TopologyTest {

  private static Topology of(Profile p, Integer devices, Integer cores, Long hbm, String visible) {
    return Topology.of(p, Optional.ofNullable(devices), Optional.ofNullable(cores), Optional.ofNullable(hbm),
        Optional.ofNullable(visible).map(VisibleCores::parse));
  }

  @Test
  void profilesHaveTheirRealShapes() {
    Topology cpu = of(Profile.CPU, null, null, null, null);
    assertEquals(1, cpu.devices().size());
    assertEquals(Runtime.getRuntime().availableProcessors(), cpu.coreCount());
    assertEquals(4L << 30, cpu.devices().getFirst().hbmBytes());
    assertEquals("cpu", cpu.profile());

    assertEquals(List.of(0, 1), of(Profile.INF2, null, null, null, null).devices().getFirst().coreIds());
    assertEquals(32L << 30, of(Profile.TRN1, null, null, null, null).totalHbmBytes());
    Topology trn2 = of(Profile.TRN2, 2, null, null, null);
    assertEquals(16, trn2.coreCount());
    assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15), trn2.devices().get(1).coreIds());
    assertEquals(192L << 30, trn2.totalHbmBytes());
    assertEquals("trn2: 2 devices, 16 cores (8 per device), 96.0 GiB HBM per device", trn2.summary());
  }

  @Test
  void flagsOverrideTheProfileAndMakeItCustom() {
    Topology t = of(Profile.TRN1, 3, 4, 512L << 20, null);
    assertEquals("custom", t.profile());
    assertEquals(12, t.coreCount());
    assertEquals(List.of(4, 5, 6, 7), t.devices().get(1).coreIds());
    assertEquals(2, t.devices().get(1).localIndex(6));
    assertEquals("trn1", of(Profile.TRN1, 3, 2, 32L << 30, null).profile(), "same shape as the profile");
  }

  @Test
  void visibleCoresHideOtherCoresAndEmptyDevices() {
    Topology t = of(Profile.TRN1, 3, null, null, "0-1,4");
    assertEquals(List.of(0, 2), t.devices().stream().map(DeviceSpec::deviceId).toList(), "device 1 has no visible core");
    assertEquals(List.of(4), t.device(2).orElseThrow().coreIds());
    assertTrue(t.device(1).isEmpty());
    assertEquals("0, 2", t.deviceIds());
    assertEquals(3, t.coreCount());
  }

  @Test
  void badValuesAreExplained() {
    assertMessage("visible cores 0-9 name core 9, but the topology has cores 0-3",
        () -> of(Profile.TRN1, 2, null, null, "0-9"));
    assertMessage("--devices must be between 1 and 1024, got 0", () -> of(Profile.TRN1, 0, null, null, null));
    assertMessage("--cores-per-device must be between 1 and 1024, got -2", () -> of(Profile.CPU, 1, -2, null, null));
    assertMessage("--hbm must be at least 4 KiB", () -> of(Profile.CPU, 1, 1, 10L, null));
    assertMessage("unknown profile 'h100': expected one of cpu, inf2, trn1, trn2", () -> Profile.parse("h100"));
    assertMessage("invalid visible-cores entry 'x' in '0,x'", () -> VisibleCores.parse("0,x"));
    assertMessage("runs backwards; write 2-5", () -> VisibleCores.parse("5-2"));
    assertMessage("empty visible-cores list", () -> VisibleCores.parse(" "));
  }

  @Test
  void visibleCoresPrintAsRanges() {
    assertEquals("0-1,4,6-8", VisibleCores.parse("8,0,1,4,6-7").toString());
    assertTrue(VisibleCores.parse("3").contains(3));
    assertEquals(3, VisibleCores.parse("0-3").highest());
  }

  private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' lacks '" + part + "'");
  }
}
