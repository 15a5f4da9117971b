package io.vnrt.runtime.kernels.shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import org.junit.jupiter.api.Test;

/** Pad modes, Resize modes, scatter reductions and the value operators against hand-computed results. */
class PadResizeScatterTest {
    private static final float EPS = 1e-5f;

    private static float[] pad(String mode, long opset, float[] data, long before, long after) {
        Tensor x = Tensor.ofFloats(new long[] {data.length}, data);
        TestNode n = TestNode.of("Pad", (int) opset).input(x).attr("mode", mode);
        if (opset < 11) {
            n.attr("pads", new long[] {before, after}).attr("value", 9f);
        } else {
            n.constInput(Tensor.ofLongs(new long[] {2}, before, after)).constInput(Tensor.ofFloats(new long[0], 9f));
        }
        return n.run()[0].toFloatArray();
    }

    @Test
    void padModesMatchNumpy() {
        float[] d = {1, 2, 3};
        assertArrayEquals(new float[] {9, 9, 1, 2, 3, 9, 9, 9}, pad("constant", 13, d, 2, 3));
        assertArrayEquals(new float[] {9, 9, 1, 2, 3, 9, 9, 9}, pad("constant", 2, d, 2, 3));
        assertArrayEquals(new float[] {3, 2, 1, 2, 3, 2, 1, 2}, pad("reflect", 13, d, 2, 3));
        assertArrayEquals(new float[] {1, 1, 1, 2, 3, 3, 3, 3}, pad("edge", 13, d, 2, 3));
        assertArrayEquals(new float[] {2, 3, 1, 2, 3, 1, 2, 3}, pad("wrap", 19, d, 2, 3));
        // Reflection keeps bouncing when the pad is longer than the axis.
        assertArrayEquals(new float[] {1, 2, 3, 2, 1, 2, 3, 2, 1}, pad("reflect", 13, d, 4, 2));
        // Negative pads crop.
        assertArrayEquals(new float[] {2, 3, 9}, pad("constant", 13, d, -1, 1));
    }

    @Test
    void padOnSelectedAxesOfA3dTensor() {
        Tensor x = Tensor.ofLongs(new long[] {2, 2, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        Tensor y = TestNode.of("Pad", 18).input(x).constInput(Tensor.ofLongs(new long[] {2}, 1, 0))
                .constInput(Tensor.ofLongs(new long[0], -1)).constInput(Tensor.ofLongs(new long[] {1}, -2)).run()[0];
        assertArrayEquals(new long[] {2, 3, 3}, y.shape());
        assertArrayEquals(new long[] {-1, -1, -1, 1, 2, 3, 4, 5, 6, -1, -1, -1, 7, 8, 9, 10, 11, 12}, y.toLongArray());
        Tensor e = TestNode.of("Pad", 13).input(x).constInput(Tensor.ofLongs(new long[] {6}, 0, 1, 1, 0, 0, 0))
                .attr("mode", "edge").run()[0];
        assertArrayEquals(new long[] {2, 3, 4}, e.shape());
        assertArrayEquals(new long[] {1, 1, 2, 3, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 7, 7, 8, 9, 10, 10, 11, 12},
                e.toLongArray());
    }

    private static TestNode resize(Tensor x, String mode, String ctm) {
        return TestNode.of("Resize", 19).input(x).attr("mode", mode).attr("coordinate_transformation_mode", ctm);
    }

    @Test
    void linearHalfPixelUpsample() {
        Tensor x = Tensor.ofFloats(new long[] {1, 2}, 1, 2);
        Tensor y = resize(x, "linear", "half_pixel").noInput().noInput()
                .constInput(Tensor.ofLongs(new long[] {2}, 1, 4)).run()[0];
        assertArrayEquals(new float[] {1, 1.25f, 1.75f, 2}, y.toFloatArray(), EPS);
    }

    @Test
    void nearestModes() {
        Tensor x = Tensor.ofFloats(new long[] {3}, 1, 2, 3);
        Tensor up = resize(x, "nearest", "asymmetric").attr("nearest_mode", "floor").noInput()
                .constInput(Tensor.ofFloats(new long[] {1}, 2f)).run()[0];
        assertArrayEquals(new float[] {1, 1, 2, 2, 3, 3}, up.toFloatArray());
        Tensor x4 = Tensor.ofFloats(new long[] {4}, 1, 2, 3, 4);
        Tensor down = resize(x4, "nearest", "half_pixel").noInput()
                .constInput(Tensor.ofFloats(new long[] {1}, 0.5f)).run()[0];
        assertArrayEquals(new float[] {1, 3}, down.toFloatArray());
        Tensor ceil = resize(x4, "nearest", "half_pixel").attr("nearest_mode", "round_prefer_ceil").noInput()
                .constInput(Tensor.ofFloats(new long[] {1}, 0.5f)).run()[0];
        assertArrayEquals(new float[] {2, 4}, ceil.toFloatArray());
        // Nearest moves bytes: int64 values beyond double precision stay exact.
        Tensor big = Tensor.ofLongs(new long[] {2}, Long.MAX_VALUE, Long.MIN_VALUE + 1);
        Tensor b = resize(big, "nearest", "asymmetric").noInput().constInput(Tensor.ofFloats(new long[] {1}, 1.5f))
                .run()[0];
        assertArrayEquals(new long[] {Long.MAX_VALUE, Long.MIN_VALUE + 1, Long.MIN_VALUE + 1}, b.toLongArray());
    }

    @Test
    void olderOpsetsTakeScalesAtTheirOwnPositions() {
        Tensor x = Tensor.ofFloats(new long[] {1, 1, 2, 4}, 1, 2, 3, 4, 5, 6, 7, 8);
        Tensor scales = Tensor.ofFloats(new long[] {4}, 1, 1, 0.6f, 0.6f);
        // Opset 10: asymmetric coordinates, and nearest rounds up when downsampling (1.33 -> 2).
        Tensor v10 = TestNode.of("Resize", 10).input(x).constInput(Tensor.ofFloats(new long[] {4}, 1, 1, 1, 0.75f))
                .run()[0];
        assertArrayEquals(new long[] {1, 1, 2, 3}, v10.shape());
        assertArrayEquals(new float[] {1, 3, 4, 5, 7, 8}, v10.toFloatArray());
        // Opset 11: roi, scales, sizes; an empty roi is ignored; half_pixel maps outputs to 0.33 and 2.
        Tensor v11 = TestNode.of("Resize", 11).input(x).constInput(Tensor.allocate(DType.FLOAT32, 0))
                .constInput(scales).run()[0];
        assertArrayEquals(new float[] {1, 3}, v11.toFloatArray());
    }

    @Test
    void cubicAlignCornersNearTheEdges() {
        Tensor x = Tensor.ofFloats(new long[] {4}, 0, 1, 2, 3);
        Tensor y = resize(x, "cubic", "align_corners").noInput().noInput()
                .constInput(Tensor.ofLongs(new long[] {1}, 7)).run()[0];
        // Interior points reproduce the line; at the ends the clamped taps bend it (A = -0.75).
        assertArrayEquals(new float[] {0, 0.40625f, 1, 1.5f, 2, 2.59375f, 3}, y.toFloatArray(), EPS);
    }

    @Test
    void tfCropAndResizeExtrapolates() {
        Tensor x = Tensor.ofFloats(new long[] {4}, 1, 2, 3, 4);
        Tensor y = resize(x, "linear", "tf_crop_and_resize").attr("extrapolation_value", 10f)
                .constInput(Tensor.ofFloats(new long[] {2}, 0f, 1.5f)).noInput()
                .constInput(Tensor.ofLongs(new long[] {1}, 3)).run()[0];
        assertArrayEquals(new float[] {1, 3.25f, 10}, y.toFloatArray(), EPS);
    }

    @Test
    void antialiasedLinearDownsampleWidensTheFilter() {
        float[] d = {0, 1, 2, 3, 4, 5, 6, 7};
        Tensor x = Tensor.ofFloats(new long[] {8}, d);
        Tensor y = resize(x, "linear", "half_pixel").attr("antialias", 1L).noInput()
                .constInput(Tensor.ofFloats(new long[] {1}, 0.5f)).run()[0];
        assertArrayEquals(new float[] {0.625f, 2.5f, 4.5f, 6.375f}, y.toFloatArray(), EPS);
    }

    @Test
    void bilinearOnAnInnerAxisMatchesTheOneAxisResult() {
        // Resizing only axis 1 of [2, 2, 5] must treat every inner column independently.
        float[] v = new float[20];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        Tensor x = Tensor.ofFloats(new long[] {2, 2, 5}, v);
        Tensor y = resize(x, "linear", "half_pixel").attr("axes", new long[] {1}).noInput().noInput()
                .constInput(Tensor.ofLongs(new long[] {1}, 4)).run()[0];
        float[] got = y.toFloatArray();
        float[] w = {0, 0.25f, 0.75f, 1};
        for (int b = 0; b < 2; b++) {
            for (int j = 0; j < 4; j++) {
                for (int c = 0; c < 5; c++) {
                    float lo = v[b * 10 + c];
                    float hi = v[b * 10 + 5 + c];
                    assertArrayEquals(new float[] {lo + w[j] * (hi - lo)},
                            new float[] {got[b * 20 + j * 5 + c]}, EPS);
                }
            }
        }
    }

    @Test
    void resizeAndGatherSplitOverTwoThreadsMatchOneThread() {
        try (CoreGroup two = new CoreGroup("t", 2)) {
            Tensor x = LayoutKernelsTest.random(DType.FLOAT32, 1, 2, 3, 61, 83);
            for (int i = 0; i < x.elementCount(); i++) {
                x.setFloat(i, (i * 7919 % 1000) / 100f);
            }
            TestNode cubic = resize(x, "cubic", "half_pixel").noInput().noInput()
                    .constInput(Tensor.ofLongs(new long[] {4}, 2, 3, 127, 171));
            assertArrayEquals(run(cubic, ExecContext.inline(null)).toFloatArray(),
                    run(cubic, two.context(null)).toFloatArray());
            TestNode nearest = resize(x, "nearest", "asymmetric").noInput().noInput()
                    .constInput(Tensor.ofLongs(new long[] {4}, 2, 3, 127, 171));
            Tensor n1 = run(nearest, ExecContext.inline(null));
            assertArrayEquals(n1.toFloatArray(), run(nearest, two.context(null)).toFloatArray());
            // Output (1, 2, 126, 170) reads input (1, 2, 60, 82): 126 * 61 / 127 = 60.5 and 170 * 83 / 171 = 82.5
            // round up, then clamp to the last row and column.
            long o = ((1 * 3 + 2) * 127 + 126) * 171 + 170;
            assertArrayEquals(new float[] {x.getFloat(((1 * 3 + 2) * 61 + 60) * 83 + 82)}, new float[] {n1.getFloat(o)});
            Tensor table = LayoutKernelsTest.random(DType.FLOAT32, 2, 1000, 96);
            long[] ids = new long[4000];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (i * 37L) % 1000 - 500;
            }
            TestNode gather = TestNode.of("Gather", 13).input(table).input(Tensor.ofLongs(new long[] {40, 100}, ids));
            Tensor one = run(gather, ExecContext.inline(null));
            assertArrayEquals(LayoutKernelsTest.bytes(one), LayoutKernelsTest.bytes(run(gather, two.context(null))));
            assertArrayEquals(new float[] {table.getFloat(500 * 96L + 5)}, new float[] {one.getFloat(5)});
        }
    }

    private static Tensor run(TestNode node, ExecContext ctx) {
        Kernel k = OpRegistry.standard().find("", node.opType()).create(node);
        return node.run(k, ctx)[0];
    }

    @Test
    void triluWithAHugeKKeepsOrClearsEverything() {
        Tensor m = Tensor.ofLongs(new long[] {2, 2}, 1, 2, 3, 4);
        Tensor all = TestNode.of("Trilu", 14).input(m).input(Tensor.ofLongs(new long[0], Long.MIN_VALUE)).run()[0];
        assertArrayEquals(new long[] {1, 2, 3, 4}, all.toLongArray());
        Tensor none = TestNode.of("Trilu", 14).input(m).input(Tensor.ofLongs(new long[0], Long.MAX_VALUE)).run()[0];
        assertArrayEquals(new long[] {0, 0, 0, 0}, none.toLongArray());
    }

    @Test
    void scatterReductionsAreExactForInt64() {
        long big = 1L << 60;
        Tensor data = Tensor.ofLongs(new long[] {3}, big + 1, 5, 7);
        Tensor ind = Tensor.ofLongs(new long[] {3, 1}, 0, 0, 2);
        Tensor upd = Tensor.ofLongs(new long[] {3}, 1, 2, -9);
        Tensor add = TestNode.of("ScatterND", 18).input(data).input(ind).input(upd).attr("reduction", "add").run()[0];
        assertArrayEquals(new long[] {big + 4, 5, -2}, add.toLongArray());
        Tensor max = TestNode.of("ScatterND", 18).input(data).input(ind).input(upd).attr("reduction", "max").run()[0];
        assertArrayEquals(new long[] {big + 1, 5, 7}, max.toLongArray());
        Tensor ei = Tensor.ofLongs(new long[] {2}, -1, 0);
        Tensor eu = Tensor.ofLongs(new long[] {2}, 3, 3);
        Tensor mul = TestNode.of("ScatterElements", 18).input(data).input(ei).input(eu).attr("reduction", "mul")
                .run()[0];
        assertArrayEquals(new long[] {3 * (big + 1), 5, 21}, mul.toLongArray());
    }

    @Test
    void rangeOneHotTriluNonZeroConstantOfShape() {
        Tensor r = TestNode.of("Range", 11).constInput(Tensor.ofLongs(new long[0], 10))
                .constInput(Tensor.ofLongs(new long[0], 1)).constInput(Tensor.ofLongs(new long[0], -3)).run()[0];
        assertArrayEquals(new long[] {10, 7, 4}, r.toLongArray());
        Tensor oh = TestNode.of("OneHot", 11).input(Tensor.ofLongs(new long[] {3}, 1, -1, 7))
                .constInput(Tensor.ofLongs(new long[0], 3)).input(Tensor.ofFloats(new long[] {2}, 0, 5))
                .attr("axis", 0L).run()[0];
        assertArrayEquals(new long[] {3, 3}, oh.shape());
        assertArrayEquals(new float[] {0, 0, 0, 5, 0, 0, 0, 5, 0}, oh.toFloatArray());
        Tensor m = Tensor.ofLongs(new long[] {3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        Tensor up = TestNode.of("Trilu", 14).input(m).input(Tensor.ofLongs(new long[0], 1)).run()[0];
        assertArrayEquals(new long[] {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12}, up.toLongArray());
        Tensor low = TestNode.of("Trilu", 14).input(m).input(Tensor.ofLongs(new long[0], -1)).attr("upper", 0L)
                .run()[0];
        assertArrayEquals(new long[] {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0}, low.toLongArray());
        Tensor nz = TestNode.of("NonZero", 13).constInput(Tensor.ofFloats(new long[] {2, 2}, 1, -0f, 0, 3)).run()[0];
        assertArrayEquals(new long[] {2, 2}, nz.shape());
        assertArrayEquals(new long[] {0, 1, 0, 1}, nz.toLongArray());
        Tensor c = TestNode.of("ConstantOfShape", 20).constInput(Tensor.ofLongs(new long[] {2}, 2, 3))
                .attr("value", Tensor.ofLongs(new long[] {1}, -5)).run()[0];
        assertArrayEquals(new long[] {-5, -5, -5, -5, -5, -5}, c.toLongArray());
        Tensor f16 = Tensor.allocate(DType.FLOAT16, 1);
        f16.setDouble(0, 1.5);
        Tensor h = TestNode.of("ConstantOfShape", 20).constInput(Tensor.ofLongs(new long[] {1}, 3)).attr("value", f16)
                .run()[0];
        assertArrayEquals(new float[] {1.5f, 1.5f, 1.5f}, h.toFloatArray());
    }
}
