package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Factories of operators that produce values rather than move them: Shape, Size, Constant,
 * ConstantOfShape, Range, NonZero, Trilu and OneHot.
 */
final class ValueOps {
    private ValueOps() {}

    static Kernel shape(NodeContext n) {
        long[] s = n.inputType(0).shape();
        int rank = s.length;
        long start = 0;
        long end = rank;
        if (n.opset() >= 15) {
            start = clampAxis(n.attrInt("start", 0), rank);
            end = clampAxis(n.attrInt("end", rank), rank);
        }
        int count = (int) Math.max(0, end - start);
        long[] values = java.util.Arrays.copyOfRange(s, (int) start, (int) start + count);
        return new BodyKernel(new TensorType[] {new TensorType(DType.INT64, new long[] {count})}, (in, out, ctx) -> {
            for (int i = 0; i < values.length; i++) {
                out[0].data().setAtIndex(Tensor.I64, i, values[i]);
            }
        }, false);
    }

    private static long clampAxis(long a, int rank) {
        return Math.clamp(a < 0 ? a + rank : a, 0, rank);
    }

    static Kernel size(NodeContext n) {
        long count = n.inputType(0).elementCount();
        return new BodyKernel(new TensorType[] {new TensorType(DType.INT64, new long[0])},
                (in, out, ctx) -> out[0].data().setAtIndex(Tensor.I64, 0, count), false);
    }

    static Kernel constant(NodeContext n) {
        Tensor value;
        if (n.attrTensor("value") != null) {
            value = n.attrTensor("value");
        } else if (n.hasAttribute("value_float")) {
            value = Tensor.ofFloats(new long[0], n.attrFloat("value_float", 0));
        } else if (n.hasAttribute("value_floats")) {
            float[] f = n.attrFloats("value_floats", new float[0]);
            value = Tensor.ofFloats(new long[] {f.length}, f);
        } else if (n.hasAttribute("value_int")) {
            value = Tensor.ofLongs(new long[0], n.attrInt("value_int", 0));
        } else if (n.hasAttribute("value_ints")) {
            long[] v = n.attrInts("value_ints", new long[0]);
            value = Tensor.ofLongs(new long[] {v.length}, v);
        } else {
            throw n.error("needs one of the attributes value, value_float(s), value_int(s)"
                    + " (strings and sparse tensors are not supported)");
        }
        Tensor v = value;
        return new BodyKernel(new TensorType[] {v.type()},
                (in, out, ctx) -> MemorySegment.copy(v.data(), 0, out[0].data(), 0, v.byteSize()), false);
    }

    static Kernel constantOfShape(NodeContext n) {
        long[] shape = n.requireConstant(0).toLongArray();
        for (long d : shape) {
            if (d < 0) {
                throw n.error("negative dimension in shape " + java.util.Arrays.toString(shape));
            }
        }
        Tensor value = n.attrTensor("value");
        if (value == null) {
            value = Tensor.ofFloats(new long[] {1}, 0f);
        }
        if (value.elementCount() != 1) {
            throw n.error("value must hold exactly one element, has " + value.elementCount());
        }
        DType dt = value.dtype();
        int es = dt.byteSize();
        long bits = StridedCopy.bitsOf(value.data(), 0, es);
        TensorType type = new TensorType(dt, shape);
        return new BodyKernel(new TensorType[] {type},
                (in, out, ctx) -> StridedCopy.fill(out[0].data(), 0, out[0].elementCount(), es, bits), false);
    }

    static Kernel range(NodeContext n) {
        Tensor start = n.requireConstant(0);
        Tensor limit = n.requireConstant(1);
        Tensor delta = n.requireConstant(2);
        DType dt = n.inputType(0).dtype();
        long count;
        if (dt.isFloatingPoint()) {
            double s = start.getDouble(0);
            double l = limit.getDouble(0);
            double d = delta.getDouble(0);
            if (d == 0) {
                throw n.error("delta is 0");
            }
            count = (long) Math.max(0, Math.ceil((l - s) / d));
        } else {
            long s = start.getLong(0);
            long l = limit.getLong(0);
            long d = delta.getLong(0);
            if (d == 0) {
                throw n.error("delta is 0");
            }
            long span = l - s;
            count = d > 0 ? (span > 0 ? (span + d - 1) / d : 0) : (span < 0 ? (span + d + 1) / d : 0);
        }
        return new BodyKernel(new TensorType(dt, new long[] {count}), (in, out, ctx) -> {
            Tensor o = out[0];
            if (dt.isFloatingPoint()) {
                double s = in[0].getDouble(0);
                double d = in[2].getDouble(0);
                if (dt == DType.FLOAT32) {
                    // Accumulate in float like the reference (numpy arange of float32 inputs).
                    float fs = (float) s;
                    float fd = (float) d;
                    for (long i = 0; i < count; i++) {
                        o.setFloat(i, fs + i * fd);
                    }
                } else {
                    for (long i = 0; i < count; i++) {
                        o.setDouble(i, s + i * d);
                    }
                }
            } else {
                long s = in[0].getLong(0);
                long d = in[2].getLong(0);
                for (long i = 0; i < count; i++) {
                    o.setLong(i, s + i * d);
                }
            }
        });
    }

    private static boolean isNonZero(Tensor t, long i) {
        return t.dtype().isFloatingPoint() ? t.getDouble(i) != 0 : t.getLong(i) != 0;
    }

    static Kernel nonZero(NodeContext n) {
        Tensor data = n.requireConstant(0);
        long total = data.elementCount();
        long nnz = 0;
        for (long i = 0; i < total; i++) {
            if (isNonZero(data, i)) {
                nnz++;
            }
        }
        long[] shape = data.shape();
        int rank = shape.length;
        long count = nnz;
        return new BodyKernel(new TensorType(DType.INT64, new long[] {rank, count}), (in, out, ctx) -> {
            Tensor x = in[0];
            MemorySegment o = out[0].data();
            long k = 0;
            long[] idx = new long[rank];
            for (long i = 0; i < total && k < count; i++) {
                if (isNonZero(x, i)) {
                    for (int d = 0; d < rank; d++) {
                        o.setAtIndex(Tensor.I64, d * count + k, idx[d]);
                    }
                    k++;
                }
                for (int d = rank - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        });
    }

    static Kernel trilu(NodeContext n) {
        TensorType t = n.inputType(0);
        if (t.rank() < 2) {
            throw n.error("input must have rank 2 or more, got " + t);
        }
        boolean upper = n.attrInt("upper", 1) != 0;
        long[] s = t.shape();
        long rows = s[s.length - 2];
        long cols = s[s.length - 1];
        long mats = rows * cols == 0 ? 0 : t.elementCount() / (rows * cols);
        int es = t.dtype().byteSize();
        boolean hasK = n.hasInput(1);
        return new BodyKernel(t, (in, out, ctx) -> {
            // Any k beyond +-(rows + cols) keeps or clears everything; clamping avoids overflow in i + k.
            long k = hasK ? Math.clamp(in[1].getLong(0), -(rows + cols), rows + cols) : 0;
            MemorySegment src = in[0].data();
            MemorySegment dst = out[0].data();
            for (long m = 0; m < mats; m++) {
                for (long i = 0; i < rows; i++) {
                    long row = ((m * rows) + i) * cols * es;
                    // Kept columns form one contiguous run: j >= i + k (upper) or j <= i + k (lower).
                    long from = upper ? Math.clamp(i + k, 0, cols) : 0;
                    long to = upper ? cols : Math.clamp(i + k + 1, 0, cols);
                    if (from > 0) {
                        StridedCopy.fill(dst, row, from, es, 0);
                    }
                    if (to > from) {
                        MemorySegment.copy(src, row + from * es, dst, row + from * es, (to - from) * es);
                    }
                    if (to < cols) {
                        StridedCopy.fill(dst, row + Math.max(to, from) * es, cols - Math.max(to, from), es, 0);
                    }
                }
            }
        });
    }

    static Kernel oneHot(NodeContext n) {
        TensorType idx = n.inputType(0);
        Tensor depthT = n.requireConstant(1);
        long depth = depthT.dtype().isFloatingPoint() ? (long) depthT.getDouble(0) : depthT.getLong(0);
        if (depth <= 0) {
            throw n.error("depth must be positive, got " + depth);
        }
        TensorType values = n.inputType(2);
        if (values.elementCount() != 2) {
            throw n.error("values must hold [off, on], got " + values);
        }
        long[] is = idx.shape();
        int rank = is.length + 1;
        int axis = LayoutOps.axis(n, n.attrInt("axis", -1), rank);
        long[] out = new long[rank];
        long outer = 1;
        long inner = 1;
        for (int i = 0, j = 0; i < rank; i++) {
            if (i == axis) {
                out[i] = depth;
            } else {
                out[i] = is[j];
                if (i < axis) {
                    outer *= is[j];
                } else {
                    inner *= is[j];
                }
                j++;
            }
        }
        DType dt = values.dtype();
        int es = dt.byteSize();
        boolean floatIdx = idx.dtype().isFloatingPoint();
        long o1 = outer;
        long i1 = inner;
        return new BodyKernel(new TensorType(dt, out), (in, o, ctx) -> {
            MemorySegment dst = o[0].data();
            long off = StridedCopy.bitsOf(in[2].data(), 0, es);
            long on = StridedCopy.bitsOf(in[2].data(), 1, es);
            StridedCopy.fill(dst, 0, o[0].elementCount(), es, off);
            Tensor ind = in[0];
            for (long a = 0; a < o1; a++) {
                for (long r = 0; r < i1; r++) {
                    long p = a * i1 + r;
                    long v = floatIdx ? (long) ind.getDouble(p) : ind.getLong(p);
                    if (v < 0) {
                        v += depth;
                    }
                    if (v >= 0 && v < depth) {
                        StridedCopy.fill(dst, ((a * depth + v) * i1 + r) * es, 1, es, on);
                    }
                }
            }
        });
    }
}
