package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.MiniFloats;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * QuantizeLinear, every opset form: {@code y = saturate(round(x / y_scale) + y_zero_point)} with
 * round half to even, per tensor, per axis (13+) or blocked (21+); to int8/uint8, int16/uint16,
 * int4/uint4, int2/uint2 (saturating to the type's range), or to the float8 formats (19+, with
 * {@code saturate}) and float4e2m1. The division runs in the scale's precision, or in
 * {@code precision}'s (23+) when given, as the ONNX reference computes it (an int32 x divides in
 * double).
 */
final class QuantizeLinearOp {
    private QuantizeLinearOp() {}

    static Kernel create(NodeContext node) {
        TensorType x = node.inputType(0);
        DType xt = x.dtype();
        if (xt != DType.FLOAT32 && xt != DType.FLOAT16 && xt != DType.BFLOAT16 && xt != DType.INT32) {
            throw node.error("x is " + x + "; expected float32, float16, bfloat16 or int32");
        }
        DType st = node.inputType(1).dtype();
        if (st != DType.FLOAT32 && st != DType.FLOAT16 && st != DType.BFLOAT16 && st != DType.INT32
                && st != DType.FLOAT8E8M0) {
            throw node.error("y_scale is " + node.inputType(1) + "; expected float32, float16, bfloat16, int32 or float8e8m0");
        }
        long outAttr = node.opset() >= 21 ? node.attrInt("output_dtype", 0) : 0;
        DType out;
        if (node.hasInput(2)) {
            out = node.inputType(2).dtype();
            if (outAttr != 0 && outAttr != out.onnxCode()) {
                throw node.error("output_dtype is " + describe(outAttr) + " but y_zero_point is " + out.displayName()
                        + "; when both are given they must agree");
            }
        } else {
            out = outAttr == 0 ? DType.UINT8 : dtype(node, outAttr, "output_dtype");
        }
        if (!quantizedType(out)) {
            throw node.error("cannot quantize to " + out.displayName() + "; expected int8, uint8, int16, uint16, int4, uint4,"
                    + " int2, uint2, a float8 type or float4e2m1");
        }
        Granularity g = Granularity.of(node, 1, 2);
        int[] zero = node.hasInput(2) ? QuantParams.checkZeroPoint(node, 2, "y_zero_point", out) : null;
        long precisionAttr = node.opset() >= 23 ? node.attrInt("precision", 0) : 0;
        DType precision;
        if (precisionAttr != 0) {
            precision = dtype(node, precisionAttr, "precision");
            if (precision != DType.FLOAT32 && precision != DType.FLOAT16 && precision != DType.BFLOAT16
                    && precision != DType.FLOAT64) {
                throw node.error("precision is " + precision.displayName() + "; expected a float type");
            }
        } else if (xt == DType.INT32 || st == DType.INT32) {
            precision = DType.FLOAT64;
        } else if (xt == st) {
            precision = st == DType.FLOAT8E8M0 ? DType.FLOAT32 : st;
        } else {
            precision = DType.FLOAT32;
        }
        boolean saturate = node.opset() < 19 || node.attrInt("saturate", 1) != 0;
        return new QuantizeKernel(new TensorType(out, x.shape()), g, precision, saturate, zero, node.hasInput(2));
    }

    static boolean quantizedType(DType t) {
        return switch (t) {
            case INT8, UINT8, INT16, UINT16, INT4, UINT4, INT2, UINT2, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2,
                 FLOAT8E5M2FNUZ, FLOAT4E2M1 -> true;
            default -> false;
        };
    }

    private static String describe(long code) {
        try {
            return DType.fromOnnx((int) code).displayName();
        } catch (IllegalArgumentException e) {
            return "type code " + code;
        }
    }

    static DType dtype(NodeContext node, long code, String attr) {
        try {
            return DType.fromOnnx((int) code);
        } catch (IllegalArgumentException e) {
            throw node.error(attr + " " + code + " is not an ONNX data type");
        }
    }

    static final class QuantizeKernel implements Kernel {
        private final TensorType out;
        private final Granularity g;
        private final DType precision;
        private final boolean saturate;
        private final int[] zero;
        private final boolean hasZero;

        QuantizeKernel(TensorType out, Granularity g, DType precision, boolean saturate, int[] zero, boolean hasZero) {
            this.out = out;
            this.g = g;
            this.precision = precision;
            this.saturate = saturate;
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
            DType t = out.dtype();
            if (t.isSmallFloat()) {
                quantizeFloat(x, s, hasZero ? in[2] : null, y);
                return;
            }
            int[] zp = zero != null ? zero : QuantParams.ints(hasZero ? in[2] : null, null);
            long lo = QuantParams.min(t);
            long hi = QuantParams.max(t);
            MemorySegment yd = y.data();
            if (g.kind() == Granularity.Kind.TENSOR && x.dtype() == DType.FLOAT32 && s.dtype() == DType.FLOAT32
                    && precision == DType.FLOAT32 && (t == DType.UINT8 || t == DType.INT8)) {
                quantizeBytes(x.data(), x.elementCount(), s.getFloat(0), zp == null ? 0 : zp[0], (int) lo, (int) hi, yd);
                return;
            }
            long e = 0;
            for (long o = 0; o < g.outer(); o++) {
                for (int d = 0; d < g.dim(); d++) {
                    for (long i = 0; i < g.inner(); i++, e++) {
                        long si = g.scaleIndex(o, d, i);
                        double q = divide(x.getDouble(e), s.getDouble(si));
                        // round first, then add the zero point: at a tie, rint(q + zp) differs for an odd zp
                        double r = Double.isNaN(q) ? 0 : Math.rint(q);
                        y.setLong(e, QuantParams.roundSaturate(r + (zp == null ? 0 : zp[(int) si]), lo, hi));
                    }
                }
            }
        }

        /** The common case, float32 to int8/uint8 per tensor: one division per element, no type dispatch. */
        private static void quantizeBytes(MemorySegment x, long n, float scale, int zp, int lo, int hi, MemorySegment y) {
            for (long e = 0; e < n; e++) {
                float q = x.getAtIndex(Tensor.F32, e) / scale;
                int v;
                if (q != q) {
                    v = zp;
                } else {
                    float r = (float) Math.rint(q);
                    v = r >= 0x1p30f ? Integer.MAX_VALUE / 2 : r <= -0x1p30f ? Integer.MIN_VALUE / 2 : (int) r;
                    v += zp;
                }
                y.set(Tensor.I8, e, (byte) Math.max(lo, Math.min(hi, v)));
            }
        }

        /** x / s in the division's precision. */
        private double divide(double x, double s) {
            double q = x / s;
            return switch (precision) {
                case FLOAT32 -> (float) q;
                case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16((float) q));
                case BFLOAT16 -> QuantParams.round(DType.BFLOAT16, (float) q);
                default -> q;
            };
        }

        /** To float8 (x / scale, saturated or not) and float4e2m1 (x / scale + zero point), rounding to nearest even. */
        private void quantizeFloat(Tensor x, Tensor s, Tensor z, Tensor y) {
            DType t = out.dtype();
            long e = 0;
            for (long o = 0; o < g.outer(); o++) {
                for (int d = 0; d < g.dim(); d++) {
                    for (long i = 0; i < g.inner(); i++, e++) {
                        long si = g.scaleIndex(o, d, i);
                        double q = divide(x.getDouble(e), s.getDouble(si));
                        if (t == DType.FLOAT4E2M1 && z != null) {
                            q = (float) (q + z.getDouble(si));
                        }
                        y.data().set(Tensor.I8, e, (byte) MiniFloats.encode(t, q, saturate || t == DType.FLOAT4E2M1));
                    }
                }
            }
        }
    }
}
