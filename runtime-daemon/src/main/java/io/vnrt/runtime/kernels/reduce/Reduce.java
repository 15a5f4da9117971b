package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp. The input shape is simplified at
 * compile time (size-1 dims dropped, neighbouring dims of the same kind merged); float32 reductions
 * over one contiguous block of axes take the vectorised path, everything else a strided generic path.
 */
final class Reduce implements Kernel {
    private final ReduceKind kind;
    private final TensorType inType;
    private final TensorType outType;
    private final boolean identity;
    /** Merged dims of the input: sizes, element strides, and whether each is reduced. */
    private final long[] keptSizes;
    private final long[] keptStrides;
    private final long[] redSizes;
    private final long[] redStrides;
    /** The [outer, reduced, inner] form when at most one merged dim is reduced, else null. */
    private final long[] ori;

    private Reduce(ReduceKind kind, TensorType inType, long[] axes, boolean keepdims, boolean identity) {
        this.kind = kind;
        this.inType = inType;
        this.identity = identity;
        long[] shape = inType.shape();
        int rank = shape.length;
        boolean[] reduced = new boolean[rank];
        for (long a : axes) {
            reduced[Shapes.axis(a, rank)] = true;
        }
        List<Long> outShape = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (identity || !reduced[i]) {
                outShape.add(shape[i]);
            } else if (keepdims) {
                outShape.add(1L);
            }
        }
        this.outType = new TensorType(inType.dtype(), outShape.stream().mapToLong(Long::longValue).toArray());

        // Merge neighbouring dims of the same kind, dropping size-1 dims (they change no offset).
        long[] strides = Shapes.strides(shape);
        List<long[]> kept = new ArrayList<>();
        List<long[]> red = new ArrayList<>();
        List<long[]> merged = new ArrayList<>(); // {size, stride, reducedFlag}
        for (int i = 0; i < rank; i++) {
            if (shape[i] == 1) {
                continue;
            }
            long flag = reduced[i] && !identity ? 1 : 0;
            long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && last[2] == flag && last[1] == shape[i] * strides[i]) {
                last[0] *= shape[i];
                last[1] = strides[i];
            } else {
                merged.add(new long[] {shape[i], strides[i], flag});
            }
        }
        for (long[] m : merged) {
            (m[2] == 1 ? red : kept).add(m);
        }
        keptSizes = kept.stream().mapToLong(m -> m[0]).toArray();
        keptStrides = kept.stream().mapToLong(m -> m[1]).toArray();
        redSizes = red.stream().mapToLong(m -> m[0]).toArray();
        redStrides = red.stream().mapToLong(m -> m[1]).toArray();
        long[] form = null;
        if (red.size() == 1 && inType.elementCount() > 0) {
            int at = merged.indexOf(red.get(0));
            long outer = 1;
            long inner = 1;
            for (int i = 0; i < merged.size(); i++) {
                if (i < at) {
                    outer *= merged.get(i)[0];
                } else if (i > at) {
                    inner *= merged.get(i)[0];
                }
            }
            form = new long[] {outer, red.get(0)[0], inner};
        }
        this.ori = form;
    }

    static Kernel create(NodeContext node, ReduceKind kind) {
        TensorType in = node.inputType(0);
        if (in.dtype() == DType.STRING) {
            throw node.error("string tensors are not supported");
        }
        boolean axesAsInput = node.opset() >= kind.axesInputSince();
        long[] axes;
        if (axesAsInput) {
            axes = node.hasInput(1) ? node.requireConstant(1).toLongArray() : null;
        } else {
            axes = node.attrInts("axes", null);
        }
        boolean keepdims = node.attrInt("keepdims", 1) != 0;
        boolean noop = axesAsInput && node.attrInt("noop_with_empty_axes", 0) != 0;
        boolean identity = false;
        if (axes == null || axes.length == 0) {
            identity = noop;
            axes = new long[in.rank()];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = i;
            }
        }
        try {
            return new Reduce(kind, in, axes, keepdims, identity);
        } catch (IllegalArgumentException e) {
            throw node.error(e.getMessage() + " (input " + in + ")");
        }
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public int aliasOfInput(int outputIndex) {
        return identity ? 0 : -1;
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor x = inputs[0];
        Tensor y = outputs[0];
        if (identity) {
            MemorySegment.copy(x.data(), 0, y.data(), 0, x.byteSize());
            return;
        }
        long outCount = y.elementCount();
        if (outCount == 0) {
            return;
        }
        if (ori != null && x.dtype() == DType.FLOAT32 && ReduceVectors.supports(kind)) {
            long r = ori[1];
            long inner = ori[2];
            long units = ori[0] * ReduceVectors.columnBlocks(inner);
            int tasks = Split.tasks(x.elementCount(), units, ctx.parallelism());
            ctx.parallelFor(tasks, t -> ReduceVectors.reduce(kind, x.data(), y.data(), Split.start(units, tasks, t),
                    Split.start(units, tasks, t + 1), r, inner));
            return;
        }
        int tasks = Split.tasks(x.elementCount(), outCount, ctx.parallelism());
        ctx.parallelFor(tasks, t -> generic(x, y, Split.start(outCount, tasks, t), Split.start(outCount, tasks, t + 1)));
    }

    /** Reference path: any dtype, any set of axes; output element o reduces its strided sub-block. */
    void generic(Tensor x, Tensor y, long from, long to) {
        DType dt = x.dtype();
        boolean inLong = !dt.isFloatingPoint() && kind.exactInLong();
        boolean unsigned = dt == DType.UINT64;
        long count = 1;
        for (long s : redSizes) {
            count *= s;
        }
        long[] idx = new long[redSizes.length];
        for (long o = from; o < to; o++) {
            long base = 0;
            long rest = o;
            for (int d = keptSizes.length - 1; d >= 0; d--) {
                base += (rest % keptSizes[d]) * keptStrides[d];
                rest /= keptSizes[d];
            }
            if (inLong) {
                long acc = initLong(dt);
                java.util.Arrays.fill(idx, 0);
                long off = base;
                for (long i = 0; i < count; i++) {
                    acc = kind.accumulate(acc, x.getLong(off), unsigned);
                    off = step(idx, off);
                }
                y.setLong(o, acc);
                continue;
            }
            double shift = 0;
            if (kind == ReduceKind.LOG_SUM_EXP) {
                double max = Double.NEGATIVE_INFINITY;
                java.util.Arrays.fill(idx, 0);
                long off = base;
                for (long i = 0; i < count; i++) {
                    max = Math.max(max, x.getDouble(off));
                    off = step(idx, off);
                }
                shift = Double.isFinite(max) ? max : 0;
            }
            double acc = kind.initDouble();
            java.util.Arrays.fill(idx, 0);
            long off = base;
            for (long i = 0; i < count; i++) {
                double v = x.getDouble(off);
                acc = kind.accumulate(acc, kind == ReduceKind.LOG_SUM_EXP ? Math.exp(v - shift) : v);
                off = step(idx, off);
            }
            y.setDouble(o, kind.finish(acc, count, shift));
        }
    }

    /** Advances the odometer over the reduced dims and returns the next element offset. */
    private long step(long[] idx, long off) {
        for (int d = idx.length - 1; d >= 0; d--) {
            idx[d]++;
            off += redStrides[d];
            if (idx[d] < redSizes[d]) {
                return off;
            }
            off -= idx[d] * redStrides[d];
            idx[d] = 0;
        }
        return off;
    }

    /** Initial long accumulator; Max/Min of an empty set give the type's min/max, as numpy's iinfo does. */
    private long initLong(DType dt) {
        return switch (kind) {
            case PROD -> 1;
            case MAX -> switch (dt) {
                case INT8 -> Byte.MIN_VALUE;
                case INT16 -> Short.MIN_VALUE;
                case INT32 -> Integer.MIN_VALUE;
                case INT64 -> Long.MIN_VALUE;
                default -> 0;
            };
            case MIN -> switch (dt) {
                case INT8 -> Byte.MAX_VALUE;
                case INT16 -> Short.MAX_VALUE;
                case INT32 -> Integer.MAX_VALUE;
                case INT64 -> Long.MAX_VALUE;
                case UINT8 -> 0xFF;
                case UINT16 -> 0xFFFF;
                case UINT32 -> 0xFFFFFFFFL;
                case BOOL -> 1;
                default -> -1L; // uint64 max
            };
            default -> 0;
        };
    }
}
