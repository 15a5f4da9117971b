package io.vnrt.runtime.kernels.shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The byte-moving kernels (Transpose, Slice, Concat, Split, Expand, Tile, Gather, DepthToSpace)
 * against a plain index-arithmetic reference: odd sizes, every element width, 1 and 2 threads.
 */
class LayoutKernelsTest {
    private static CoreGroup two;

    @BeforeAll
    static void start() {
        two = new CoreGroup("t", 2);
    }

    @AfterAll
    static void stop() {
        two.close();
    }

    /** A tensor of the given dtype with distinct pseudo-random bit patterns (fixed seed). */
    static Tensor random(DType dt, long seed, long... shape) {
        Tensor t = Tensor.allocate(dt, shape);
        Random r = new Random(seed);
        byte[] b = new byte[(int) t.byteSize()];
        r.nextBytes(b);
        java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(b), 0, t.data(), 0, b.length);
        return t;
    }

    /** Expected output: element at output multi-index idx is input element src(idx) (flat). */
    static byte[] reference(Tensor in, long[] outShape, Function<long[], Long> src) {
        int es = in.dtype().byteSize();
        long n = Shapes.elementCount(outShape);
        byte[] out = new byte[(int) (n * es)];
        long[] idx = new long[outShape.length];
        for (long i = 0; i < n; i++) {
            long s = src.apply(idx);
            for (int b = 0; b < es; b++) {
                out[(int) (i * es + b)] = in.data().get(Tensor.I8, s * es + b);
            }
            for (int d = outShape.length - 1; d >= 0; d--) {
                if (++idx[d] < outShape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static Tensor runOn(TestNode node, ExecContext ctx) {
        Kernel k = OpRegistry.standard().find("", node.opType()).create(node);
        return node.run(k, ctx)[0];
    }

    static long flat(long[] idx, long[] strides) {
        long f = 0;
        for (int i = 0; i < idx.length; i++) {
            f += idx[i] * strides[i];
        }
        return f;
    }

    @Test
    void transposeMatchesReferenceForEveryPermutationWidthAndThreadCount() {
        long[][] shapes = {{7, 5}, {3, 1, 17}, {2, 3, 5, 7}, {2, 33, 3, 19}, {1, 4, 1, 3, 5}};
        DType[] types = {DType.FLOAT32, DType.INT64, DType.UINT8, DType.FLOAT16};
        Random r = new Random(7);
        for (long[] shape : shapes) {
            for (DType dt : types) {
                for (int trial = 0; trial < 6; trial++) {
                    long[] perm = randomPerm(shape.length, r);
                    Tensor x = random(dt, trial, shape);
                    long[] out = new long[shape.length];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = shape[(int) perm[i]];
                    }
                    long[] st = Shapes.strides(shape);
                    byte[] expect = reference(x, out, idx -> {
                        long f = 0;
                        for (int i = 0; i < idx.length; i++) {
                            f += idx[i] * st[(int) perm[i]];
                        }
                        return f;
                    });
                    TestNode node = TestNode.of("Transpose", 13).input(x).attr("perm", perm);
                    assertArrayEquals(expect, bytes(runOn(node, ExecContext.inline(null))), "perm " + java.util.Arrays.toString(perm));
                }
            }
        }
    }

    @Test
    void attentionTransposesSplitOverTwoThreadsMatchOneThread() {
        // [B,S,H,D] -> [B,H,S,D] (contiguous runs) and [B,H,S,D] -> [B,H,D,S] (tiled 2-D transpose).
        Tensor x = random(DType.FLOAT32, 3, 2, 131, 8, 67);
        for (long[] perm : new long[][] {{0, 2, 1, 3}, {0, 1, 3, 2}, {3, 2, 1, 0}}) {
            TestNode node = TestNode.of("Transpose", 13).input(x).attr("perm", perm);
            byte[] one = bytes(runOn(node, ExecContext.inline(null)));
            byte[] par = bytes(runOn(node, two.context(null)));
            assertArrayEquals(one, par);
            long[] st = Shapes.strides(x.shape());
            long[] out = new long[4];
            for (int i = 0; i < 4; i++) {
                out[i] = x.dim((int) perm[i]);
            }
            assertArrayEquals(reference(x, out, idx -> {
                long f = 0;
                for (int i = 0; i < 4; i++) {
                    f += idx[i] * st[(int) perm[i]];
                }
                return f;
            }), one);
        }
    }

    private static long[] randomPerm(int n, Random r) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static long[] slice1d(long[] data, long start, long end, long step) {
        Tensor x = Tensor.ofLongs(new long[] {data.length}, data);
        TestNode node = TestNode.of("Slice", 13).input(x).constInput(Tensor.ofLongs(new long[] {1}, start))
                .constInput(Tensor.ofLongs(new long[] {1}, end)).constInput(Tensor.ofLongs(new long[] {1}, 0))
                .constInput(Tensor.ofLongs(new long[] {1}, step));
        return node.run()[0].toLongArray();
    }

    @Test
    void sliceClampsLikeOnnxWithNegativeStepsAndOutOfRangeBounds() {
        long[] d = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        assertArrayEquals(new long[] {9, 7, 5, 3, 1}, slice1d(d, -1, -100, -2));
        assertArrayEquals(new long[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, slice1d(d, 20, Long.MIN_VALUE, -1));
        assertArrayEquals(new long[] {0, 3, 6, 9}, slice1d(d, -100, 100, 3));
        assertArrayEquals(new long[] {}, slice1d(d, 5, 2, 1));
        assertArrayEquals(new long[] {}, slice1d(d, 2, 5, -1));
        assertArrayEquals(new long[] {8, 7, 6}, slice1d(d, -2, 5, -1));
        assertArrayEquals(new long[] {2, 3, 4, 5, 6, 7, 8, 9}, slice1d(d, 2, Long.MAX_VALUE, 1));
    }

    @Test
    void sliceOfOddShapesMatchesReferenceOnTwoThreads() {
        Tensor x = random(DType.INT16, 5, 9, 401, 277);
        long[] starts = {-1, 3, 276};
        long[] ends = {-10, 400, 0};
        long[] steps = {-1, 2, -3};
        TestNode node = TestNode.of("Slice", 13).input(x).constInput(Tensor.ofLongs(new long[] {3}, starts))
                .constInput(Tensor.ofLongs(new long[] {3}, ends)).constInput(Tensor.ofLongs(new long[] {3}, 0, 1, 2))
                .constInput(Tensor.ofLongs(new long[] {3}, steps));
        long[] out = {9, 199, 92};
        long[] st = Shapes.strides(x.shape());
        byte[] expect = reference(x, out, idx -> (8 - idx[0]) * st[0] + (3 + 2 * idx[1]) * st[1] + (276 - 3 * idx[2]));
        assertArrayEquals(expect, bytes(runOn(node, ExecContext.inline(null))));
        assertArrayEquals(expect, bytes(runOn(node, two.context(null))));
    }

    @Test
    void sliceBeforeOpset10TakesAttributes() {
        Tensor x = Tensor.ofLongs(new long[] {2, 4}, 0, 1, 2, 3, 4, 5, 6, 7);
        Tensor y = TestNode.of("Slice", 9).input(x).attr("starts", new long[] {1}).attr("ends", new long[] {3})
                .attr("axes", new long[] {1}).run()[0];
        assertArrayEquals(new long[] {2, 2}, y.shape());
        assertArrayEquals(new long[] {1, 2, 5, 6}, y.toLongArray());
    }

    @Test
    void concatAndSplitAreInversesOnOddShapes() {
        Tensor a = random(DType.FLOAT32, 1, 3, 5, 7);
        Tensor b = random(DType.FLOAT32, 2, 3, 1, 7);
        Tensor c = random(DType.FLOAT32, 3, 3, 11, 7);
        Tensor cat = TestNode.of("Concat", 13).input(a).input(b).input(c).attr("axis", -2L).run()[0];
        assertArrayEquals(new long[] {3, 17, 7}, cat.shape());
        Tensor[] parts = TestNode.of("Split", 13).input(cat).constInput(Tensor.ofLongs(new long[] {3}, 5, 1, 11))
                .attr("axis", 1L).outputs(3).run();
        assertArrayEquals(bytes(a), bytes(parts[0]));
        assertArrayEquals(bytes(b), bytes(parts[1]));
        assertArrayEquals(bytes(c), bytes(parts[2]));
        Tensor[] old = TestNode.of("Split", 11).input(cat).attr("split", new long[] {5, 1, 11}).attr("axis", 1L)
                .outputs(3).run();
        assertArrayEquals(bytes(c), bytes(old[2]));
    }

    @Test
    void splitByNumOutputsGivesCeilChunksAndASmallerLast() {
        Tensor x = Tensor.ofLongs(new long[] {7}, 0, 1, 2, 3, 4, 5, 6);
        Tensor[] p = TestNode.of("Split", 18).input(x).attr("num_outputs", 3L).outputs(3).run();
        assertArrayEquals(new long[] {0, 1, 2}, p[0].toLongArray());
        assertArrayEquals(new long[] {3, 4, 5}, p[1].toLongArray());
        assertArrayEquals(new long[] {6}, p[2].toLongArray());
    }

    @Test
    void expandAndTileMatchReference() {
        Tensor x = random(DType.INT32, 4, 3, 1, 5);
        Tensor e = TestNode.of("Expand", 13).input(x).constInput(Tensor.ofLongs(new long[] {4}, 2, 1, 6, 1)).run()[0];
        assertArrayEquals(new long[] {2, 3, 6, 5}, e.shape());
        assertArrayEquals(reference(x, e.shape(), idx -> idx[1] * 5 + idx[3]), bytes(e));
        Tensor t = TestNode.of("Tile", 13).input(x).constInput(Tensor.ofLongs(new long[] {3}, 2, 3, 2)).run()[0];
        assertArrayEquals(new long[] {6, 3, 10}, t.shape());
        assertArrayEquals(reference(x, t.shape(), idx -> (idx[0] % 3) * 5 + idx[2] % 5), bytes(t));
    }

    @Test
    void gatherWithNegativeIndicesOnEveryAxis() {
        Tensor x = random(DType.INT64, 9, 4, 5, 3);
        Tensor ind = Tensor.ofLongs(new long[] {2, 2}, 0, -1, 2, -3);
        for (int axis = 0; axis < 3; axis++) {
            int ax = axis;
            Tensor y = TestNode.of("Gather", 13).input(x).input(ind).attr("axis", (long) axis).run()[0];
            long[] xs = x.shape();
            long[] st = Shapes.strides(xs);
            assertArrayEquals(reference(x, y.shape(), idx -> {
                long[] src = new long[3];
                for (int d = 0, k = 0; d < 3; d++) {
                    if (d == ax) {
                        long v = ind.getLong(idx[k] * 2 + idx[k + 1]);
                        src[d] = v < 0 ? v + xs[d] : v;
                        k += 2;
                    } else {
                        src[d] = idx[k++];
                    }
                }
                return flat(src, st);
            }), bytes(y), "axis " + axis);
        }
        Tensor bad = Tensor.ofLongs(new long[] {1}, 4);
        assertThrows(OpException.class, () -> TestNode.of("Gather", 13).input(x).input(bad).run());
    }

    @Test
    void reshapeFamilyAliasesItsInputAndStillCopiesWhenRun() {
        Tensor x = random(DType.FLOAT32, 8, 2, 1, 3);
        TestNode[] nodes = {
            TestNode.of("Reshape", 14).input(x).constInput(Tensor.ofLongs(new long[] {2}, 0, -1)),
            TestNode.of("Flatten", 13).input(x).attr("axis", -1L),
            TestNode.of("Squeeze", 13).input(x).constInput(Tensor.ofLongs(new long[] {1}, -2)),
            TestNode.of("Squeeze", 11).input(x).attr("axes", new long[] {1}),
            TestNode.of("Unsqueeze", 13).input(x).constInput(Tensor.ofLongs(new long[] {2}, 0, -1)),
            TestNode.of("Unsqueeze", 11).input(x).attr("axes", new long[] {3}),
            TestNode.of("Identity", 16).input(x),
        };
        long[][] shapes = {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {1, 2, 1, 3, 1}, {2, 1, 3, 1}, {2, 1, 3}};
        for (int i = 0; i < nodes.length; i++) {
            Kernel k = OpRegistry.standard().find("", nodes[i].opType()).create(nodes[i]);
            assertEquals(0, k.aliasOfInput(0));
            Tensor y = nodes[i].run(k, ExecContext.inline(null))[0];
            assertArrayEquals(shapes[i], y.shape(), nodes[i].opType());
            assertArrayEquals(bytes(x), bytes(y));
        }
        Tensor zero = Tensor.allocate(DType.FLOAT32, 0, 3);
        Tensor z = TestNode.of("Reshape", 14).input(zero).constInput(Tensor.ofLongs(new long[] {2}, 3, 0))
                .attr("allowzero", 1L).run()[0];
        assertArrayEquals(new long[] {3, 0}, z.shape());
    }

    @Test
    void shapeAndSizeDoNotReadTheirInput() {
        Tensor x = Tensor.allocate(DType.FLOAT32, 2, 3, 4);
        TestNode shape = TestNode.of("Shape", 15).input(x).attr("start", -2L);
        Kernel k = OpRegistry.standard().find("", "Shape").create(shape);
        assertFalse(k.readsInput(0));
        assertArrayEquals(new long[] {3, 4}, shape.run(k, ExecContext.inline(null))[0].toLongArray());
        Kernel s = OpRegistry.standard().find("", "Size").create(TestNode.of("Size", 13).input(x));
        assertFalse(s.readsInput(0));
    }

    @Test
    void depthToSpaceModesAreInversesOfSpaceToDepth() {
        Tensor x = random(DType.FLOAT32, 11, 2, 3, 5, 7);
        Tensor d = TestNode.of("SpaceToDepth", 13).input(x.reshape(2, 3, 5, 7)).attr("blocksize", 1L).run()[0];
        assertArrayEquals(bytes(x), bytes(d));
        Tensor y = random(DType.FLOAT32, 12, 2, 12, 3, 5);
        Tensor s = TestNode.of("DepthToSpace", 13).input(y).attr("blocksize", 2L).run()[0];
        assertArrayEquals(new long[] {2, 3, 6, 10}, s.shape());
        Tensor back = TestNode.of("SpaceToDepth", 13).input(s).attr("blocksize", 2L).run()[0];
        assertArrayEquals(bytes(y), bytes(back));
        // CRD: output channel c, row h*2+i, column w*2+j reads input channel c*4 + i*2 + j.
        Tensor crd = TestNode.of("DepthToSpace", 13).input(y).attr("blocksize", 2L).attr("mode", "CRD").run()[0];
        long[] st = Shapes.strides(y.shape());
        assertArrayEquals(reference(y, crd.shape(), idx -> idx[0] * st[0]
                + (idx[1] * 4 + (idx[2] % 2) * 2 + idx[3] % 2) * st[1] + (idx[2] / 2) * st[2] + idx[3] / 2), bytes(crd));
    }

    @Test
    void badNodesFailWithMessagesNamingWhatIsWrong() {
        Tensor x = Tensor.allocate(DType.FLOAT32, 2, 3);
        assertMessage("cannot reshape float32[2, 3] (6 elements) to [4, 2]",
                TestNode.of("Reshape", 14).input(x).constInput(Tensor.ofLongs(new long[] {2}, 4, 2)));
        assertMessage("cannot squeeze axis 1 of float32[2, 3]: its size is 3, not 1",
                TestNode.of("Squeeze", 13).input(x).constInput(Tensor.ofLongs(new long[] {1}, 1)));
        assertMessage("input 1 float32[2] does not match input 0 float32[2, 3]",
                TestNode.of("Concat", 13).input(x).input(Tensor.allocate(DType.FLOAT32, 2)).attr("axis", 0L));
        assertMessage("split [1, 1] does not divide axis 1 of float32[2, 3] into 2 outputs",
                TestNode.of("Split", 13).input(x).constInput(Tensor.ofLongs(new long[] {2}, 1, 1)).attr("axis", 1L)
                        .outputs(2));
        assertMessage("exactly one of scales and sizes must be given",
                TestNode.of("Resize", 19).input(x).noInput().constInput(Tensor.ofFloats(new long[] {2}, 1, 2))
                        .constInput(Tensor.ofLongs(new long[] {2}, 2, 6)));
    }

    private static void assertMessage(String expected, TestNode node) {
        OpException e = assertThrows(OpException.class, node::run);
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
