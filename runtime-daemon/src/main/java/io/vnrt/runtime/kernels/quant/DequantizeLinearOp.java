package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * DequantizeLinear, every opset form: {@code y = (x − x_zero_point) · x_scale} in float32, per
 * tensor, per axis (13+) or blocked (21+), from the integer quantized types (int32 with no zero
 * point), the float8 formats and float4e2m1 (whose zero point must be zero); the output has the
 * scale's type (float32, float16, bfloat16) or {@code output_dtype}'s (23+).
 */
final class DequantizeLinearOp {
    private DequantizeLinearOp() {}

    static Kernel create(NodeContext node) {
        TensorType x = node.inputType(0);
        DType xt = x.dtype();
        if (!QuantizeLinearOp.quantizedType(xt) && xt != DType.INT32) {
            throw node.error("x is " + x + "; expected int8, uint8, int16, uint16, int32, int4, uint4, int2, uint2, a"
                    + " float8 type or float4e2m1");
        }
        DType st = node.inputType(1).dtype();
        if (st != DType.FLOAT32 && st != DType.FLOAT16 && st != DType.BFLOAT16 && st != DType.FLOAT8E8M0) {
            throw node.error("x_scale is " + node.inputType(1) + "; expected float32, float16, bfloat16 or float8e8m0");
        }
        long outAttr = node.opset() >= 23 ? node.attrInt("output_dtype", 0) : 0;
        DType out = outAttr == 0 ? st : QuantizeLinearOp.dtype(node, outAttr, "output_dtype");
        if (out != DType.FLOAT32 && out != DType.FLOAT16 && out != DType.BFLOAT16) {
            throw node.error("the output would be " + out.displayName() + (outAttr == 0 ? " (x_scale's type)" : "")
                    + "; DequantizeLinear produces float32, float16 or bfloat16" + (outAttr == 0 ? " (set output_dtype)" : ""));
        }
        Granularity g = Granularity.of(node, 1, 2);
        int[] zero = null;
        if (node.hasInput(2)) {
            zero = QuantParams.checkZeroPoint(node, 2, "x_zero_point", xt);
            Tensor zc = node.constantInput(2);
            if (zc != null && (xt.isSmallFloat() || xt == DType.INT32)) {
                for (long i = 0; i < zc.elementCount(); i++) {
                    double v = zc.getDouble(i);
                    if (v != 0) {
                        throw node.error("x_zero_point element " + i + " is " + v + "; for " + xt.displayName()
                                + " input the zero point must be 0");
                    }
                }
            }
        }
        return new DequantizeKernel(new TensorType(out, x.shape()), g, zero, node.hasInput(2) && !xt.isSmallFloat());
    }

    static final class DequantizeKernel implements Kernel {
        private final TensorType out;
        private final Granularity g;
        private final int[] zero;
        private final boolean hasZero;

        DequantizeKernel(TensorType out, Granularity g, int[] zero, boolean hasZero) {
            this.out = out;
            this.g = g;
            this.zero = zero;
            this.hasZero = hasZero;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            Tensor x = in[0];
            Tensor s = in[1];
            Tensor y = outs[0];
            int[] zp = zero != null || !hasZero ? zero : QuantParams.ints(in[2], null);
            DType xt = x.dtype();
            if (out.dtype() == DType.FLOAT32 && s.dtype() == DType.FLOAT32 && (xt == DType.INT8 || xt == DType.UINT8)) {
                dequantizeBytes(x.data(), xt == DType.INT8, s.data(), zp, y.data());
                return;
            }
            long e = 0;
            for (long o = 0; o < g.outer(); o++) {
                for (int d = 0; d < g.dim(); d++) {
                    for (long i = 0; i < g.inner(); i++, e++) {
                        long si = g.scaleIndex(o, d, i);
                        float dx = xt.isSmallFloat() ? (float) x.getDouble(e)
                                : (float) x.getLong(e) - (zp == null ? 0f : (float) zp[(int) si]);
                        y.setDouble(e, dx * (float) s.getDouble(si));
                    }
                }
            }
        }

        /** The common case, int8/uint8 to float32: no type dispatch per element. */
        private void dequantizeBytes(MemorySegment x, boolean signed, MemorySegment s, int[] zp, MemorySegment y) {
            int mask = signed ? -1 : 0xFF;
            long e = 0;
            for (long o = 0; o < g.outer(); o++) {
                for (int d = 0; d < g.dim(); d++) {
                    if (g.kind() != Granularity.Kind.BLOCK) {
                        int si = (int) g.scaleIndex(o, d, 0);
                        float scale = s.getAtIndex(Tensor.F32, si);
                        int z = zp == null ? 0 : zp[si];
                        for (long i = 0; i < g.inner(); i++, e++) {
                            y.setAtIndex(Tensor.F32, e, ((x.get(Tensor.I8, e) & mask) - z) * scale);
                        }
                    } else {
                        for (long i = 0; i < g.inner(); i++, e++) {
                            long si = g.scaleIndex(o, d, i);
                            int z = zp == null ? 0 : zp[(int) si];
                            y.setAtIndex(Tensor.F32, e, ((x.get(Tensor.I8, e) & mask) - z) * s.getAtIndex(Tensor.F32, si));
                        }
                    }
                }
            }
        }
    }
}
