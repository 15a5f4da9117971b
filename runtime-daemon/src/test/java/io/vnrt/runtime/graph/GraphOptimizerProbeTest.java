package io.vnrt.runtime.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.Engine;
import io.vnrt.runtime.graph.GraphOptimizer.Support;
import io.vnrt.runtime.kernels.OpRegistry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The optimizer's kernel probe runs once per set of kernels: every engine's standard registry
 * shares it (run again at a daemon's first load, it threw away the warm-up's compiled GEMM), and
 * a registry with a kernel of its own gets its own.
 */
class GraphOptimizerProbeTest {
  private static Graph empty() {
    return new Graph("empty", List.of(), List.of(), List.of(), Map.of(), Map.of(), Map.of("", 17));
  }

  @Test
  void standardRegistriesShareOneProbeAndAnotherKernelGetsItsOwn() {
    GraphOptimizer.optimize(empty(), Engine.standardRegistry());
    int before = GraphOptimizer.probesRun();
    for (int i = 0; i < 3; i++) {
      GraphOptimizer.optimize(empty(), Engine.standardRegistry());
    }
    assertEquals(before, GraphOptimizer.probesRun(), "standard registries probed again");

    OpRegistry own = Engine.standardRegistry();
    // the same MatMul behind a factory object of its own: a different set of kernels
    io.vnrt.runtime.kernels.OpFactory matmul = own.find("", "MatMul");
    own.register("MatMul", ctx -> matmul.create(ctx));
    GraphOptimizer.optimize(empty(), own);
    assertEquals(before + 1, GraphOptimizer.probesRun(), "a registry with a MatMul factory of its own was not probed");
    Support s = GraphOptimizer.probe(own);
    assertTrue(s.matmulBias() && s.matmulActivations().containsAll(Set.of("Relu", "Gelu")), s.toString());
  }
}
