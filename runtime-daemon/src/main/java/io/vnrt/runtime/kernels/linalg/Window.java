package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.NodeContext;
import java.util.Arrays;

/**
 * The sliding-window geometry shared by Conv, ConvTranspose and the pools, resolved at compile
 * time: kernel, strides, dilations, begin/end pads (auto_pad applied) and output size per
 * spatial axis. Always three axes: 1-D and 2-D problems get leading axes of size 1.
 */
final class Window {
    static final int R = 3;
    final int rank;
    final int[] in = new int[R];
    final int[] kernel = new int[R];
    final int[] stride = new int[R];
    final int[] dilation = new int[R];
    final int[] padBegin = new int[R];
    final int[] padEnd = new int[R];
    final int[] out = new int[R];

    private Window(int rank) {
        this.rank = rank;
        Arrays.fill(in, 1);
        Arrays.fill(kernel, 1);
        Arrays.fill(stride, 1);
        Arrays.fill(dilation, 1);
        Arrays.fill(out, 1);
    }

    /** Index in the 3-axis arrays of spatial axis i of a rank-`rank` problem. */
    int axis(int i) {
        return R - rank + i;
    }

    /** Output spatial volume. */
    long outVolume() {
        return (long) out[0] * out[1] * out[2];
    }

    long inVolume() {
        return (long) in[0] * in[1] * in[2];
    }

    long kernelVolume() {
        return (long) kernel[0] * kernel[1] * kernel[2];
    }

    /** Geometry of a forward window (Conv or pooling) over input spatial shape {@code spatial}. */
    static Window forward(NodeContext node, long[] spatial, long[] kernelShape, boolean ceilMode) {
        int rank = spatial.length;
        if (rank < 1 || rank > R) {
            throw node.error("only 1-D, 2-D and 3-D windows are supported, got " + rank + " spatial axes");
        }
        Window w = new Window(rank);
        long[] strides = node.attrInts("strides", null);
        long[] dilations = node.attrInts("dilations", null);
        long[] pads = node.attrInts("pads", null);
        String autoPad = node.attrString("auto_pad", "NOTSET");
        if (kernelShape.length != rank) {
            throw node.error("kernel_shape " + Arrays.toString(kernelShape) + " does not match " + rank
                    + " spatial axes");
        }
        for (int i = 0; i < rank; i++) {
            int a = w.axis(i);
            w.in[a] = Math.toIntExact(spatial[i]);
            w.kernel[a] = Math.toIntExact(kernelShape[i]);
            w.stride[a] = strides == null ? 1 : (int) strides[i];
            w.dilation[a] = dilations == null ? 1 : (int) dilations[i];
            int eff = (w.kernel[a] - 1) * w.dilation[a] + 1;
            switch (autoPad) {
                case "SAME_UPPER", "SAME_LOWER" -> {
                    int o = (w.in[a] + w.stride[a] - 1) / w.stride[a];
                    int total = Math.max(0, (o - 1) * w.stride[a] + eff - w.in[a]);
                    w.padBegin[a] = autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                    w.padEnd[a] = total - w.padBegin[a];
                    w.out[a] = o;
                }
                case "VALID", "NOTSET" -> {
                    if (autoPad.equals("NOTSET") && pads != null) {
                        w.padBegin[a] = (int) pads[i];
                        w.padEnd[a] = (int) pads[i + rank];
                    }
                    long span = (long) w.in[a] + w.padBegin[a] + w.padEnd[a] - eff;
                    if (span < 0) {
                        throw node.error("window of " + eff + " does not fit axis " + i + " of size " + w.in[a]
                                + " with pads " + w.padBegin[a] + "+" + w.padEnd[a]);
                    }
                    long o = ceilMode ? (span + w.stride[a] - 1) / w.stride[a] + 1 : span / w.stride[a] + 1;
                    // With ceil_mode the last window must still start inside the input or its left pad.
                    if (ceilMode && (o - 1) * w.stride[a] >= (long) w.in[a] + w.padBegin[a]) {
                        o--;
                    }
                    w.out[a] = (int) o;
                }
                default -> throw node.error("unknown auto_pad '" + autoPad + "'");
            }
        }
        return w;
    }

    /** Geometry of ConvTranspose: {@code out} is the (larger) output, {@code in} the input. */
    static Window transposed(NodeContext node, long[] spatial, long[] kernelShape) {
        int rank = spatial.length;
        if (rank < 1 || rank > R) {
            throw node.error("only 1-D, 2-D and 3-D windows are supported, got " + rank + " spatial axes");
        }
        Window w = new Window(rank);
        long[] strides = node.attrInts("strides", null);
        long[] dilations = node.attrInts("dilations", null);
        long[] pads = node.attrInts("pads", null);
        long[] outputPadding = node.attrInts("output_padding", null);
        long[] outputShape = node.attrInts("output_shape", null);
        String autoPad = node.attrString("auto_pad", "NOTSET");
        for (int i = 0; i < rank; i++) {
            int a = w.axis(i);
            w.in[a] = Math.toIntExact(spatial[i]);
            w.kernel[a] = Math.toIntExact(kernelShape[i]);
            w.stride[a] = strides == null ? 1 : (int) strides[i];
            w.dilation[a] = dilations == null ? 1 : (int) dilations[i];
            int op = outputPadding == null ? 0 : (int) outputPadding[i];
            int eff = (w.kernel[a] - 1) * w.dilation[a] + 1;
            int full = w.stride[a] * (w.in[a] - 1) + op + eff;
            if (outputShape != null || autoPad.startsWith("SAME")) {
                int o = outputShape != null
                        ? (int) outputShape[outputShape.length - rank + i]
                        : w.in[a] * w.stride[a];
                int total = Math.max(0, full - o);
                if (autoPad.equals("SAME_UPPER")) {
                    w.padBegin[a] = total / 2;
                } else {
                    w.padBegin[a] = total - total / 2;
                }
                w.padEnd[a] = total - w.padBegin[a];
                w.out[a] = o;
            } else {
                if (pads != null && !autoPad.equals("VALID")) {
                    w.padBegin[a] = (int) pads[i];
                    w.padEnd[a] = (int) pads[i + rank];
                }
                w.out[a] = full - w.padBegin[a] - w.padEnd[a];
            }
        }
        return w;
    }

    /** The output's spatial shape as ONNX dims. */
    long[] outShape(long batch, long channels) {
        long[] s = new long[2 + rank];
        s[0] = batch;
        s[1] = channels;
        for (int i = 0; i < rank; i++) {
            s[2 + i] = out[axis(i)];
        }
        return s;
    }
}
