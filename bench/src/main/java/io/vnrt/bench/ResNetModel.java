package io.vnrt.bench;

import static io.vnrt.runtime.onnx.OnnxModelBuilder.intAttr;
import static io.vnrt.runtime.onnx.OnnxModelBuilder.intsAttr;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A ResNet-50 (v1.5: the stride on the 3×3 convolution of each bottleneck) with random weights,
 * written as ONNX opset 17 the way exporters write it: Conv, BatchNormalization and Relu nodes,
 * MaxPool, bottleneck blocks with residual Adds (a projection shortcut at the start of each
 * stage), GlobalAveragePool, Flatten and a Gemm classifier; input {@code data} 1×3×224×224,
 * output {@code logits} 1×1000. 25.6 M parameters, about 4.1 GMAC. Weights are He-scaled
 * Gaussians from a fixed seed and the batch-norm statistics are mild, so activations keep their
 * scale through the 50 layers and two runtimes' outputs can be compared.
 *
 * <pre>java -cp bench/target/benchmarks.jar io.vnrt.bench.ResNetModel OUT.onnx</pre>
 */
public final class ResNetModel {
    private final OnnxModelBuilder model = new OnnxModelBuilder("resnet50", 17);
    private final SplittableRandom random = new SplittableRandom(50);
    private int layers;

    private ResNetModel() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ResNetModel OUT.onnx");
        }
        write(Path.of(args[0]));
    }

    /** Writes the model to {@code file} (through a temporary file, so a half-written model is never seen). */
    public static void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "resnet50", ".tmp");
        Files.write(tmp, new ResNetModel().build());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private byte[] build() {
        model.input("data", DType.FLOAT32, 1L, 3L, 224L, 224L).output("logits", DType.FLOAT32, 1L, 1000L);
        String x = convBnRelu("data", 3, 64, 7, 2, true);
        model.node("MaxPool", List.of(x), List.of("pool1"), intsAttr("kernel_shape", 3, 3),
                intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1));
        x = "pool1";
        int channels = 64;
        int[] blocks = {3, 4, 6, 3};
        for (int stage = 0; stage < blocks.length; stage++) {
            int width = 64 << stage;
            for (int b = 0; b < blocks[stage]; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                x = bottleneck(x, channels, width, stride);
                channels = width * 4;
            }
        }
        model.node("GlobalAveragePool", List.of(x), List.of("gap"));
        model.node("Flatten", List.of("gap"), List.of("flat"), intAttr("axis", 1));
        model.initializer("fc_w", gaussian(Math.sqrt(1.0 / channels), 1000, channels));
        model.initializer("fc_b", gaussian(0.01, 1000));
        model.node("Gemm", List.of("flat", "fc_w", "fc_b"), List.of("logits"), intAttr("transB", 1));
        return model.bytes();
    }

    /** 1×1 reduce, 3×3 (strided), 1×1 expand, plus the shortcut (projected when the shape changes). */
    private String bottleneck(String x, int in, int width, int stride) {
        String a = convBnRelu(x, in, width, 1, 1, true);
        String b = convBnRelu(a, width, width, 3, stride, true);
        String c = convBnRelu(b, width, width * 4, 1, 1, false);
        String shortcut = in == width * 4 && stride == 1 ? x : convBnRelu(x, in, width * 4, 1, stride, false);
        String sum = "add" + layers;
        model.node("Add", List.of(c, shortcut), List.of(sum));
        String out = "block" + layers;
        model.node("Relu", List.of(sum), List.of(out));
        return out;
    }

    /** Conv (pads keep the size at stride 1), BatchNormalization, then Relu when asked. */
    private String convBnRelu(String x, int in, int out, int k, int stride, boolean relu) {
        String n = "l" + (layers++);
        model.initializer(n + "_w", gaussian(Math.sqrt(2.0 / (in * k * k)), out, in, k, k));
        int pad = k / 2;
        model.node("Conv", List.of(x, n + "_w"), List.of(n + "_conv"), intsAttr("kernel_shape", k, k),
                intsAttr("strides", stride, stride), intsAttr("pads", pad, pad, pad, pad));
        model.initializer(n + "_scale", uniform(0.5, 1.0, out));
        model.initializer(n + "_bias", uniform(-0.1, 0.1, out));
        model.initializer(n + "_mean", uniform(-0.1, 0.1, out));
        model.initializer(n + "_var", uniform(0.5, 1.5, out));
        model.node("BatchNormalization", List.of(n + "_conv", n + "_scale", n + "_bias", n + "_mean", n + "_var"),
                List.of(n + "_bn"));
        if (!relu) {
            return n + "_bn";
        }
        model.node("Relu", List.of(n + "_bn"), List.of(n + "_relu"));
        return n + "_relu";
    }

    private Tensor gaussian(double scale, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) (random.nextGaussian() * scale));
        }
        return t;
    }

    private Tensor uniform(double low, double high, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) random.nextDouble(low, high));
        }
        return t;
    }
}
