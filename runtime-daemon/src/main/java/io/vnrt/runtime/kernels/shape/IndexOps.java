package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;

/**
 * Factories of the index-driven operators: Gather, GatherElements, GatherND, ScatterND and
 * ScatterElements. Data moves as raw element bytes (so every dtype shares one path); only the
 * scatter reductions look at values.
 */
final class IndexOps {
    private IndexOps() {}

    /** The reductions ScatterND and ScatterElements apply to duplicate or existing values. */
    enum Reduction {
        NONE, ADD, MUL, MAX, MIN;

        static Reduction of(NodeContext n) {
            String r = n.attrString("reduction", "none");
            return switch (r) {
                case "none" -> NONE;
                case "add" -> ADD;
                case "mul" -> MUL;
                case "max" -> MAX;
                case "min" -> MIN;
                default -> throw n.error("unknown reduction '" + r + "' (expected none, add, mul, max or min)");
            };
        }

        /** Combines update element ui into output element oi. */
        void apply(Tensor out, long oi, Tensor upd, long ui) {
            DType dt = out.dtype();
            if (dt.isFloatingPoint()) {
                double a = out.getDouble(oi);
                double b = upd.getDouble(ui);
                out.setDouble(oi, switch (this) {
                    case ADD -> a + b;
                    case MUL -> a * b;
                    case MAX -> Math.max(a, b);
                    case MIN -> Math.min(a, b);
                    case NONE -> b;
                });
            } else {
                // Integers stay exact in long arithmetic; uint64 compares unsigned.
                long a = out.getLong(oi);
                long b = upd.getLong(ui);
                boolean unsigned = dt == DType.UINT64;
                out.setLong(oi, switch (this) {
                    case ADD -> a + b;
                    case MUL -> a * b;
                    case MAX -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) >= 0 ? a : b;
                    case MIN -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) <= 0 ? a : b;
                    case NONE -> b;
                });
            }
        }
    }

    /** Reads index i of an int32/int64 tensor, normalised against dim (negative counts from the end). */
    static long index(Tensor indices, long i, long dim, String what) {
        long v = indices.getLong(i);
        long r = v < 0 ? v + dim : v;
        if (r < 0 || r >= dim) {
            throw new OpException(what + ": index " + v + " is out of range for a dimension of size " + dim);
        }
        return r;
    }

    private static void requireIndexType(NodeContext n, int i) {
        DType t = n.inputType(i).dtype();
        if (t != DType.INT64 && t != DType.INT32) {
            throw n.error("indices must be int32 or int64, got " + t.displayName());
        }
    }

    static Kernel gather(NodeContext n) {
        TensorType data = n.inputType(0);
        TensorType ind = n.inputType(1);
        requireIndexType(n, 1);
        long[] ds = data.shape();
        int axis = LayoutOps.axis(n, n.attrInt("axis", 0), ds.length);
        long[] is = ind.shape();
        long[] out = new long[ds.length - 1 + is.length];
        int k = 0;
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < axis; i++) {
            out[k++] = ds[i];
            outer *= ds[i];
        }
        for (long d : is) {
            out[k++] = d;
        }
        for (int i = axis + 1; i < ds.length; i++) {
            out[k++] = ds[i];
            inner *= ds[i];
        }
        int es = data.dtype().byteSize();
        long dim = ds[axis];
        long count = ind.elementCount();
        long block = inner * es;
        long outerN = outer;
        long innerN = inner;
        String name = "Gather '" + n.nodeName() + "'";
        return new BodyKernel(new TensorType(data.dtype(), out), (in, o, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = o[0].data();
            Tensor indices = in[1];
            long units = outerN * count;
            int tasks = StridedCopy.tasksFor(units * innerN, units, ctx);
            ExecContext.TaskBody body = t -> {
                long from = units * t / tasks;
                long to = units * (t + 1) / tasks;
                for (long u = from; u < to; u++) {
                    long a = u / count;
                    long j = u - a * count;
                    long row = index(indices, j, dim, name);
                    long so = (a * dim + row) * block;
                    if (innerN == 1) {
                        StridedCopy.copyElement(src, so, dst, u * block, es);
                    } else {
                        MemorySegment.copy(src, so, dst, u * block, block);
                    }
                }
            };
            if (tasks == 1) {
                body.run(0);
            } else {
                ctx.parallelFor(tasks, body);
            }
        });
    }

    static Kernel gatherElements(NodeContext n) {
        TensorType data = n.inputType(0);
        TensorType ind = n.inputType(1);
        requireIndexType(n, 1);
        long[] ds = data.shape();
        long[] is = ind.shape();
        if (is.length != ds.length) {
            throw n.error("indices " + ind + " must have the rank of data " + data);
        }
        int axis = LayoutOps.axis(n, n.attrInt("axis", 0), ds.length);
        long[] dStrides = Shapes.strides(ds);
        int es = data.dtype().byteSize();
        long total = ind.elementCount();
        int rank = ds.length;
        String name = "GatherElements '" + n.nodeName() + "'";
        return new BodyKernel(new TensorType(data.dtype(), is), (in, o, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = o[0].data();
            long[] idx = new long[rank];
            long base = 0;
            for (long p = 0; p < total; p++) {
                long r = index(in[1], p, ds[axis], name);
                long so = base + (r - idx[axis]) * dStrides[axis];
                StridedCopy.copyElement(src, so * es, dst, p * es, es);
                for (int d = rank - 1; d >= 0; d--) {
                    base += dStrides[d];
                    if (++idx[d] < is[d]) {
                        break;
                    }
                    base -= idx[d] * dStrides[d];
                    idx[d] = 0;
                }
            }
        });
    }

    static Kernel scatterElements(NodeContext n) {
        TensorType data = n.inputType(0);
        TensorType ind = n.inputType(1);
        requireIndexType(n, 1);
        long[] ds = data.shape();
        long[] is = ind.shape();
        if (is.length != ds.length || !n.inputType(2).equals(new TensorType(data.dtype(), is))) {
            throw n.error("indices " + ind + " and updates " + n.inputType(2) + " must match in shape, with the rank of data " + data);
        }
        int axis = LayoutOps.axis(n, n.attrInt("axis", 0), ds.length);
        Reduction red = n.opset() >= 16 ? Reduction.of(n) : Reduction.NONE;
        long[] dStrides = Shapes.strides(ds);
        int es = data.dtype().byteSize();
        long total = ind.elementCount();
        int rank = ds.length;
        String name = "ScatterElements '" + n.nodeName() + "'";
        return new BodyKernel(data, (in, o, ctx) -> {
            MemorySegment.copy(in[0].data(), 0, o[0].data(), 0, in[0].byteSize());
            long[] idx = new long[rank];
            long base = 0;
            for (long p = 0; p < total; p++) {
                long r = index(in[1], p, ds[axis], name);
                long oi = base + (r - idx[axis]) * dStrides[axis];
                if (red == Reduction.NONE) {
                    StridedCopy.copyElement(in[2].data(), p * es, o[0].data(), oi * es, es);
                } else {
                    red.apply(o[0], oi, in[2], p);
                }
                for (int d = rank - 1; d >= 0; d--) {
                    base += dStrides[d];
                    if (++idx[d] < is[d]) {
                        break;
                    }
                    base -= idx[d] * dStrides[d];
                    idx[d] = 0;
                }
            }
        });
    }

    static Kernel gatherND(NodeContext n) {
        TensorType data = n.inputType(0);
        TensorType ind = n.inputType(1);
        requireIndexType(n, 1);
        long[] ds = data.shape();
        long[] is = ind.shape();
        int b = (int) (n.opset() >= 12 ? n.attrInt("batch_dims", 0) : 0);
        if (is.length < 1 || b >= is.length || b >= ds.length) {
            throw n.error("batch_dims " + b + " does not fit data " + data + " and indices " + ind);
        }
        int m = (int) is[is.length - 1];
        if (m < 1 || b + m > ds.length) {
            throw n.error("indices' last dimension " + m + " does not fit data " + data + " with batch_dims " + b);
        }
        for (int i = 0; i < b; i++) {
            if (ds[i] != is[i]) {
                throw n.error("batch dimension " + i + " differs between data " + data + " and indices " + ind);
            }
        }
        long[] out = new long[is.length - 1 + ds.length - b - m];
        int k = 0;
        for (int i = 0; i < is.length - 1; i++) {
            out[k++] = is[i];
        }
        long slice = 1;
        for (int i = b + m; i < ds.length; i++) {
            out[k++] = ds[i];
            slice *= ds[i];
        }
        long batches = 1;
        for (int i = 0; i < b; i++) {
            batches *= ds[i];
        }
        long tuplesPerBatch = 1;
        for (int i = b; i < is.length - 1; i++) {
            tuplesPerBatch *= is[i];
        }
        long[] dStrides = Shapes.strides(ds);
        long batchStride = b == 0 ? 0 : dStrides[b - 1];
        int es = data.dtype().byteSize();
        long block = slice * es;
        long tpb = tuplesPerBatch;
        long nb = batches;
        String name = "GatherND '" + n.nodeName() + "'";
        return new BodyKernel(new TensorType(data.dtype(), out), (in, o, ctx) -> {
            MemorySegment src = in[0].data();
            MemorySegment dst = o[0].data();
            for (long bi = 0; bi < nb; bi++) {
                for (long t = 0; t < tpb; t++) {
                    long tuple = bi * tpb + t;
                    long off = bi * batchStride;
                    for (int j = 0; j < m; j++) {
                        off += index(in[1], tuple * m + j, ds[b + j], name) * dStrides[b + j];
                    }
                    MemorySegment.copy(src, off * es, dst, tuple * block, block);
                }
            }
        });
    }

    static Kernel scatterND(NodeContext n) {
        TensorType data = n.inputType(0);
        TensorType ind = n.inputType(1);
        requireIndexType(n, 1);
        TensorType upd = n.inputType(2);
        long[] ds = data.shape();
        long[] is = ind.shape();
        int m = (int) is[is.length - 1];
        if (m < 1 || m > ds.length) {
            throw n.error("indices' last dimension " + m + " does not fit data " + data);
        }
        long tuples = ind.elementCount() / m;
        long slice = 1;
        for (int i = m; i < ds.length; i++) {
            slice *= ds[i];
        }
        if (upd.elementCount() != tuples * slice || upd.dtype() != data.dtype()) {
            throw n.error("updates " + upd + " do not match indices " + ind + " on data " + data);
        }
        Reduction red = n.opset() >= 16 ? Reduction.of(n) : Reduction.NONE;
        long[] dStrides = Shapes.strides(ds);
        int es = data.dtype().byteSize();
        long sl = slice;
        String name = "ScatterND '" + n.nodeName() + "'";
        return new BodyKernel(data, (in, o, ctx) -> {
            MemorySegment.copy(in[0].data(), 0, o[0].data(), 0, in[0].byteSize());
            for (long t = 0; t < tuples; t++) {
                long off = 0;
                for (int j = 0; j < m; j++) {
                    off += index(in[1], t * m + j, ds[j], name) * dStrides[j];
                }
                if (red == Reduction.NONE) {
                    MemorySegment.copy(in[2].data(), t * sl * es, o[0].data(), off * es, sl * es);
                } else {
                    for (long e = 0; e < sl; e++) {
                        red.apply(o[0], off + e, in[2], t * sl + e);
                    }
                }
            }
        });
    }
}
