package io.vnrt.runtime.exec;

import static io.vnrt.runtime.kernels.DType.FLOAT32;

import io.vnrt.runtime.kernels.Tensor;
import java.util.List;

/**
 * A CNN over float[N, 3, H, W] whose spatial dims shrink below a pooling window at small sizes:
 * a 3×3 convolution without padding (output channel c has every weight c + 1), Relu, five 2×2
 * stride-2 max pools and a global average. It runs for H, W ≥ 34; with every symbolic dim at 1
 * or at 8 some layer cannot run, at 64 every one can. Images of ones give 27·(c + 1) per channel.
 */
public final class ShrinkingCnn {
    /** The output for an image of ones of any size the model runs at. */
    public static final float[] ONES_OUTPUT = {27, 54, 81, 108};

    private ShrinkingCnn() {}

    public static byte[] model() {
        float[] w = new float[4 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = i / 27 + 1;
        }
        ModelBuilder b = new ModelBuilder(9).input("x", FLOAT32, "N", 3L, "H", "W").output("y", FLOAT32, "N", 4L, 1L, 1L)
                .initializer("w", Tensor.ofFloats(new long[] {4, 3, 3, 3}, w))
                .node("Conv", List.of("x", "w"), List.of("c"), ModelBuilder.intsAttr("kernel_shape", 3, 3))
                .node("Relu", List.of("c"), List.of("p0"));
        for (int i = 0; i < 5; i++) {
            b.node("MaxPool", List.of("p" + i), List.of("p" + (i + 1)), ModelBuilder.intsAttr("kernel_shape", 2, 2),
                    ModelBuilder.intsAttr("strides", 2, 2));
        }
        return b.node("GlobalAveragePool", List.of("p5"), List.of("y")).bytes();
    }

    /** An image of ones, float32[1, 3, size, size]. */
    public static Tensor ones(int size) {
        float[] v = new float[3 * size * size];
        java.util.Arrays.fill(v, 1f);
        return Tensor.ofFloats(new long[] {1, 3, size, size}, v);
    }
}
