package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The start-up kernel warm-up: its models run, it waits for real work, it ends when told or at its budget. */
class KernelWarmupTest {
  @Test
  void everyWarmupModelLoadsAndRunsOnItsGeneratedInputs() throws Exception {
    List<WarmupModels.WarmupModel> models = WarmupModels.all();
    assertEquals(10, models.size());
    try (CoreGroup group = new CoreGroup("test", 2)) {
      for (WarmupModels.WarmupModel m : models) {
        HostMemory memory = new HostMemory();
        try (LoadedModel loaded = new Engine().load(m.name(), m.onnx(), null, memory, group);
            java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
          Map<String, Tensor> out = loaded.execute(GeneratedInputs.of(loaded.inputs(), m.dims(), arena));
          assertEquals(loaded.outputs().size(), out.size(), m.name());
          for (Map.Entry<String, Tensor> e : out.entrySet()) {
            Tensor t = e.getValue();
            for (long i = 0; t.dtype() == DType.FLOAT32 && i < t.elementCount(); i++) {
              assertTrue(Float.isFinite(t.getFloat(i)), m.name() + " output " + e.getKey() + "[" + i + "] is "
                  + t.getFloat(i) + ": the warm-up would train the kernels on NaN or infinity");
            }
          }
        }
        assertEquals(0, memory.usedBytes(), m.name() + " left memory behind");
      }
    }
  }

  @Test
  void whileRealWorkRunsTheWarmupWaitsAndEndsAtItsBudget() throws Exception {
    AtomicInteger asked = new AtomicInteger();
    KernelWarmup w = KernelWarmup.start(Duration.ofMillis(300), 2, new BackingChoice.Anonymous(), () -> {
      asked.incrementAndGet();
      return true;
    });
    KernelWarmup.Report r = w.finished().get(30, TimeUnit.SECONDS);
    assertEquals(KernelWarmup.State.BUDGET_SPENT, r.state(), r.describe());
    assertEquals(0, r.runs(), "nothing ran while the daemon was busy");
    assertTrue(r.models().isEmpty(), "not even a model was loaded: " + r.models());
    assertTrue(asked.get() > 1, "it kept asking whether the daemon was still busy");
    assertTrue(r.yielded().toMillis() > 0, r.describe());
    assertTrue(r.describe().startsWith("stopped at its time budget: 0 kernel-family models, 0 runs"), r.describe());
  }

  @Test
  void closeStopsItAndFreesWhatItHeld() throws Exception {
    KernelWarmup w = KernelWarmup.start(Duration.ofMinutes(5), 2, new BackingChoice.Anonymous(), () -> false);
    assertEquals(KernelWarmup.State.RUNNING, w.report().state());
    w.close();
    KernelWarmup.Report r = w.finished().get(30, TimeUnit.SECONDS);
    assertEquals(KernelWarmup.State.STOPPED, r.state(), r.describe());
    assertTrue(r.elapsed().compareTo(Duration.ofMinutes(1)) < 0, r.describe());
    assertTrue(r.failed().isEmpty(), r.describe());
  }

  @Test
  void generatedInputsAreNativeMemoryLikeEveryExecutionInput() {
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      var inputs = GeneratedInputs.of(List.of(new io.vnrt.runtime.graph.ValueInfo("x", DType.FLOAT32,
          List.of(io.vnrt.runtime.graph.Dim.symbolic("N"), io.vnrt.runtime.graph.Dim.of(3)))), Map.of("N", 2L), arena);
      Tensor x = inputs.get("x");
      assertTrue(x.data().isNative(), "the daemon copies heap inputs into native memory; the warm-up feeds native ones");
      assertEquals(24, x.data().byteSize());
      assertEquals(6, x.elementCount());
      assertTrue(x.getFloat(0) != 0f, "seeded Gaussian values");
    }
  }
}
