package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * DynamicQuantizeLinear (opset 11): float32 to uint8 with a scale and zero point computed from the
 * data, in float32 exactly as the operator's function body does it: the range [min(0, min x),
 * max(0, max x)], {@code scale = range / 255}, {@code zero_point = round(clip(0 − min / scale, 0, 255))},
 * {@code y = saturate(round(x / scale) + zero_point)}, rounding half to even. An all-zero x has
 * scale 0; its zero point and y are then 0.
 */
final class DynamicQuantizeLinearOp {
    private DynamicQuantizeLinearOp() {}

    static Kernel create(NodeContext node) {
        TensorType x = node.inputType(0);
        if (x.dtype() != DType.FLOAT32) {
            throw node.error("x is " + x + "; DynamicQuantizeLinear takes float32");
        }
        TensorType y = new TensorType(DType.UINT8, x.shape());
        TensorType scale = new TensorType(DType.FLOAT32, new long[0]);
        TensorType zero = new TensorType(DType.UINT8, new long[0]);
        return new Kernel() {
            @Override
            public TensorType[] outputTypes() {
                return new TensorType[] {y, scale, zero};
            }

            @Override
            public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
                MemorySegment xd = in[0].data();
                long n = in[0].elementCount();
                float lo = 0f;
                float hi = 0f;
                for (long i = 0; i < n; i++) {
                    float v = xd.getAtIndex(Tensor.F32, i);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                float s = (hi - lo) / 255f;
                int zp = 0;
                if (s != 0 && !Float.isNaN(s)) {
                    float initial = 0f - lo / s;
                    zp = (int) Math.rint(Math.max(0f, Math.min(255f, initial)));
                }
                MemorySegment yd = outs[0].data();
                for (long i = 0; i < n; i++) {
                    float q = xd.getAtIndex(Tensor.F32, i) / s;
                    int v = q != q ? zp : (int) Math.max(-512f, Math.min(512f, (float) Math.rint(q))) + zp;
                    yd.set(Tensor.I8, i, (byte) Math.max(0, Math.min(255, v)));
                }
                if (outs[1] != null) {
                    outs[1].setFloat(0, s);
                }
                if (outs[2] != null) {
                    outs[2].data().set(Tensor.I8, 0, (byte) zp);
                }
            }
        };
    }
}
