package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * MaxUnpool: scatters X into a zero tensor at the flat positions I that MaxPool's Indices output
 * gives. The positions index the unpooled shape the window implies ((in - 1)·stride + kernel -
 * pads); with output_shape the result is that tensor placed at the start of each axis of the
 * (possibly larger) requested shape, as the ONNX reference does.
 */
final class MaxUnpoolOp implements Kernel {
    private final TensorType out;
    private final long[] inferred;

    private MaxUnpoolOp(TensorType out, long[] inferred) {
        this.out = out;
        this.inferred = inferred;
    }

    static Kernel create(NodeContext n) {
        TensorType x = n.inputType(0);
        TensorType idx = n.inputType(1);
        if (x.rank() < 3 || x.rank() > 5) {
            throw n.error("X must be [N, C, spatial...] with 1 to 3 spatial axes, got " + x);
        }
        if (idx.dtype() != DType.INT64 || !Arrays.equals(idx.shape(), x.shape())) {
            throw n.error("I must be int64 with X's shape " + x + ", got " + idx);
        }
        int rank = x.rank() - 2;
        long[] kernel = n.attrInts("kernel_shape", null);
        if (kernel == null || kernel.length != rank) {
            throw n.error("kernel_shape must give " + rank + " sizes, got " + Arrays.toString(kernel));
        }
        long[] strides = n.attrInts("strides", null);
        long[] pads = n.attrInts("pads", null);
        long[] xs = x.shape();
        long[] inferred = xs.clone();
        for (int i = 0; i < rank; i++) {
            long stride = strides == null ? 1 : strides[i];
            long pad = pads == null ? 0 : pads[i] + pads[i + rank];
            inferred[i + 2] = (xs[i + 2] - 1) * stride - pad + kernel[i];
            if (inferred[i + 2] < 1) {
                throw n.error("the window makes spatial axis " + i + " of the output " + inferred[i + 2] + " long");
            }
        }
        long[] shape = inferred;
        if (n.hasInput(2)) {
            Tensor requested = n.requireConstant(2);
            shape = requested.toLongArray();
            if (shape.length != xs.length || shape[0] != xs[0] || shape[1] != xs[1]) {
                throw n.error("output_shape " + Arrays.toString(shape) + " must be [" + xs[0] + ", " + xs[1]
                        + ", spatial...] with " + rank + " spatial sizes");
            }
            for (int i = 2; i < shape.length; i++) {
                if (shape[i] < inferred[i]) {
                    throw n.error("output_shape " + Arrays.toString(shape) + " is smaller than the unpooled shape "
                            + Arrays.toString(inferred));
                }
            }
        }
        return new MaxUnpoolOp(new TensorType(x.dtype(), shape), inferred);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
        Tensor x = in[0];
        Tensor idx = in[1];
        Tensor y = outs[0];
        MemorySegment ys = y.data();
        ys.fill((byte) 0);
        long[] shape = out.shape();
        long limit = 1;
        for (long d : inferred) {
            limit *= d;
        }
        int es = x.dtype().byteSize();
        for (long e = 0; e < x.elementCount(); e++) {
            long flat = idx.getLong(e);
            if (flat < 0 || flat >= limit) {
                throw new OpException("MaxUnpool: index " + flat + " at position " + e + " is outside the unpooled "
                        + Arrays.toString(inferred) + " (" + limit + " elements)");
            }
            // coordinates in the inferred shape, re-flattened in the output's
            long o = 0;
            long rest = flat;
            long scale = 1;
            for (int d = inferred.length - 1; d >= 0; d--) {
                o += (rest % inferred[d]) * scale;
                rest /= inferred[d];
                scale *= shape[d];
            }
            MemorySegment.copy(x.data(), e * es, ys, o * es, es);
        }
    }
}
