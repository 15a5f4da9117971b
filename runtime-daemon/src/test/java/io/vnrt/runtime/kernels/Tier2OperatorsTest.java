package io.vnrt.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The tier-2 operators outside attention on cases the conformance tests leave out: unsigned
 * orderings, wide shifts, negative diagonals, and each bad input giving an error that says what
 * was wrong and what was expected.
 */
class Tier2OperatorsTest {
    private static String error(TestNode node) {
        return assertThrows(OpException.class, node::run).getMessage();
    }

    private static void assertContains(String text, String part) {
        assertTrue(text.contains(part), "'" + text + "' lacks '" + part + "'");
    }

    @Test
    void bitOperationsCoverWideShiftsAndRefuseWrongTypes() {
        Tensor a = Tensor.allocate(DType.UINT8, 3);
        a.setLong(0, 0x81);
        a.setLong(1, 0xFF);
        a.setLong(2, 1);
        Tensor by = Tensor.allocate(DType.UINT8, 3);
        by.setLong(0, 1);
        by.setLong(1, 8);
        by.setLong(2, 7);
        Tensor left = TestNode.of("BitShift", 11).input(a).input(by).attr("direction", "LEFT").run()[0];
        assertArrayEquals(new long[] {0x02, 0x00, 0x80}, left.toLongArray(), "uint8 wraps; a shift by the width leaves 0");
        Tensor right = TestNode.of("BitShift", 11).input(a).input(by).attr("direction", "RIGHT").run()[0];
        assertArrayEquals(new long[] {0x40, 0x00, 0x00}, right.toLongArray());
        Tensor i32 = Tensor.allocate(DType.INT32, 2);
        assertContains(error(TestNode.of("BitShift", 11).input(i32).input(i32).attr("direction", "LEFT")),
                "inputs must be unsigned integers (uint8, uint16, uint32, uint64), got int32");
        assertContains(error(TestNode.of("BitShift", 11).input(a).input(by).attr("direction", "UP")),
                "attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"UP\"");
        Tensor f = Tensor.allocate(DType.FLOAT32, 2);
        assertContains(error(TestNode.of("BitwiseAnd", 18).input(f).input(f)), "inputs must be integers, got float32");
        assertContains(error(TestNode.of("BitwiseNot", 18).input(f)), "expected an integer type");
        Tensor n = Tensor.ofLongs(new long[] {2}, 0, -1);
        assertArrayEquals(new long[] {-1, 0}, TestNode.of("BitwiseNot", 18).input(n).run()[0].toLongArray());
    }

    @Test
    void uniqueOrdersUnsignedValuesAndKeepsFirstOccurrences() {
        Tensor x = Tensor.allocate(DType.UINT64, 5);
        long[] v = {-1L, 3, -1L, 0, 3};
        for (int i = 0; i < v.length; i++) {
            x.setLong(i, v[i]);
        }
        Tensor[] sorted = TestNode.of("Unique", 11).input(x).outputs(4).run();
        assertArrayEquals(new long[] {0, 3, -1L}, sorted[0].toLongArray(), "2^64 - 1 sorts last");
        assertArrayEquals(new long[] {3, 1, 0}, sorted[1].toLongArray());
        assertArrayEquals(new long[] {2, 1, 2, 0, 1}, sorted[2].toLongArray());
        assertArrayEquals(new long[] {1, 2, 2}, sorted[3].toLongArray());
        Tensor[] unsorted = TestNode.of("Unique", 11).input(x).attr("sorted", 0).outputs(4).run();
        assertArrayEquals(new long[] {-1L, 3, 0}, unsorted[0].toLongArray());
        assertArrayEquals(new long[] {0, 1, 0, 2, 1}, unsorted[2].toLongArray());
    }

    @Test
    void eyeLikeBelowTheDiagonalAndDetOfSingularAndEmpty() {
        Tensor shape = Tensor.allocate(DType.FLOAT32, 3, 3);
        assertArrayEquals(new float[] {0, 0, 0, 1, 0, 0, 0, 1, 0},
                TestNode.of("EyeLike", 9).input(shape).attr("k", -1).run()[0].toFloatArray());
        Tensor singular = Tensor.ofFloats(new long[] {2, 2}, 1, 2, 2, 4);
        assertArrayEquals(new float[] {0}, TestNode.of("Det", 11).input(singular).run()[0].toFloatArray());
        Tensor perm = Tensor.ofFloats(new long[] {3, 3}, 0, 1, 0, 0, 0, 1, 1, 0, 0);
        assertArrayEquals(new float[] {1}, TestNode.of("Det", 11).input(perm).run()[0].toFloatArray(), "two swaps");
        assertContains(error(TestNode.of("Det", 11).input(Tensor.allocate(DType.FLOAT32, 2, 3))),
                "input must be [..., M, M] (square matrices), got float32[2, 3]");
    }

    @Test
    void badShapesAndValuesNameWhatWasExpected() {
        Tensor x = Tensor.ofFloats(new long[] {3, 2}, 1, 2, 3, 4, 5, 6);
        Tensor cond = Tensor.allocate(DType.BOOL, 4);
        assertContains(error(TestNode.of("Compress", 11).input(x).input(cond).attr("axis", 0)),
                "condition has 4 entries but axis 0 of [3, 2] has 3");
        Tensor lens = Tensor.ofLongs(new long[] {2}, 1, 5);
        assertContains(error(TestNode.of("ReverseSequence", 10).input(x).input(lens).attr("batch_axis", 1)
                .attr("time_axis", 0)), "sequence_lens[1] is 5, outside [0, 3]");
        Tensor img = Tensor.allocate(DType.FLOAT32, 1, 1, 4, 4);
        assertContains(error(TestNode.of("LpPool", 18).input(img).attr("kernel_shape", new long[] {2, 2}).attr("p", 0)),
                "p must be a positive integer, got 0");
        Tensor pooled = Tensor.allocate(DType.FLOAT32, 1, 1, 2, 2);
        Tensor idx = Tensor.ofLongs(new long[] {1, 1, 2, 2}, 0, 1, 2, 16);
        assertContains(error(TestNode.of("MaxUnpool", 11).input(pooled).input(idx).attr("kernel_shape", new long[] {2, 2})
                .attr("strides", new long[] {2, 2})), "index 16 at position 3 is outside the unpooled [1, 1, 4, 4]");
        assertContains(error(TestNode.of("LpNormalization", 1).input(x).attr("p", 3)), "p must be 1 or 2, got 3");
    }
}
