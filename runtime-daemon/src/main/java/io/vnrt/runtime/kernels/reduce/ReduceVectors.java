package io.vnrt.runtime.kernels.reduce;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 reductions over an [outer, r, inner] view. With inner == 1 each output is a
 * contiguous row, reduced with four independent accumulators and one reduceLanes; otherwise the
 * vector runs across the contiguous inner dimension and accumulates down r.
 */
final class ReduceVectors {
    static final VectorSpecies<Float> SPECIES = VectorShape.FLOAT;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Per-element transform before accumulation. */
    private enum Pre { NONE, ABS, SQUARE }

    private ReduceVectors() {}

    static boolean supports(ReduceKind kind) {
        return kind != ReduceKind.LOG_SUM_EXP;
    }

    /** Column block width when the inner dimension is split between tasks (a multiple of LANES). */
    static final long COLUMN_BLOCK = 16L * LANES;

    /**
     * Reduces work units [from, to) of the [outer, r, inner] view: with inner == 1 a unit is one
     * row; otherwise a unit is a block of up to COLUMN_BLOCK columns of one outer index, so that a
     * reduction over a leading axis (outer == 1) still splits between tasks.
     */
    static void reduce(ReduceKind kind, MemorySegment in, MemorySegment out, long from, long to, long r, long inner) {
        long blocks = columnBlocks(inner);
        for (long u = from; u < to; u++) {
            if (inner == 1) {
                long base = u * r;
                float acc = switch (kind) {
                    case MAX -> rowMax(in, base, r);
                    case MIN -> rowMin(in, base, r);
                    case PROD -> rowProd(in, base, r);
                    case L1 -> rowSum(in, base, r, Pre.ABS);
                    case L2, SUM_SQUARE -> rowSum(in, base, r, Pre.SQUARE);
                    default -> rowSum(in, base, r, Pre.NONE);
                };
                out.setAtIndex(Tensor.F32, u, (float) kind.finish(acc, r, 0));
                continue;
            }
            long o = u / blocks;
            long j0 = (u % blocks) * COLUMN_BLOCK;
            long j1 = Math.min(inner, j0 + COLUMN_BLOCK);
            long base = o * r * inner;
            switch (kind) {
                case MAX, MIN -> columnsExtremum(in, out, base, o * inner, r, inner, j0, j1, kind == ReduceKind.MAX);
                case PROD -> columnsProd(in, out, base, o * inner, r, inner, j0, j1);
                case L1 -> columnsSum(in, out, base, o * inner, r, inner, j0, j1, Pre.ABS, kind);
                case L2, SUM_SQUARE -> columnsSum(in, out, base, o * inner, r, inner, j0, j1, Pre.SQUARE, kind);
                default -> columnsSum(in, out, base, o * inner, r, inner, j0, j1, Pre.NONE, kind);
            }
        }
    }

    /** Work units per outer index: 1 row, or the number of column blocks. */
    static long columnBlocks(long inner) {
        return inner == 1 ? 1 : (inner + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    }

    private static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(SPECIES, s, index * 4, LE);
    }

    private static FloatVector pre(FloatVector v, Pre pre) {
        return switch (pre) {
            case NONE -> v;
            case ABS -> v.abs();
            case SQUARE -> v.mul(v);
        };
    }

    private static float pre(float v, Pre pre) {
        return switch (pre) {
            case NONE -> v;
            case ABS -> Math.abs(v);
            case SQUARE -> v * v;
        };
    }

    /** Sum of pre(x) over a contiguous row. */
    static float rowSum(MemorySegment in, long base, long n, Pre pre) {
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            a0 = a0.add(pre(load(in, base + i), pre));
            a1 = a1.add(pre(load(in, base + i + LANES), pre));
            a2 = a2.add(pre(load(in, base + i + 2 * LANES), pre));
            a3 = a3.add(pre(load(in, base + i + 3 * LANES), pre));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.add(pre(load(in, base + i), pre));
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += pre(in.getAtIndex(Tensor.F32, base + i), pre);
        }
        return s;
    }

    /** Max of a contiguous row; NaN propagates (Math.max semantics in lanes and tail). */
    static float rowMax(MemorySegment in, long base, long n) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector a1 = a0;
        long i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            a0 = a0.max(load(in, base + i));
            a1 = a1.max(load(in, base + i + LANES));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.max(load(in, base + i));
        }
        float m = a0.max(a1).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, in.getAtIndex(Tensor.F32, base + i));
        }
        return m;
    }

    static float rowProd(MemorySegment in, long base, long n) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, 1f);
        FloatVector a1 = a0;
        long i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            a0 = a0.mul(load(in, base + i));
            a1 = a1.mul(load(in, base + i + LANES));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.mul(load(in, base + i));
        }
        float p = a0.mul(a1).reduceLanes(VectorOperators.MUL);
        for (; i < n; i++) {
            p *= in.getAtIndex(Tensor.F32, base + i);
        }
        return p;
    }

    static float rowMin(MemorySegment in, long base, long n) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, Float.POSITIVE_INFINITY);
        FloatVector a1 = a0;
        long i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            a0 = a0.min(load(in, base + i));
            a1 = a1.min(load(in, base + i + LANES));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.min(load(in, base + i));
        }
        float m = a0.min(a1).reduceLanes(VectorOperators.MIN);
        for (; i < n; i++) {
            m = Math.min(m, in.getAtIndex(Tensor.F32, base + i));
        }
        return m;
    }

    /** out[outBase + j] = finish(sum over k of pre(in[base + k * inner + j])) for j in [j0, j1). */
    private static void columnsSum(MemorySegment in, MemorySegment out, long base, long outBase, long r, long inner,
                                   long j0, long j1, Pre pre, ReduceKind kind) {
        long j = j0;
        // Four column vectors per pass down r: independent add chains instead of one latency-bound chain.
        for (; j + 4 * LANES <= j1; j += 4 * LANES) {
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (long k = 0; k < r; k++) {
                long at = base + k * inner + j;
                a0 = a0.add(pre(load(in, at), pre));
                a1 = a1.add(pre(load(in, at + LANES), pre));
                a2 = a2.add(pre(load(in, at + 2 * LANES), pre));
                a3 = a3.add(pre(load(in, at + 3 * LANES), pre));
            }
            finishColumns(a0, kind, r).intoMemorySegment(out, (outBase + j) * 4, LE);
            finishColumns(a1, kind, r).intoMemorySegment(out, (outBase + j + LANES) * 4, LE);
            finishColumns(a2, kind, r).intoMemorySegment(out, (outBase + j + 2 * LANES) * 4, LE);
            finishColumns(a3, kind, r).intoMemorySegment(out, (outBase + j + 3 * LANES) * 4, LE);
        }
        for (; j + LANES <= j1; j += LANES) {
            FloatVector acc = FloatVector.zero(SPECIES);
            for (long k = 0; k < r; k++) {
                acc = acc.add(pre(load(in, base + k * inner + j), pre));
            }
            finishColumns(acc, kind, r).intoMemorySegment(out, (outBase + j) * 4, LE);
        }
        for (; j < j1; j++) {
            float acc = 0;
            for (long k = 0; k < r; k++) {
                acc += pre(in.getAtIndex(Tensor.F32, base + k * inner + j), pre);
            }
            out.setAtIndex(Tensor.F32, outBase + j, (float) kind.finish(acc, r, 0));
        }
    }

    /** The vector form of {@link ReduceKind#finish} for the kinds of the column path. */
    private static FloatVector finishColumns(FloatVector acc, ReduceKind kind, long r) {
        return switch (kind) {
            case MEAN -> acc.div((float) r);
            case L2 -> acc.sqrt();
            case LOG_SUM -> acc.lanewise(VectorOperators.LOG);
            default -> acc;
        };
    }

    private static void columnsProd(MemorySegment in, MemorySegment out, long base, long outBase, long r, long inner,
                                    long j0, long j1) {
        long j = j0;
        for (; j + LANES <= j1; j += LANES) {
            FloatVector acc = FloatVector.broadcast(SPECIES, 1f);
            for (long k = 0; k < r; k++) {
                acc = acc.mul(load(in, base + k * inner + j));
            }
            acc.intoMemorySegment(out, (outBase + j) * 4, LE);
        }
        for (; j < j1; j++) {
            float acc = 1f;
            for (long k = 0; k < r; k++) {
                acc *= in.getAtIndex(Tensor.F32, base + k * inner + j);
            }
            out.setAtIndex(Tensor.F32, outBase + j, acc);
        }
    }

    private static void columnsExtremum(MemorySegment in, MemorySegment out, long base, long outBase, long r,
                                        long inner, long j0, long j1, boolean max) {
        float init = max ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
        long j = j0;
        for (; j + LANES <= j1; j += LANES) {
            FloatVector acc = FloatVector.broadcast(SPECIES, init);
            for (long k = 0; k < r; k++) {
                FloatVector v = load(in, base + k * inner + j);
                acc = max ? acc.max(v) : acc.min(v);
            }
            acc.intoMemorySegment(out, (outBase + j) * 4, LE);
        }
        for (; j < j1; j++) {
            float acc = init;
            for (long k = 0; k < r; k++) {
                float v = in.getAtIndex(Tensor.F32, base + k * inner + j);
                acc = max ? Math.max(acc, v) : Math.min(acc, v);
            }
            out.setAtIndex(Tensor.F32, outBase + j, acc);
        }
    }
}
