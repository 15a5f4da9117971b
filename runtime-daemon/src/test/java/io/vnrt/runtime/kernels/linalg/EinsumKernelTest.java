package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Einsum's batched-GEMM path (float32) against its general loop (the same values in float64). */
class EinsumKernelTest {

    static Tensor toDouble(Tensor t) {
        Tensor d = Tensor.allocate(DType.FLOAT64, t.shape());
        for (long i = 0; i < t.elementCount(); i++) {
            d.setDouble(i, t.getFloat(i));
        }
        return d;
    }

    @Test
    void contractionsThatAreMatMulsMatchTheGeneralLoop() {
        Random r = new Random(21);
        Object[][] cases = {
            {"bij,bjk->bik", new long[] {3, 9, 17}, new long[] {3, 17, 35}},
            {"ij,kj->ik", new long[] {10, 6}, new long[] {33, 6}},
            {"bhqd,bhkd->bhqk", new long[] {1, 2, 9, 8}, new long[] {1, 2, 11, 8}},
            {"i,i", new long[] {40}, new long[] {40}},
            {"ij,j->i", new long[] {7, 5}, new long[] {5}},
            {"ji,jk->ik", new long[] {12, 9}, new long[] {12, 40}},
        };
        for (Object[] c : cases) {
            String eq = (String) c[0];
            Tensor a = GemmKernelTest.random(r, (long[]) c[1]);
            Tensor b = GemmKernelTest.random(r, (long[]) c[2]);
            TestNode fastNode = TestNode.of("Einsum", 12).input(a).input(b).attr("equation", eq);
            Kernel fast = EinsumOp.create(fastNode);
            assertInstanceOf(EinsumOp.BatchedMatMul.class, fast, eq + " should take the GEMM path");
            Tensor got = fastNode.run(fast, io.vnrt.runtime.kernels.ExecContext.inline(null))[0];
            Tensor want = TestNode.of("Einsum", 12).input(toDouble(a)).input(toDouble(b)).attr("equation", eq).run()[0];
            assertArrayEquals(want.shape(), got.shape(), eq);
            GemmKernelTest.assertClose(want.toFloatArray(), got.toFloatArray(), eq);
        }
    }
}
