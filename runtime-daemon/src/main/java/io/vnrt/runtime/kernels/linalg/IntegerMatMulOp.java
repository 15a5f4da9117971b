package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.quant.QuantParams;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * MatMulInteger (int8/uint8 operands, int32 result; zero points per tensor, per row of A, per
 * column of B) and QLinearMatMul (the same product requantized: scales per tensor, per row of A
 * and Y, per column of B), through {@link Igemm} with MatMul's broadcasting of batch dimensions.
 * A constant B with constant zero points is packed once at load.
 */
final class IntegerMatMulOp {
    private IntegerMatMulOp() {}

    /** Input slots of the operands and their zero points, for the two operators. */
    private record Slots(int a, int aZero, int b, int bZero) {}

    private static final Slots MATMUL_INTEGER = new Slots(0, 2, 1, 3);
    private static final Slots QLINEAR = new Slots(0, 2, 3, 5);

    static Kernel matMulInteger(NodeContext node) {
        MatMulKernel k = create(node, MATMUL_INTEGER);
        return k;
    }

    static Kernel qlinearMatMul(NodeContext node) {
        MatMulKernel k = create(node, QLINEAR);
        TensorType ty = node.inputType(7);
        if (!QuantParams.isByte(ty.dtype())) {
            throw node.error("y_zero_point is " + ty + "; QLinearMatMul produces int8 or uint8");
        }
        DType scaleType = node.inputType(1).dtype();
        for (int s : new int[] {1, 4, 6}) {
            DType d = node.inputType(s).dtype();
            if (d != DType.FLOAT32 && d != DType.FLOAT16 && d != DType.BFLOAT16) {
                throw node.error("input " + s + " (a scale) is " + node.inputType(s) + "; expected float32, float16 or bfloat16");
            }
            if (d != scaleType) {
                throw node.error("the scales must share one type: a_scale is " + scaleType.displayName() + ", input " + s
                        + " is " + d.displayName());
            }
        }
        boolean aRows = QuantParams.checkVector(node, 1, "a_scale", k.l.m, "one per row of a");
        boolean bCols = QuantParams.checkVector(node, 4, "b_scale", k.l.n, "one per column of b");
        boolean yRows = QuantParams.checkVector(node, 6, "y_scale", k.l.m, "one per row of y");
        boolean yzRows = QuantParams.checkVector(node, 7, "y_zero_point", k.l.m, "one per row of y");
        if (yRows != yzRows) {
            throw node.error("y_scale " + node.inputType(6) + " and y_zero_point " + node.inputType(7)
                    + " must have the same shape");
        }
        int[] yz = QuantParams.checkZeroPoint(node, 7, "y_zero_point", ty.dtype());
        return new QLinearKernel(k, new TensorType(ty.dtype(), k.out.shape()), scaleType, aRows, bCols, yRows, yz);
    }

    private static MatMulKernel create(NodeContext node, Slots s) {
        TensorType ta = node.inputType(s.a);
        TensorType tb = node.inputType(s.b);
        if (!QuantParams.isByte(ta.dtype()) || !QuantParams.isByte(tb.dtype())) {
            throw node.error("A is " + ta + " and B is " + tb + "; both must be int8 or uint8");
        }
        MatMulOp.Layout l = MatMulOp.Layout.of(node, ta.shape(), tb.shape());
        int[] za = null;
        int[] zb = null;
        boolean zaRows = false;
        boolean zbCols = false;
        String an = s == QLINEAR ? "a_zero_point" : "a_zero_point";
        if (node.hasInput(s.aZero)) {
            zaRows = QuantParams.checkVector(node, s.aZero, an, l.m, "one per row of A");
            za = QuantParams.checkZeroPoint(node, s.aZero, an, ta.dtype());
        }
        if (node.hasInput(s.bZero)) {
            zbCols = QuantParams.checkVector(node, s.bZero, "b_zero_point", l.n, "one per column of B");
            zb = QuantParams.checkZeroPoint(node, s.bZero, "b_zero_point", tb.dtype());
        }
        if (s == QLINEAR) {
            if (QuantParams.checkVector(node, 1, "a_scale", l.m, "one per row of a") != zaRows && node.hasInput(s.aZero)) {
                throw node.error("a_scale " + node.inputType(1) + " and a_zero_point " + node.inputType(s.aZero)
                        + " must have the same shape");
            }
            if (QuantParams.checkVector(node, 4, "b_scale", l.n, "one per column of b") != zbCols && node.hasInput(s.bZero)) {
                throw node.error("b_scale " + node.inputType(4) + " and b_zero_point " + node.inputType(s.bZero)
                        + " must have the same shape");
            }
        }
        return new MatMulKernel(node, s, l, new TensorType(DType.INT32, l.outShape), ta.dtype() == DType.INT8,
                tb.dtype() == DType.INT8, za, zaRows, zb, zbCols);
    }

    /** The int32 product (MatMulInteger's output, QLinearMatMul's intermediate). */
    static final class MatMulKernel implements Kernel {
        final MatMulOp.Layout l;
        final TensorType out;
        private final Slots s;
        private final boolean aSigned;
        private final boolean bSigned;
        private final int[] za;
        private final boolean zaRows;
        private final int[] zb;
        private final boolean zbCols;
        private final boolean hasZa;
        private final boolean hasZb;
        private final long packedOne;
        /** B packed at load (constant B and zero point), or null to pack per run. */
        private final MemorySegment packed;
        private final long[] aOff;
        private final long[] bOff;
        private final long[] cOff;
        private final int m;

        MatMulKernel(NodeContext node, Slots s, MatMulOp.Layout l, TensorType out, boolean aSigned, boolean bSigned,
                     int[] za, boolean zaRows, int[] zb, boolean zbCols) {
            this.l = l;
            this.out = out;
            this.s = s;
            this.aSigned = aSigned;
            this.bSigned = bSigned;
            this.za = za;
            this.zaRows = zaRows;
            this.zb = zb;
            this.zbCols = zbCols;
            this.hasZa = node.hasInput(s.aZero);
            this.hasZb = node.hasInput(s.bZero);
            this.packedOne = Igemm.packedBytes(l.k, l.n);
            int batch = l.batch();
            boolean aContiguous = true;
            for (int t = 0; t < batch; t++) {
                aContiguous &= l.aOff[t] == (long) t * l.m * l.k;
            }
            if (l.bCount == 1 && aContiguous && batch > 1 && !zaRows) {
                // one weight matrix under a batch of rows: one tall product
                this.m = l.m * batch;
                this.aOff = new long[1];
                this.bOff = new long[1];
                this.cOff = new long[1];
            } else {
                this.m = l.m;
                this.aOff = new long[batch];
                this.bOff = new long[batch];
                this.cOff = new long[batch];
                for (int t = 0; t < batch; t++) {
                    aOff[t] = l.aOff[t];
                    bOff[t] = l.bIndex[t] * packedOne;
                    cOff[t] = (long) t * l.m * l.n * 4L;
                }
            }
            Tensor constB = node.constantInput(s.b);
            boolean zbKnown = !hasZb || zb != null;
            packed = constB == null || !zbKnown ? null
                    : node.packedConstant(s.b, "igemm B panels" + (zb == null ? "" : " zb" + Arrays.hashCode(zb)),
                            packedOne * l.bCount, dst -> packAll(constB.data(), zb, dst));
        }

        private void packAll(MemorySegment b, int[] zbv, MemorySegment dst) {
            int panels = Igemm.panels(l.n);
            for (int i = 0; i < l.bCount; i++) {
                Igemm.packB(b, (long) i * l.k * l.n, l.n, 1, bSigned, l.k, l.n, zbv, zbCols, dst, i * packedOne, 0, panels);
            }
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public long workspaceBytes() {
            return packed == null ? packedOne * l.bCount : 0;
        }

        /** C = the int32 product into {@code c} (at byte 0, row-major); {@code ws} the workspace from byte 0. */
        void product(Tensor[] in, MemorySegment c, MemorySegment ws, ExecContext ctx) {
            MemorySegment bp = packed;
            if (bp == null) {
                bp = ws;
                packAll(in[s.b].data(), zb != null || !hasZb ? zb : QuantParams.ints(in[s.bZero], null), bp);
            }
            int[] zav = za != null || !hasZa ? za : QuantParams.ints(in[s.aZero], null);
            Igemm.Problem p = new Igemm.Problem(aOff.length, m, l.n, l.k, in[s.a].data(), aOff, l.k, aSigned, zav,
                    zaRows, bp, bOff, c, cOff, l.n * 4L);
            Igemm.run(p, ctx);
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            product(in, outs[0].data(), ctx.workspace(), ctx);
        }
    }

    /** QLinearMatMul: the int32 product in the workspace, then y = saturate(round(c · a_scale·b_scale / y_scale) + y_zero_point). */
    static final class QLinearKernel implements Kernel {
        private final MatMulKernel mm;
        private final TensorType out;
        private final DType scaleType;
        private final boolean aRows;
        private final boolean bCols;
        private final boolean yRows;
        private final int[] yz;

        QLinearKernel(MatMulKernel mm, TensorType out, DType scaleType, boolean aRows, boolean bCols, boolean yRows,
                      int[] yz) {
            this.mm = mm;
            this.out = out;
            this.scaleType = scaleType;
            this.aRows = aRows;
            this.bCols = bCols;
            this.yRows = yRows;
            this.yz = yz;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        private long productBytes() {
            return (mm.out.byteSize() + 63) & ~63L;
        }

        @Override
        public long workspaceBytes() {
            return productBytes() + mm.workspaceBytes();
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            MemorySegment c = ws.asSlice(0, mm.out.byteSize());
            mm.product(in, c, ws.asSlice(productBytes()), ctx);
            Tensor as = in[1];
            Tensor bs = in[4];
            Tensor ys = in[6];
            Tensor y = outs[0];
            int[] yzv = yz != null ? yz : QuantParams.ints(in[7], null);
            DType t = out.dtype();
            long lo = QuantParams.min(t);
            long hi = QuantParams.max(t);
            int m = mm.l.m;
            int n = mm.l.n;
            long total = mm.out.elementCount();
            MemorySegment yd = y.data();
            for (long e = 0; e < total; e++) {
                int i = (int) ((e / n) % m);
                int j = (int) (e % n);
                double mult = QuantParams.multiplier(scaleType, QuantParams.scale(as, aRows ? i : 0),
                        QuantParams.scale(bs, bCols ? j : 0), QuantParams.scale(ys, yRows ? i : 0));
                int z = yzv[yRows ? i : 0];
                long q = QuantParams.roundSaturate(c.getAtIndex(Tensor.I32, e) * mult + z, lo, hi);
                yd.set(Tensor.I8, e, (byte) q);
            }
        }
    }
}
