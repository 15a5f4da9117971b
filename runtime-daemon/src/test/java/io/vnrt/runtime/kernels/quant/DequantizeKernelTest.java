package io.vnrt.runtime.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DequantizeLinear's vectorised int8/uint8 path against the definition {@code (float) (q - z) *
 * scale}, bit for bit: lengths that are not a multiple of any vector width, per tensor and per
 * axis, and split over several tasks (run in reverse order, so no task may rely on another).
 */
class DequantizeKernelTest {
    /** Three tasks, run one after another from the last: the split must cover every element once. */
    private static final ExecContext SPLIT = new ExecContext() {
        @Override
        public int parallelism() {
            return 3;
        }

        @Override
        public void parallelFor(int tasks, TaskBody body) {
            for (int t = tasks - 1; t >= 0; t--) {
                body.run(t);
            }
        }

        @Override
        public MemorySegment workspace() {
            return null;
        }
    };

    @ParameterizedTest(name = "{0} [{1}x{2}x{3}] axis {4}")
    @CsvSource({
        "INT8, 1, 1, 1, -1", "INT8, 1, 1, 37, -1", "UINT8, 1, 128, 768, -1", "INT8, 1, 301, 333, -1",
        "UINT8, 3, 5, 41, 1", "INT8, 2, 67, 1029, 1", "INT8, 7, 3, 5, 2", "UINT8, 1, 1, 100003, -1"})
    void matchesTheDefinitionBitForBit(DType type, long a, long b, long c, int axis) {
        Random rnd = new Random(a * 31 + b * 7 + c);
        long[] shape = {a, b, c};
        Tensor x = Tensor.allocate(type, shape);
        for (long i = 0; i < x.elementCount(); i++) {
            x.setDouble(i, type == DType.INT8 ? rnd.nextInt(256) - 128 : rnd.nextInt(256));
        }
        int scales = axis < 0 ? 1 : (int) shape[axis];
        long[] sShape = axis < 0 ? new long[0] : new long[] {scales};
        Tensor scale = Tensor.allocate(DType.FLOAT32, sShape);
        Tensor zero = Tensor.allocate(type, sShape);
        for (int i = 0; i < scales; i++) {
            scale.setFloat(i, (float) (0.001 + rnd.nextDouble() * 0.1));
            zero.setDouble(i, type == DType.INT8 ? rnd.nextInt(256) - 128 : rnd.nextInt(256));
        }
        TestNode node = TestNode.of("DequantizeLinear", 21).input(x).constInput(scale).constInput(zero);
        if (axis >= 0) {
            node.attr("axis", axis);
        }
        var kernel = OpRegistry.standard().find("", "DequantizeLinear").create(node);
        for (ExecContext ctx : new ExecContext[] {ExecContext.inline(null), SPLIT}) {
            Tensor y = node.run(kernel, ctx)[0];
            long inner = 1;
            for (int d = axis + 1; d < 3 && axis >= 0; d++) {
                inner *= shape[d];
            }
            for (long i = 0; i < x.elementCount(); i++) {
                int si = axis < 0 ? 0 : (int) (i / inner % scales);
                float want = ((int) x.getLong(i) - (int) zero.getLong(si)) * scale.getFloat(si);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y.getFloat(i)),
                        "element " + i + " with " + ctx.parallelism() + " task(s)");
            }
        }
    }
}
