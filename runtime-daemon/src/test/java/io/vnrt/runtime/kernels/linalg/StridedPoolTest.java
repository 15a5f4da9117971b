package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The float32 pooling paths with horizontal strides and dilations (the row-buffer vector path, and
 * the per-element path when Indices is asked for) against a plain scalar reference written from the
 * ONNX definition, over widths that are and are not multiples of the lane count.
 */
class StridedPoolTest {
    private static final int[] WIDTHS = {5, 13, 16, 37, 70};

    @Test
    void stridedWindowsMatchScalarReference() {
        Random r = new Random(7);
        int cases = 0;
        for (int w : WIDTHS) {
            Tensor x = GemmKernelTest.random(r, 1, 3, 9, w);
            for (int s = 2; s <= 3; s++) {
                for (int k : new int[] {2, 3, 5}) {
                    for (int pad = 0; pad < Math.min(k, 3); pad++) {
                        for (int d = 1; d <= 2; d++) {
                            for (int ceil = 0; ceil < 2; ceil++) {
                                long[] kernel = {k == 5 ? 2 : k, k};
                                long[] strides = {k == 2 ? 1 : s, s};
                                long[] dil = {1, d};
                                long[] pads = {pad == 0 ? 0 : 1, pad, 0, pad == 2 ? 1 : pad};
                                if ((k - 1) * d + 1 > w + pads[1] + pads[3]) {
                                    continue;
                                }
                                String what = "w=" + w + " s=" + s + " k=" + k + " pad=" + pad + " d=" + d
                                        + " ceil=" + ceil;
                                check(x, kernel, strides, dil, pads, ceil, what);
                                cases++;
                            }
                        }
                    }
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertTrue(cases > 200, "cases run: " + cases);
    }

    @Test
    void threeDimensionalStridedWindows() {
        Random r = new Random(8);
        Tensor x = GemmKernelTest.random(r, 2, 2, 5, 6, 23);
        check(x, new long[] {2, 3, 3}, new long[] {2, 1, 2}, new long[] {1, 1, 2},
                new long[] {1, 0, 1, 0, 1, 2}, 1, "3-D");
        check(x, new long[] {3, 2, 5}, new long[] {1, 2, 3}, new long[] {1, 2, 1},
                new long[] {0, 1, 2, 1, 0, 2}, 0, "3-D s=3");
    }

    @Test
    void oneDimensionalStridedWindows() {
        Random r = new Random(9);
        Tensor x = GemmKernelTest.random(r, 2, 3, 41);
        check(x, new long[] {3}, new long[] {2}, new long[] {1}, new long[] {1, 1}, 0, "1-D");
        check(x, new long[] {4}, new long[] {3}, new long[] {2}, new long[] {2, 1}, 1, "1-D dilated");
    }

    private static void check(Tensor x, long[] kernel, long[] strides, long[] dil, long[] pads, int ceil,
                              String what) {
        long[] xs = x.shape();
        int rank = xs.length - 2;
        for (String op : new String[] {"MaxPool", "AveragePool"}) {
            for (int variant = 0; variant < 2; variant++) {
                TestNode node = TestNode.of(op, 19).input(x).attr("kernel_shape", kernel).attr("strides", strides)
                        .attr("dilations", dil).attr("pads", pads).attr("ceil_mode", (long) ceil);
                boolean maxOp = op.equals("MaxPool");
                boolean indices = maxOp && variant == 1;
                boolean includePad = !maxOp && variant == 1;
                if (indices) {
                    node.outputs(2);
                }
                if (!maxOp) {
                    node.attr("count_include_pad", (long) variant);
                }
                Tensor[] got = node.run(PoolOps.averagePoolOrMax(node, maxOp), ExecContext.inline(null));
                long[] os = got[0].shape();
                long[] expectShape = xs.clone();
                for (int i = 0; i < rank; i++) {
                    expectShape[2 + i] = outSize(xs[2 + i], kernel[i], strides[i], dil[i], pads[i], pads[rank + i],
                            ceil != 0);
                }
                String tag = what + " " + op + (indices ? " indices" : "") + (includePad ? " include_pad" : "");
                assertArrayEquals(expectShape, os, tag + ": shape");
                float[] want = new float[(int) got[0].elementCount()];
                long[] wantIdx = new long[want.length];
                reference(x, os, kernel, strides, dil, pads, maxOp, includePad, want, wantIdx);
                if (maxOp) {
                    assertArrayEquals(want, got[0].toFloatArray(), tag);
                } else {
                    GemmKernelTest.assertClose(want, got[0].toFloatArray(), tag);
                }
                if (indices) {
                    long[] idx = new long[wantIdx.length];
                    for (int i = 0; i < idx.length; i++) {
                        idx[i] = got[1].getLong(i);
                    }
                    assertArrayEquals(wantIdx, idx, tag + ": Indices");
                }
            }
        }
    }

    /** ONNX's output size (ceil_mode drops a last window that would start in the end pad). */
    private static long outSize(long in, long k, long s, long d, long pb, long pe, boolean ceil) {
        long span = in + pb + pe - ((k - 1) * d + 1);
        long out = (ceil ? Math.ceilDiv(span, s) : Math.floorDiv(span, s)) + 1;
        if (ceil && (out - 1) * s >= in + pb) {
            out--;
        }
        return out;
    }

    /** Plain scalar pooling over an N, C, spatial... tensor of up to three spatial axes. */
    private static void reference(Tensor x, long[] os, long[] kernel, long[] strides, long[] dil, long[] pads,
                                  boolean maxOp, boolean includePad, float[] y, long[] yIdx) {
        long[] xs = x.shape();
        int rank = xs.length - 2;
        int[] in = {1, 1, 1};
        int[] out = {1, 1, 1};
        int[] k = {1, 1, 1};
        int[] st = {1, 1, 1};
        int[] dl = {1, 1, 1};
        int[] pb = {0, 0, 0};
        int[] pe = {0, 0, 0};
        for (int i = 0; i < rank; i++) {
            int a = 3 - rank + i;
            in[a] = (int) xs[2 + i];
            out[a] = (int) os[2 + i];
            k[a] = (int) kernel[i];
            st[a] = (int) strides[i];
            dl[a] = (int) dil[i];
            pb[a] = (int) pads[i];
            pe[a] = (int) pads[rank + i];
        }
        long inVol = (long) in[0] * in[1] * in[2];
        int o = 0;
        for (int p = 0; p < xs[0] * xs[1]; p++) {
            for (int a = 0; a < out[0]; a++) {
                for (int b = 0; b < out[1]; b++) {
                    for (int c = 0; c < out[2]; c++, o++) {
                        float best = Float.NEGATIVE_INFINITY;
                        long bestAt = -1;
                        double sum = 0;
                        int count = 0;
                        int padded = 0;
                        for (int ka = 0; ka < k[0]; ka++) {
                            for (int kb = 0; kb < k[1]; kb++) {
                                for (int kc = 0; kc < k[2]; kc++) {
                                    int[] at = {a * st[0] - pb[0] + ka * dl[0], b * st[1] - pb[1] + kb * dl[1],
                                            c * st[2] - pb[2] + kc * dl[2]};
                                    boolean inside = true;
                                    boolean inPad = true;
                                    for (int q = 0; q < 3; q++) {
                                        inside &= at[q] >= 0 && at[q] < in[q];
                                        inPad &= at[q] >= -pb[q] && at[q] < in[q] + pe[q];
                                    }
                                    if (inPad) {
                                        padded++;
                                    }
                                    if (!inside) {
                                        continue;
                                    }
                                    long e = ((long) at[0] * in[1] + at[1]) * in[2] + at[2];
                                    float v = x.getFloat(p * inVol + e);
                                    if (bestAt < 0 || v > best) {
                                        best = v;
                                        bestAt = p * inVol + e;
                                    }
                                    sum += v;
                                    count++;
                                }
                            }
                        }
                        int div = includePad ? padded : count;
                        y[o] = maxOp ? best : div == 0 ? 0f : (float) (sum / div);
                        yIdx[o] = bestAt < 0 ? p * inVol : bestAt;
                    }
                }
            }
        }
    }
}
