package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Cast between numeric dtypes and bool. Floats to integers truncate toward zero and wrap like a C
 * cast (NaN becomes 0); to float16/bfloat16 rounds to nearest even; to bool is {@code x != 0};
 * integers to integers are exact in long. The common float32/float16/int64 pairs have direct loops.
 */
final class CastKernel implements Kernel {
    private final TensorType outType;
    private final boolean saturate;

    /** {@code saturate}: Cast's attribute (opset 19+) for out-of-range values into 8-bit floats. */
    CastKernel(TensorType in, DType to, boolean saturate) {
        this.outType = new TensorType(to, in.shape());
        this.saturate = saturate;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    /** CastLike's second input only lends its dtype. */
    @Override
    public boolean readsInput(int inputIndex) {
        return inputIndex == 0;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        convert(inputs[0], outputs[0], saturate);
    }

    static void convert(Tensor in, Tensor out, boolean saturate) {
        DType from = in.dtype();
        DType to = out.dtype();
        long n = in.elementCount();
        MemorySegment s = in.data();
        MemorySegment d = out.data();
        if (from == to) {
            MemorySegment.copy(s, 0, d, 0, in.byteSize());
        } else if (from == DType.FLOAT32 && to == DType.FLOAT16) {
            for (long i = 0; i < n; i++) {
                d.setAtIndex(Tensor.I16, i, Float.floatToFloat16(s.getAtIndex(Tensor.F32, i)));
            }
        } else if (from == DType.FLOAT16 && to == DType.FLOAT32) {
            for (long i = 0; i < n; i++) {
                d.setAtIndex(Tensor.F32, i, Float.float16ToFloat(s.getAtIndex(Tensor.I16, i)));
            }
        } else if (from == DType.INT64 && to == DType.FLOAT32) {
            for (long i = 0; i < n; i++) {
                d.setAtIndex(Tensor.F32, i, (float) s.getAtIndex(Tensor.I64, i));
            }
        } else if (from == DType.FLOAT32 && to == DType.INT64) {
            for (long i = 0; i < n; i++) {
                d.setAtIndex(Tensor.I64, i, (long) s.getAtIndex(Tensor.F32, i));
            }
        } else if (from.isFloatingPoint() || to.isFloatingPoint()) {
            for (long i = 0; i < n; i++) {
                out.setDouble(i, in.getDouble(i), saturate);
            }
        } else {
            for (long i = 0; i < n; i++) {
                out.setLong(i, in.getLong(i));
            }
        }
    }
}
