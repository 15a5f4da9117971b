package io.vnrt.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmBacking;
import io.vnrt.runtime.memory.HbmPool;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Loading scales with the graph: a chain of 100,002 nodes (MatMul, Add, Relu, each triple fused into one kernel)
 * loads and runs. Loading it took minutes while a step was quadratic in nodes (memory planning scanned every
 * buffer placed so far, dead-node removal inserted at the front of a list, fusion re-indexed the graph after
 * each fusion); the test's timeout fails it if one comes back.
 */
class LargeGraphLoadTest {
  static byte[] chain(int triples) {
    ModelBuilder b = new ModelBuilder(17).input("x", DType.FLOAT32, 1L, 4L)
        .output("y" + 3 * triples, DType.FLOAT32, 1L, 4L)
        .initializer("identity", Tensor.ofFloats(new long[] {4, 4}, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1))
        .initializer("one", Tensor.ofFloats(new long[] {4}, 1, 1, 1, 1));
    String prev = "x";
    for (int t = 0; t < triples; t++) {
      int i = 3 * t;
      b.node("MatMul", List.of(prev, "identity"), List.of("y" + (i + 1)));
      b.node("Add", List.of("y" + (i + 1), "one"), List.of("y" + (i + 2)));
      b.node("Relu", List.of("y" + (i + 2)), List.of("y" + (i + 3)));
      prev = "y" + (i + 3);
    }
    return b.bytes();
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS) // about 3 s on a quiet 2-core machine; was minutes
  void aHundredThousandNodeChainLoadsAndRuns() throws Exception {
    int triples = 33_334;
    int nodes = 3 * triples;
    byte[] model = chain(triples);
    try (HbmPool pool = new HbmPool(0, HbmBacking.anonymous(64 << 20)); CoreGroup group = new CoreGroup("big", 1)) {
      long t0 = System.nanoTime();
      try (LoadedModel m = new Engine().load("chain", model, null, pool, group, "s", "c", 0, "m")) {
        System.out.printf("loaded %d nodes in %d ms%n", nodes, (System.nanoTime() - t0) / 1_000_000);
        Map<String, Tensor> out = m.execute(Map.of("x", Tensor.ofFloats(new long[] {1, 4}, -1, 0, 1, 2)));
        Tensor y = out.get("y" + nodes);
        assertEquals(triples + 2.0, y.getDouble(3), 1e-3);
      }
    }
  }
}
