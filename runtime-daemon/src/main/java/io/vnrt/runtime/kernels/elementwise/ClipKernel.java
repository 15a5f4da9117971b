package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/**
 * Clip: bounds are attributes before opset 11 and optional scalar inputs from 11 (read at run time,
 * so they need not be constants). An absent bound is the dtype's lowest / highest value; with
 * min > max every element becomes max, as the spec says.
 */
final class ClipKernel implements Kernel {
    private final TensorType type;
    private final Double attrMin;
    private final Double attrMax;

    /** attrMin/attrMax: the opset < 11 attributes, or null to read inputs 1 and 2. */
    ClipKernel(TensorType type, Double attrMin, Double attrMax) {
        this.type = type;
        this.attrMin = attrMin;
        this.attrMax = attrMax;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor in = inputs[0];
        Tensor out = outputs[0];
        Tensor minT = inputs.length > 1 ? inputs[1] : null;
        Tensor maxT = inputs.length > 2 ? inputs[2] : null;
        DType t = in.dtype();
        if (t.isFloatingPoint()) {
            double lowest = t == DType.FLOAT64 ? -Double.MAX_VALUE : -maxFinite(t);
            double lo = attrMin != null ? attrMin : (minT != null ? minT.getDouble(0) : lowest);
            double hi = attrMax != null ? attrMax : (maxT != null ? maxT.getDouble(0) : -lowest);
            UnaryKernel.map(UnaryOp.CLIP, lo, hi, in, out, ctx);
            return;
        }
        boolean unsigned = t == DType.UINT64;
        long lo = minT != null ? minT.getLong(0) : (unsigned ? 0 : Long.MIN_VALUE);
        long hi = maxT != null ? maxT.getLong(0) : (unsigned ? -1L : Long.MAX_VALUE);
        long n = in.elementCount();
        for (long i = 0; i < n; i++) {
            long v = in.getLong(i);
            if (unsigned) {
                v = Long.compareUnsigned(v, lo) < 0 ? lo : v;
                v = Long.compareUnsigned(v, hi) > 0 ? hi : v;
            } else {
                v = Math.min(Math.max(v, lo), hi);
            }
            out.setLong(i, v);
        }
    }

    private static double maxFinite(DType t) {
        return switch (t) {
            case FLOAT16 -> 65504.0;
            case BFLOAT16 -> 3.3895313892515355e38;
            default -> Float.MAX_VALUE;
        };
    }
}
