package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.TensorType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The start-up warm-up reaches the kernels real models run: a kernel that only real models reach
 * runs its first executions in the interpreter (the Vector API boxed, 10 to 100 times slower), so
 * every kernel the benchmark models' plans use must appear in a warm-up model's plan too.
 */
class WarmupCoverageTest {
  private static final Path MODELS = Path.of(System.getProperty("vnrt.shared", "../shared"), "models");

  /** Kernel classes of a model's plan at these dims, each with the first node that uses it. */
  private static Map<String, String> kernels(byte[] onnx, String name, Map<String, Long> dims, CoreGroup group)
      throws Exception {
    Map<String, String> used = new TreeMap<>();
    try (LoadedModel m = new Engine().load(name, onnx, null, new HostMemory(), group)) {
      List<TensorType> sig = new ArrayList<>();
      for (ValueInfo v : m.inputs()) {
        sig.add(new TensorType(v.dtype(), v.shape(symbol -> dims.getOrDefault(symbol, 1L))));
      }
      ExecutionPlan plan = m.plan(sig);
      for (ExecutionPlan.Step s : plan.steps()) {
        if (!s.skip()) {
          used.putIfAbsent(s.kernel().getClass().getName(), name + ": " + s.node().label());
        }
      }
    }
    return used;
  }

  @Test
  void everyKernelOfTheBenchmarkModelsIsInAWarmupModel() throws Exception {
    assumeTrue(Files.isRegularFile(MODELS.resolve("encoder_layer.onnx")), "benchmark models not found at " + MODELS
        + " (set -Dvnrt.shared)");
    try (CoreGroup group = new CoreGroup("test", 2)) {
      Set<String> warmed = new TreeSet<>();
      for (WarmupModels.WarmupModel w : WarmupModels.all()) {
        warmed.addAll(kernels(w.onnx(), w.name(), w.dims(), group).keySet());
      }
      Map<String, String> missing = new TreeMap<>();
      for (var e : Map.of("mlp.onnx", Map.of("N", 64L), "encoder_layer.onnx", Map.of("B", 1L, "S", 128L),
          "matmul1024.onnx", Map.<String, Long>of()).entrySet()) {
        byte[] onnx = Files.readAllBytes(MODELS.resolve(e.getKey()));
        kernels(onnx, e.getKey(), e.getValue(), group).forEach((k, where) -> {
          if (!warmed.contains(k)) {
            missing.putIfAbsent(k, where);
          }
        });
      }
      assertTrue(missing.isEmpty(), "kernels no warm-up model runs: " + missing);
    }
  }

  /**
   * The BERT-style encoder (word and position embeddings, post-LN layers) in float32 and as
   * quantize_dynamic writes it, per tensor and per channel, and a CNN in the QDQ form, at other
   * sizes than the warm-up's.
   */
  @Test
  void everyKernelOfTransformerAndQuantizedModelsIsInAWarmupModel() throws Exception {
    try (CoreGroup group = new CoreGroup("test", 2)) {
      Set<String> warmed = new TreeSet<>();
      for (WarmupModels.WarmupModel w : WarmupModels.all()) {
        warmed.addAll(kernels(w.onnx(), w.name(), w.dims(), group).keySet());
      }
      QuantizedModels.EncoderSpec spec = new QuantizedModels.EncoderSpec(2, 96, 6, 192, 100, 64, 11);
      Map<String, String> missing = new TreeMap<>();
      Map<String, byte[]> models = new TreeMap<>();
      for (QuantizedModels.Weights w : QuantizedModels.Weights.values()) {
        models.put("encoder " + w, QuantizedModels.encoder(spec, w));
      }
      models.put("qdq cnn", QuantizedModels.qdqCnn(48, 7, 7));
      for (var e : models.entrySet()) {
        kernels(e.getValue(), e.getKey(), Map.of("B", 1L, "S", 16L), group).forEach((k, where) -> {
          if (!warmed.contains(k)) {
            missing.putIfAbsent(k, where);
          }
        });
      }
      assertTrue(missing.isEmpty(), "kernels no warm-up model runs: " + missing);
    }
  }
}
