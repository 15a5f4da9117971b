package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.TensorType;
import java.util.Arrays;

/**
 * How a Quantize/DequantizeLinear scale maps onto the tensor, decided from the scale's shape at
 * load: one scale (per tensor), one per index of {@code axis} (per axis), or one per block of
 * {@code block} consecutive indices of {@code axis} (blocked, the scale having the tensor's shape
 * with that dimension divided, rounded up). The tensor is seen as [outer, dim, inner] around the
 * axis; element (o, d, i) uses scale {@link #scaleIndex}.
 */
record Granularity(Kind kind, long outer, int dim, long inner, int block, int scaleDim) {
    enum Kind { TENSOR, AXIS, BLOCK }

    /** The scale index of element (o, d, i). */
    long scaleIndex(long o, int d, long i) {
        return switch (kind) {
            case TENSOR -> 0;
            case AXIS -> d;
            case BLOCK -> (o * scaleDim + d / block) * inner + i;
        };
    }

    /**
     * Reads the granularity of a node whose input 0 is the tensor, {@code scaleInput} its scale
     * and {@code zeroInput} (when present) its zero point, checking shapes, axis and block_size.
     */
    static Granularity of(NodeContext node, int scaleInput, int zeroInput) {
        TensorType x = node.inputType(0);
        TensorType s = node.inputType(scaleInput);
        String scaleName = node.opType().startsWith("Quantize") ? "y_scale" : "x_scale";
        String zeroName = node.opType().startsWith("Quantize") ? "y_zero_point" : "x_zero_point";
        if (node.hasInput(zeroInput)) {
            TensorType z = node.inputType(zeroInput);
            boolean bothOne = z.elementCount() == 1 && s.elementCount() == 1 && z.rank() <= 1 && s.rank() <= 1;
            if (!bothOne && !Arrays.equals(z.shape(), s.shape())) {
                throw node.error(zeroName + " has shape " + Arrays.toString(z.shape()) + " but " + scaleName + " has "
                        + Arrays.toString(s.shape()) + "; they must have the same shape");
            }
        }
        long blockAttr = node.opset() >= 21 ? node.attrInt("block_size", 0) : 0;
        if (blockAttr < 0) {
            throw node.error("block_size is " + blockAttr + "; it must be positive (or 0 for per-tensor and per-axis)");
        }
        long[] xs = x.shape();
        if (s.rank() == 0 || (s.rank() == 1 && s.shape()[0] == 1 && blockAttr == 0)) {
            return new Granularity(Kind.TENSOR, 1, 1, x.elementCount(), 1, 1);
        }
        long axisAttr = node.attrInt("axis", 1);
        if (node.opset() < 13) {
            throw node.error(scaleName + " has shape " + Arrays.toString(s.shape()) + "; before opset 13 the scale must be"
                    + " a scalar (per-tensor quantization only)");
        }
        if (axisAttr < -xs.length || axisAttr >= xs.length) {
            throw node.error("axis " + axisAttr + " is out of range for an input of rank " + xs.length + " (expected ["
                    + -xs.length + ", " + (xs.length - 1) + "])");
        }
        int axis = (int) (axisAttr < 0 ? axisAttr + xs.length : axisAttr);
        long outer = Shapes.elementCount(Arrays.copyOfRange(xs, 0, axis));
        long inner = Shapes.elementCount(Arrays.copyOfRange(xs, axis + 1, xs.length));
        int dim = Math.toIntExact(xs[axis]);
        if (blockAttr == 0) {
            if (s.rank() != 1 || s.shape()[0] != dim) {
                throw node.error(scaleName + " has shape " + Arrays.toString(s.shape()) + "; for per-axis quantization of "
                        + x + " along axis " + axis + " it must be [" + dim + "] (or a scalar for per-tensor; set "
                        + "block_size for blocked quantization)");
            }
            return new Granularity(Kind.AXIS, outer, dim, inner, 1, dim);
        }
        int block = Math.toIntExact(blockAttr);
        long[] want = xs.clone();
        want[axis] = (dim + block - 1) / block;
        if (!Arrays.equals(want, s.shape())) {
            throw node.error(scaleName + " has shape " + Arrays.toString(s.shape()) + "; for blocked quantization of " + x
                    + " along axis " + axis + " with block_size " + block + " it must be " + Arrays.toString(want));
        }
        return new Granularity(Kind.BLOCK, outer, dim, inner, block, (int) want[axis]);
    }
}
