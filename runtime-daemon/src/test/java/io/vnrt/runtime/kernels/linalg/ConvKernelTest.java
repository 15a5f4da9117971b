package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Conv (im2col + GEMM) and ConvTranspose (GEMM + col2im) against direct loops, 1 vs 2 threads. */
class ConvKernelTest {
    private static CoreGroup two;

    @BeforeAll
    static void start() {
        two = new CoreGroup("conv-test", 2);
    }

    @AfterAll
    static void stop() {
        two.close();
    }

    /** Direct 2-D convolution: y[n][m][oh][ow] = b[m] + sum x[n][g*cg+c][ih][iw] * w[m][c][kh][kw]. */
    static float[] referenceConv(Tensor x, Tensor w, Tensor b, int group, int[] stride, int[] pad, int[] dil,
                                 int oh, int ow) {
        int n = (int) x.dim(0);
        int cIn = (int) x.dim(1);
        int h = (int) x.dim(2);
        int wd = (int) x.dim(3);
        int m = (int) w.dim(0);
        int cg = cIn / group;
        int mg = m / group;
        int kh = (int) w.dim(2);
        int kw = (int) w.dim(3);
        float[] y = new float[n * m * oh * ow];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < m; o++) {
                int g = o / mg;
                for (int r = 0; r < oh; r++) {
                    for (int s = 0; s < ow; s++) {
                        double acc = b == null ? 0 : b.getFloat(o);
                        for (int c = 0; c < cg; c++) {
                            for (int p = 0; p < kh; p++) {
                                for (int q = 0; q < kw; q++) {
                                    int ih = r * stride[0] - pad[0] + p * dil[0];
                                    int iw = s * stride[1] - pad[1] + q * dil[1];
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) {
                                        continue;
                                    }
                                    acc += x.getFloat((((long) i * cIn + g * cg + c) * h + ih) * wd + iw)
                                            * w.getFloat((((long) o * cg + c) * kh + p) * kw + q);
                                }
                            }
                        }
                        y[((i * m + o) * oh + r) * ow + s] = (float) acc;
                    }
                }
            }
        }
        return y;
    }

    static Tensor[] run(TestNode node, boolean twoThreads) {
        Kernel k = OpRegistry.standard().find("", node.opType()).create(node);
        return node.run(k, twoThreads ? two.context(null) : ExecContext.inline(null));
    }

    @Test
    void groupedDilatedStridedConvMatchesDirectLoop() {
        Random r = new Random(9);
        Tensor x = GemmKernelTest.random(r, 2, 6, 19, 23);
        Tensor w = GemmKernelTest.random(r, 10, 3, 3, 2);
        Tensor b = GemmKernelTest.random(r, 10);
        // pads begin (1, 0), end (2, 1); stride (2, 1); dilation (2, 3)
        int oh = (19 + 1 + 2 - 5) / 2 + 1;
        int ow = (23 + 0 + 1 - 4) / 1 + 1;
        float[] want = referenceConv(x, w, b, 2, new int[] {2, 1}, new int[] {1, 0}, new int[] {2, 3}, oh, ow);
        for (boolean threads : new boolean[] {false, true}) {
            Tensor y = run(TestNode.of("Conv", 11).input(x).constInput(w).input(b).attr("group", 2L)
                    .attr("strides", new long[] {2, 1}).attr("pads", new long[] {1, 0, 2, 1})
                    .attr("dilations", new long[] {2, 3}).parallelism(threads ? 2 : 1), threads)[0];
            assertArrayEquals(new long[] {2, 10, oh, ow}, y.shape());
            GemmKernelTest.assertClose(want, y.toFloatArray(), "conv 2threads=" + threads);
        }
    }

    /**
     * The patch rows are built from runs of one output row: stride 1 and 2 along the width, the
     * 7x7 stride-2 stem of a ResNet, pads wider than the kernel (whole runs in the padding), rows
     * narrower than a bulk copy, output rows that straddle the GEMM's column panels, and the
     * shifted-row form of stride-1 convolutions that keep the width (3x3 pad 1, 5x5 pad 2,
     * dilated, 1-D).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "[{0}x{1}] kernel {2}x{3} stride {4},{5} pad {6},{7} dilation {8}")
    @org.junit.jupiter.params.provider.CsvSource({
        "56, 56, 3, 3, 1, 1, 1, 1, 1", "57, 45, 3, 3, 2, 2, 1, 1, 1", "40, 38, 7, 7, 2, 2, 3, 3, 1",
        "5, 3, 3, 3, 1, 1, 4, 4, 1", "9, 7, 3, 3, 1, 2, 1, 2, 1", "17, 33, 3, 5, 1, 3, 2, 0, 1", "12, 30, 3, 3, 1, 1, 2, 2, 2",
        "10, 20, 3, 3, 1, 1, 0, 1, 1", "7, 7, 3, 3, 1, 1, 1, 1, 1", "14, 14, 5, 5, 1, 1, 2, 2, 1", "1, 40, 1, 3, 1, 1, 0, 1, 1"})
    void patchRowsMatchTheDirectLoop(int h, int wd, int kh, int kw, int sh, int sw, int ph, int pw, int dil) {
        Random r = new Random(h * 31 + wd);
        Tensor x = GemmKernelTest.random(r, 1, 5, h, wd);
        Tensor w = GemmKernelTest.random(r, 7, 5, kh, kw);
        int oh = (h + 2 * ph - dil * (kh - 1) - 1) / sh + 1;
        int ow = (wd + 2 * pw - dil * (kw - 1) - 1) / sw + 1;
        float[] want = referenceConv(x, w, null, 1, new int[] {sh, sw}, new int[] {ph, pw}, new int[] {dil, dil}, oh, ow);
        for (boolean threads : new boolean[] {false, true}) {
            Tensor y = run(TestNode.of("Conv", 11).input(x).constInput(w).attr("strides", new long[] {sh, sw})
                    .attr("pads", new long[] {ph, pw, ph, pw}).attr("dilations", new long[] {dil, dil})
                    .parallelism(threads ? 2 : 1), threads)[0];
            assertArrayEquals(new long[] {1, 7, oh, ow}, y.shape());
            GemmKernelTest.assertClose(want, y.toFloatArray(), "conv 2threads=" + threads);
        }
    }

    @Test
    void pointwiseConvWithFusedRelu() {
        Random r = new Random(4);
        Tensor x = GemmKernelTest.random(r, 1, 40, 9, 7);
        Tensor w = GemmKernelTest.random(r, 33, 40, 1, 1);
        float[] want = referenceConv(x, w, null, 1, new int[] {1, 1}, new int[] {0, 0}, new int[] {1, 1}, 9, 7);
        for (int i = 0; i < want.length; i++) {
            want[i] = Math.max(0, want[i]);
        }
        Tensor y = run(TestNode.of("Conv", 11).input(x).constInput(w).attr("vnrt_activation", "Relu"), false)[0];
        GemmKernelTest.assertClose(want, y.toFloatArray(), "1x1 conv + relu");
    }

    @Test
    void convTransposeMatchesScatterLoop() {
        Random r = new Random(8);
        int n = 2;
        int cIn = 4;
        int h = 5;
        int wd = 6;
        int group = 2;
        int mg = 3;
        int kh = 3;
        int kw = 2;
        int[] stride = {2, 3};
        int[] pad = {1, 0};
        int[] dil = {1, 2};
        Tensor x = GemmKernelTest.random(r, n, cIn, h, wd);
        Tensor w = GemmKernelTest.random(r, cIn, mg, kh, kw);
        Tensor b = GemmKernelTest.random(r, group * mg);
        int oh = stride[0] * (h - 1) + (kh - 1) * dil[0] + 1 - 2 * pad[0];
        int ow = stride[1] * (wd - 1) + (kw - 1) * dil[1] + 1 - 2 * pad[1];
        int m = group * mg;
        int cg = cIn / group;
        float[] want = new float[n * m * oh * ow];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < m; o++) {
                for (int e = 0; e < oh * ow; e++) {
                    want[(i * m + o) * oh * ow + e] = b.getFloat(o);
                }
            }
            for (int c = 0; c < cIn; c++) {
                int g = c / cg;
                for (int y = 0; y < h; y++) {
                    for (int z = 0; z < wd; z++) {
                        float xv = x.getFloat((((long) i * cIn + c) * h + y) * wd + z);
                        for (int o = 0; o < mg; o++) {
                            for (int p = 0; p < kh; p++) {
                                for (int q = 0; q < kw; q++) {
                                    int r0 = y * stride[0] - pad[0] + p * dil[0];
                                    int s0 = z * stride[1] - pad[1] + q * dil[1];
                                    if (r0 < 0 || r0 >= oh || s0 < 0 || s0 >= ow) {
                                        continue;
                                    }
                                    want[((i * m + g * mg + o) * oh + r0) * ow + s0] +=
                                            xv * w.getFloat((((long) c * mg + o) * kh + p) * kw + q);
                                }
                            }
                        }
                    }
                }
            }
        }
        for (boolean threads : new boolean[] {false, true}) {
            Tensor y = run(TestNode.of("ConvTranspose", 11).input(x).input(w).input(b).attr("group", (long) group)
                    .attr("strides", new long[] {2, 3}).attr("pads", new long[] {1, 0, 1, 0})
                    .attr("dilations", new long[] {1, 2}).parallelism(threads ? 2 : 1), threads)[0];
            assertArrayEquals(new long[] {n, m, oh, ow}, y.shape());
            GemmKernelTest.assertClose(want, y.toFloatArray(), "convtranspose 2threads=" + threads);
        }
    }
}
