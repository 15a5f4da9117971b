package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * DequantizeLinear, every opset form: {@code y = (x − x_zero_point) · x_scale} in float32, per
 * tensor, per axis (13+) or blocked (21+), from the integer quantized types (int32 with no zero
 * point), the float8 formats and float4e2m1 (whose zero point must be zero); the output has the
 * scale's type (float32, float16, bfloat16) or {@code output_dtype}'s (23+).
 */
final class DequantizeLinearOp {
    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final VectorSpecies<Integer> I = VectorShape.INT;
    private static final int LANES = F.length();
    /** Bytes loaded per step: one per float lane, but at least 64 bits (the narrowest byte vector). */
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class,
            jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, LANES * 8)));
    private static final int BYTE_LANES = BS.length();
    /** Float vectors per byte vector (1, or 2 at 128 bits). */
    private static final int PARTS = BYTE_LANES / LANES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Elements per task below which another core costs more than it saves. */
    private static final long MIN_TASK_ELEMENTS = 32 * 1024;

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
                dequantizeBytes(x.data(), xt == DType.INT8, s.data(), zp, y.data(), ctx);
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

        /**
         * The common case, int8/uint8 to float32: no type dispatch per element; per-tensor and
         * per-axis runs are vectorised and, when large, split over the cores. The arithmetic is
         * the scalar loop's: {@code (float) (q - z) * scale}.
         */
        private void dequantizeBytes(MemorySegment x, boolean signed, MemorySegment s, int[] zp, MemorySegment y,
                                     ExecContext ctx) {
            int mask = signed ? -1 : 0xFF;
            if (g.kind() == Granularity.Kind.BLOCK) {
                long e = 0;
                for (long o = 0; o < g.outer(); o++) {
                    for (int d = 0; d < g.dim(); d++) {
                        for (long i = 0; i < g.inner(); i++, e++) {
                            long si = g.scaleIndex(o, d, i);
                            int z = zp == null ? 0 : zp[(int) si];
                            y.setAtIndex(Tensor.F32, e, ((x.get(Tensor.I8, e) & mask) - z) * s.getAtIndex(Tensor.F32, si));
                        }
                    }
                }
                return;
            }
            long total = g.outer() * g.dim() * g.inner();
            int tasks = (int) Math.max(1, Math.min(ctx.parallelism(), total / MIN_TASK_ELEMENTS));
            if (tasks <= 1) {
                dequantizeRange(x, signed, s, zp, y, 0, total);
            } else {
                ctx.parallelFor(tasks, t -> dequantizeRange(x, signed, s, zp, y, total * t / tasks,
                        total * (t + 1) / tasks));
            }
        }

        /** Elements [e0, e1) of a per-tensor or per-axis dequantization: runs of {@code inner} share a scale. */
        private void dequantizeRange(MemorySegment x, boolean signed, MemorySegment s, int[] zp, MemorySegment y,
                                     long e0, long e1) {
            long inner = g.inner();
            for (long e = e0; e < e1; ) {
                long run = e / inner;
                long end = Math.min(e1, (run + 1) * inner);
                int si = (int) g.scaleIndex(run / g.dim(), (int) (run % g.dim()), 0);
                dequantizeRun(x, signed, e, end - e, s.getAtIndex(Tensor.F32, si), zp == null ? 0 : zp[si], y);
                e = end;
            }
        }

        private static void dequantizeRun(MemorySegment x, boolean signed, long e, long n, float scale, int z,
                                          MemorySegment y) {
            int mask = signed ? -1 : 0xFF;
            long i = 0;
            FloatVector vs = FloatVector.broadcast(F, scale);
            IntVector vz = IntVector.broadcast(I, z);
            IntVector vm = IntVector.broadcast(I, mask);
            long bound = n - n % BYTE_LANES;
            for (; i < bound; i += BYTE_LANES) {
                ByteVector q = ByteVector.fromMemorySegment(BS, x, e + i, LE);
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = ((IntVector) q.convertShape(VectorOperators.B2I, I, part)).and(vm).sub(vz);
                    ((FloatVector) v.convertShape(VectorOperators.I2F, F, 0)).mul(vs)
                            .intoMemorySegment(y, (e + i + (long) part * LANES) * 4, LE);
                }
            }
            for (; i < n; i++) {
                y.setAtIndex(Tensor.F32, e + i, ((x.get(Tensor.I8, e + i) & mask) - z) * scale);
            }
        }
    }
}
