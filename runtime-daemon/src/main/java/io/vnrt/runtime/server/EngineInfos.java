package io.vnrt.runtime.server;

import io.vnrt.proto.v1.EngineInfo;
import io.vnrt.proto.v1.KernelWarmupInfo;
import io.vnrt.runtime.exec.KernelWarmup;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import java.util.Optional;

/** The engine's facts as GetRuntimeInfo reports them, and as the daemon and {@code vnrt run} print them. */
public final class EngineInfos {
  private EngineInfos() {}

  /** This process's engine, with the kernel warm-up if one was started. */
  public static EngineInfo current(Optional<KernelWarmup> warmup) {
    EngineInfo.Builder b = EngineInfo.newBuilder()
        .addAllCpuFeatures(VectorShape.CPU_FEATURES)
        .setVectorBits(VectorShape.BITS)
        .setFloatLanes(VectorShape.FLOAT_LANES)
        .setJvmPreferredVectorBits(VectorShape.JVM_PREFERRED_BITS)
        .setGemmKernels(LinalgOps.gemmKernels())
        .setInt8GemmKernels(LinalgOps.int8GemmKernels())
        .setWarning(VectorShape.WARNING == null ? "" : VectorShape.WARNING)
        .setKernelWarmup(warmup.map(w -> warmupInfo(w.report())).orElse(KernelWarmupInfo.newBuilder()
            .setState(KernelWarmupInfo.State.STATE_OFF).setSummary("off").build()));
    b.setJvmUseAvx(VectorShape.useAvx());
    String maxVectorSize = VectorShape.jvmFlag("MaxVectorSize");
    if (maxVectorSize != null && maxVectorSize.matches("\\d+")) {
      b.setJvmMaxVectorSize(Integer.parseInt(maxVectorSize));
    }
    return b.build();
  }

  private static KernelWarmupInfo warmupInfo(KernelWarmup.Report r) {
    KernelWarmupInfo.State state = switch (r.state()) {
      case RUNNING -> KernelWarmupInfo.State.STATE_RUNNING;
      case DONE -> KernelWarmupInfo.State.STATE_DONE;
      case BUDGET_SPENT -> KernelWarmupInfo.State.STATE_BUDGET_SPENT;
      case STOPPED -> KernelWarmupInfo.State.STATE_STOPPED;
    };
    return KernelWarmupInfo.newBuilder().setState(state).setElapsedMs(r.elapsed().toMillis())
        .setSummary(r.describe()).build();
  }
}
