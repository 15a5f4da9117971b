package io.vnrt.runtime.cli;

import io.vnrt.proto.v1.EngineInfo;
import java.util.ArrayList;
import java.util.List;

/** GetRuntimeInfo's engine facts in the words the daemon's start-up, {@code vnrt ls} and {@code vnrt run} print. */
final class EngineLines {
  private EngineLines() {}

  /** "vectors: ...", "CPU features: ...", "GEMM: ...", "int8 GEMM: ..." (absent from an older daemon) and, when there is one, "WARNING: ...". */
  static List<String> machine(EngineInfo e) {
    List<String> lines = new ArrayList<>();
    List<String> jvmFlags = new ArrayList<>();
    if (e.getJvmUseAvx() >= 0) {
      jvmFlags.add("UseAVX=" + e.getJvmUseAvx());
    }
    if (e.getJvmMaxVectorSize() > 0) {
      jvmFlags.add("MaxVectorSize=" + e.getJvmMaxVectorSize());
    }
    String flags = String.join(", ", jvmFlags);
    lines.add(String.format("vectors: %d-bit, %d floats each (the JVM compiles up to %d-bit%s)", e.getVectorBits(),
        e.getFloatLanes(), e.getJvmPreferredVectorBits(), flags.isEmpty() ? "" : "; " + flags));
    lines.add("CPU features: " + (e.getCpuFeaturesCount() == 0 ? "unknown" : String.join(" ", e.getCpuFeaturesList())));
    lines.add("GEMM: " + e.getGemmKernels());
    if (!e.getInt8GemmKernels().isEmpty()) {
      lines.add("int8 GEMM: " + e.getInt8GemmKernels());
    }
    if (!e.getWarning().isEmpty()) {
      lines.add("WARNING: " + e.getWarning());
    }
    return lines;
  }

  /** "kernel warm-up: done: 6 kernel-family models, ..." */
  static String warmup(EngineInfo e) {
    return "kernel warm-up: " + e.getKernelWarmup().getSummary();
  }
}
