package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every fused activation, vector body and scalar tail alike, against its double-precision reference. */
class ActivationTest {
  @Test
  void vectorBodyAndScalarTailMatchTheReferenceForEveryActivation() {
    int l = VectorShape.FLOAT.length();
    Random r = new Random(3);
    for (Activation act : Activation.values()) {
      for (int n : new int[] {1, l - 1, l, l + 3, 3 * l + 5}) {
        if (n < 1) {
          continue;
        }
        try (Arena arena = Arena.ofConfined()) {
          // at an offset, so the body and the tail both start inside the segment
          long off = 12;
          MemorySegment c = arena.allocate(off + n * 4L, 64);
          float[] x = new float[n];
          for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
            c.set(Tensor.F32, off + i * 4L, x[i]);
          }
          act.applyInPlace(c, off, n, 0.1f);
          for (int i = 0; i < n; i++) {
            double want = act.applyDouble(x[i], 0.1f);
            assertEquals(want, c.get(Tensor.F32, off + i * 4L), 2e-6 + 2e-6 * Math.abs(want),
                act + " n=" + n + " [" + i + "] of x=" + x[i] + (i >= n - n % l ? " (tail)" : " (vector body)"));
          }
        }
      }
    }
  }
}
