package io.vnrt.runtime.kernels.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The width-vectorised float32 pooling path against the per-element path of the same kernel. */
class PoolKernelTest {

    @Test
    void vectorisedRowsMatchPerElementPath() {
        Random r = new Random(12);
        Tensor x = GemmKernelTest.random(r, 2, 3, 7, 45);
        for (String op : new String[] {"MaxPool", "AveragePool"}) {
            for (long include = 0; include < 2; include++) {
                TestNode node = TestNode.of(op, 19).input(x).attr("kernel_shape", new long[] {3, 4})
                        .attr("pads", new long[] {1, 2, 1, 1}).attr("strides", new long[] {2, 1})
                        .attr("count_include_pad", include);
                PoolOps.PoolKernel k = (PoolOps.PoolKernel) PoolOps.averagePoolOrMax(node, op.equals("MaxPool"));
                Tensor fast = node.run(k, ExecContext.inline(null))[0];
                long[] shape = fast.shape();
                assertArrayEquals(new long[] {2, 3, 4, 45}, shape);
                Tensor slow = Tensor.allocate(DType.FLOAT32, shape);
                for (int p = 0; p < 6; p++) {
                    for (int oh = 0; oh < shape[2]; oh++) {
                        for (int ow = 0; ow < shape[3]; ow++) {
                            k.point(x, slow, null, p, 0, oh, ow);
                        }
                    }
                }
                GemmKernelTest.assertClose(slow.toFloatArray(), fast.toFloatArray(), op + " include_pad=" + include);
            }
        }
    }

    /** The int8/uint8 MaxPool planes (inside windows, padded and empty ones) against the per-element path. */
    @Test
    void bytePlanesMatchPerElementPath() {
        Random r = new Random(13);
        long[][][] cases = {
                {{2, 2}, {0, 0, 0, 0}, {2, 2}, {1, 1}},
                {{3, 3}, {0, 0, 0, 0}, {1, 2}, {2, 1}},
                {{3, 4}, {1, 2, 1, 1}, {2, 1}, {1, 1}},
                {{2, 2}, {2, 2, 2, 2}, {3, 3}, {1, 1}}, // the first row and column of windows: padding only
        };
        for (DType t : new DType[] {DType.UINT8, DType.INT8}) {
            Tensor x = Tensor.allocate(t, 2, 3, 7, 9);
            for (long i = 0; i < x.elementCount(); i++) {
                x.setLong(i, t == DType.INT8 ? r.nextInt(256) - 128 : r.nextInt(256));
            }
            for (long[][] c : cases) {
                TestNode node = TestNode.of("MaxPool", 19).input(x).attr("kernel_shape", c[0]).attr("pads", c[1])
                        .attr("strides", c[2]).attr("dilations", c[3]);
                PoolOps.PoolKernel k = (PoolOps.PoolKernel) PoolOps.averagePoolOrMax(node, true);
                Tensor fast = node.run(k, ExecContext.inline(null))[0];
                long[] shape = fast.shape();
                Tensor slow = Tensor.allocate(t, shape);
                for (int p = 0; p < 6; p++) {
                    for (int oh = 0; oh < shape[2]; oh++) {
                        for (int ow = 0; ow < shape[3]; ow++) {
                            k.point(x, slow, null, p, 0, oh, ow);
                        }
                    }
                }
                assertArrayEquals(slow.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        fast.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        t + " kernel " + java.util.Arrays.toString(c[0]) + " pads " + java.util.Arrays.toString(c[1]));
            }
        }
    }
}
