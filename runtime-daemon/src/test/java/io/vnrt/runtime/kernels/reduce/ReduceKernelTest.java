package io.vnrt.runtime.kernels.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Reduce*: vector path against the generic reference, thread splits, versioned axes, exact integers. */
class ReduceKernelTest {
    private static final OpRegistry REGISTRY = OpRegistry.standard();

    static Tensor random(long seed, long... shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape);
        Random r = new Random(seed);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, r.nextFloat() * 4 - 2);
        }
        return t;
    }

    /** Runs the kernel's fast path in ctx and compares with its generic path over the same input. */
    private static void checkAgainstGeneric(ReduceKind kind, Tensor x, long[] axes, ExecContext ctx) {
        TestNode node = TestNode.of(kind.opType(), 18).input(x).constInput(Tensor.ofLongs(new long[] {axes.length}, axes));
        Kernel k = REGISTRY.find("", kind.opType()).create(node);
        Tensor fast = node.run(k, ctx)[0];
        Tensor ref = Tensor.allocate(DType.FLOAT32, k.outputTypes()[0].shape());
        ((Reduce) k).generic(x, ref, 0, ref.elementCount());
        for (long i = 0; i < ref.elementCount(); i++) {
            double e = ref.getDouble(i);
            double a = fast.getDouble(i);
            assertTrue(e == a || Math.abs(e - a) <= 1e-5 + 1e-4 * Math.abs(e),
                    kind + " axes " + java.util.Arrays.toString(axes) + " element " + i + ": " + e + " vs " + a);
        }
    }

    @Test
    void vectorPathMatchesReferenceOnOddShapes() {
        Tensor x = random(1, 3, 37, 5, 19);
        long[][] axesSets = {{3}, {1}, {0}, {1, 2}, {2, 3}, {0, 1, 2, 3}, {0, 2}};
        for (ReduceKind kind : ReduceKind.values()) {
            for (long[] axes : axesSets) {
                checkAgainstGeneric(kind, kind == ReduceKind.LOG_SUM || kind == ReduceKind.PROD ? abs(x) : x, axes,
                        ExecContext.inline(null));
            }
        }
    }

    @Test
    void twoThreadsGiveTheSameResultAsOne() {
        Tensor x = random(2, 67, 2053);
        try (CoreGroup group = new CoreGroup("t", 2)) {
            for (ReduceKind kind : new ReduceKind[] {ReduceKind.SUM, ReduceKind.MAX, ReduceKind.L2}) {
                checkAgainstGeneric(kind, x, new long[] {1}, group.context(null));
                checkAgainstGeneric(kind, x, new long[] {0}, group.context(null));
                checkAgainstGeneric(kind, x, new long[] {0, 1}, group.context(null));
            }
        }
    }

    private static Tensor abs(Tensor x) {
        Tensor t = Tensor.allocate(DType.FLOAT32, x.shape());
        for (long i = 0; i < x.elementCount(); i++) {
            t.setFloat(i, Math.abs(x.getFloat(i)) + 0.5f);
        }
        return t;
    }

    @Test
    void maxPropagatesNaNOnTheVectorPath() {
        Tensor x = random(3, 2, 40);
        x.setFloat(17, Float.NaN);
        Tensor y = TestNode.of("ReduceMax", 18).input(x).constInput(Tensor.ofLongs(new long[] {1}, 1)).run()[0];
        assertTrue(Float.isNaN(y.getFloat(0)));
        assertTrue(!Float.isNaN(y.getFloat(1)));
    }

    @Test
    void axesAreAnAttributeBeforeTheirOpsetAndAnInputAfter() {
        Tensor x = Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, 4, 5, 6);
        Tensor a = TestNode.of("ReduceSum", 11).input(x).attr("axes", new long[] {1}).attr("keepdims", 0L).run()[0];
        assertArrayEquals(new long[] {2}, a.shape());
        assertArrayEquals(new float[] {6, 15}, a.toFloatArray());
        Tensor b = TestNode.of("ReduceSum", 13).input(x).constInput(Tensor.ofLongs(new long[] {1}, 0)).run()[0];
        assertArrayEquals(new long[] {1, 3}, b.shape());
        assertArrayEquals(new float[] {5, 7, 9}, b.toFloatArray());
        Tensor c = TestNode.of("ReduceMean", 17).input(x).attr("axes", new long[] {-1}).run()[0];
        assertArrayEquals(new float[] {2, 5}, c.toFloatArray());
        Tensor d = TestNode.of("ReduceMean", 18).input(x).constInput(Tensor.ofLongs(new long[] {1}, -1)).run()[0];
        assertArrayEquals(new float[] {2, 5}, d.toFloatArray());
        // No axes: everything, unless noop_with_empty_axes asks for the identity.
        Tensor e = TestNode.of("ReduceMax", 18).input(x).run()[0];
        assertArrayEquals(new long[] {1, 1}, e.shape());
        assertEquals(6f, e.getFloat(0));
        Tensor f = TestNode.of("ReduceSum", 13).input(x).constInput(Tensor.ofLongs(new long[] {0}))
                .attr("noop_with_empty_axes", 1L).run()[0];
        assertArrayEquals(x.toFloatArray(), f.toFloatArray());
    }

    @Test
    void integerSumAndProdAreExact() {
        long big = (1L << 53) + 1;
        Tensor x = Tensor.ofLongs(new long[] {2, 2}, big, 2, big, 3);
        Tensor sum = TestNode.of("ReduceSum", 13).input(x).constInput(Tensor.ofLongs(new long[] {1}, 0)).run()[0];
        assertArrayEquals(new long[] {2 * big, 5}, sum.toLongArray());
        Tensor prod = TestNode.of("ReduceProd", 18).input(x).constInput(Tensor.ofLongs(new long[] {1}, 1)).run()[0];
        assertArrayEquals(new long[] {2 * big, 3 * big}, prod.toLongArray());
        Tensor max = TestNode.of("ReduceMax", 18).input(x).constInput(Tensor.ofLongs(new long[] {1}, 1)).run()[0];
        assertArrayEquals(new long[] {big, big}, max.toLongArray());
    }

    @Test
    void topKKeepsTiesInIndexOrderAndMatchesASort() {
        Tensor x = Tensor.ofFloats(new long[] {1, 6}, 3, 1, 3, 2, 3, 1);
        Tensor[] out = TestNode.of("TopK", 11).input(x).constInput(Tensor.ofLongs(new long[] {1}, 4)).outputs(2).run();
        assertArrayEquals(new float[] {3, 3, 3, 2}, out[0].toFloatArray());
        assertArrayEquals(new long[] {0, 2, 4, 3}, out[1].toLongArray());
        Tensor[] small = TestNode.of("TopK", 11).input(x).constInput(Tensor.ofLongs(new long[] {1}, 3))
                .attr("largest", 0L).outputs(2).run();
        assertArrayEquals(new float[] {1, 1, 2}, small[0].toFloatArray());
        assertArrayEquals(new long[] {1, 5, 3}, small[1].toLongArray());
        Tensor[] v1 = TestNode.of("TopK", 1).input(x).attr("k", 2L).outputs(2).run();
        assertArrayEquals(new long[] {0, 2}, v1[1].toLongArray());

        Tensor r = random(4, 5, 301);
        Tensor[] top = TestNode.of("TopK", 11).input(r).constInput(Tensor.ofLongs(new long[] {1}, 37)).outputs(2).run();
        for (int row = 0; row < 5; row++) {
            float[] sorted = new float[301];
            for (int i = 0; i < 301; i++) {
                sorted[i] = r.getFloat(row * 301L + i);
            }
            java.util.Arrays.sort(sorted);
            for (int i = 0; i < 37; i++) {
                assertEquals(sorted[300 - i], top[0].getFloat(row * 37L + i));
                assertEquals(sorted[300 - i], r.getFloat(row * 301L + top[1].getLong(row * 37L + i)));
            }
        }
    }

    @Test
    void cumSumOfInt64IsExactAlongARuntimeAxis() {
        long big = (1L << 60) + 1;
        Tensor x = Tensor.ofLongs(new long[] {2, 2}, big, 1, big, 2);
        Tensor y = TestNode.of("CumSum", 14).input(x).input(Tensor.ofLongs(new long[0], 0)).run()[0];
        assertArrayEquals(new long[] {big, 1, 2 * big, 3}, y.toLongArray());
        Tensor z = TestNode.of("CumSum", 14).input(x).input(Tensor.ofLongs(new long[0], -1))
                .attr("reverse", 1L).attr("exclusive", 1L).run()[0];
        assertArrayEquals(new long[] {1, 0, 2, 0}, z.toLongArray());
    }
}
