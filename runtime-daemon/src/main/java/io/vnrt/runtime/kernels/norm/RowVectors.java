package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * float32 row kernels of the Softmax and LayerNorm families over MemorySegments, element offsets
 * in {@code long}. Each row takes one reduceLanes per pass with several independent accumulators.
 * exp is an inlined polynomial ({@link #expShifted}) rather than lanewise(EXP): the latter is a
 * stub call that spills the live vector registers and takes a slow path below about -87, which
 * masked attention scores hit; measured here 0.21 vs 0.24..1.6 ns per element.
 *
 * <p>Vectors are loaded and stored by the Vector API's own calls, never through small helpers of
 * ours taking or returning a vector: those are ordinary methods, which C2 may decline to inline
 * when it compiles a kernel's task inside a larger method (the core group's parallelFor inlines
 * the task it sees most), and a vector passed to a call that is not inlined is boxed. That
 * happened in about one JVM in eight at 256 bits: Softmax's final scaling allocated a vector per
 * row, for good ({@code SteadyStateAllocationTest}, 4.8 KB per execution against 0.6).
 */
final class RowVectors {
    static final VectorSpecies<Float> SPECIES = VectorShape.FLOAT;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private RowVectors() {}

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final int ROUND_MAGIC_BITS = Float.floatToRawIntBits(ROUND_MAGIC);
    /** ln 2 split so that n * LN2_HI is exact for the n that occur (Cody-Waite reduction). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /**
     * exp(r) ~ 1 + C1 r + ... + C5 r^5 on |r| <= ln2/2: a degree-5 fit minimising the relative
     * error with the constant term held at 1 (so exp(0) is exactly 1), 1.8e-7 relative in float32;
     * one FMA fewer than the degree-6 Taylor series at the same accuracy.
     */
    private static final float EXP_C1 = 0.9999997019767761f;
    private static final float EXP_C2 = 0.4999915063381195f;
    private static final float EXP_C3 = 0.1666763573884964f;
    private static final float EXP_C4 = 0.04189793020486832f;
    private static final float EXP_C5 = 0.008290313184261322f;
    /** Below this exp(x) is under the smallest normal float; the result is flushed to 0. */
    private static final float EXP_MIN = -87.33f;

    /**
     * dst[i] = exp(src[i] - shift) for i in [base, base + n), returning the sum; the arguments are
     * such that src[i] - shift <= 0 (softmax after subtracting the row max). Within 3e-7 relative:
     * x = k ln2 + r with |r| <= ln2/2, exp(r) by a degree-5 polynomial, 2^k built in the
     * exponent bits; NaN stays NaN, x below EXP_MIN gives 0. The polynomial is written inside the
     * loop on purpose: as a separate method taking a vector, C2 compiles it on its own and then
     * declines to inline it, and the vectors get boxed across the call (measured 4x slower).
     */
    static float expShifted(MemorySegment src, MemorySegment dst, long base, long n, float shift) {
        FloatVector vshift = FloatVector.broadcast(SPECIES, shift);
        FloatVector sum = FloatVector.zero(SPECIES);
        long i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, src, (base + i) * 4, LE).sub(vshift);
            VectorMask<Float> under = x.compare(VectorOperators.LT, EXP_MIN);
            FloatVector xc = x.blend(EXP_MIN, under);
            FloatVector t = xc.fma(LOG2E, ROUND_MAGIC);
            FloatVector k = t.sub(ROUND_MAGIC);
            FloatVector r = k.fma(FloatVector.broadcast(SPECIES, -LN2_HI), xc);
            r = k.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r);
            FloatVector p = r.fma(EXP_C5, EXP_C4);
            p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C3));
            p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C2));
            p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C1));
            p = p.fma(r, FloatVector.broadcast(SPECIES, 1f));
            FloatVector twoK = t.reinterpretAsInts().sub(ROUND_MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector e = p.mul(twoK).blend(0f, under);
            e.intoMemorySegment(dst, (base + i) * 4, LE);
            sum = sum.add(e);
        }
        float s = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(get(src, base + i) - shift);
            set(dst, base + i, e);
            s += e;
        }
        return s;
    }

    private static float get(MemorySegment s, long index) {
        return s.getAtIndex(Tensor.F32, index);
    }

    private static void set(MemorySegment s, long index, float v) {
        s.setAtIndex(Tensor.F32, index, v);
    }

    /**
     * Row max by compare-and-blend, about twice as fast here as {@code max()} (which pays for
     * Math.max's NaN rules). NaN lanes are skipped, which softmax tolerates: a NaN input still
     * makes exp(x - max), the sum and so the whole row NaN, as the reference does.
     */
    static float max(MemorySegment x, long base, long n) {
        FloatVector m0 = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        long i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE);
            FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, x, (base + i + LANES) * 4, LE);
            m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
            m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
        }
        for (; i + LANES <= n; i += LANES) {
            FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE);
            m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
        }
        m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
        float m = m0.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float v = get(x, base + i);
            if (v > m) {
                m = v;
            }
        }
        return m;
    }

    /**
     * Softmax (or LogSoftmax) of the contiguous row x[base, base + n) into y at the same offsets;
     * x and y may be the same memory.
     */
    static void softmaxRow(MemorySegment x, MemorySegment y, long base, long n, boolean log) {
        if (!log && n < LANES) {
            softmaxShortRow(x, y, base, (int) n);
            return;
        }
        float max = max(x, base, n);
        float sum = expShifted(x, y, base, n, max);
        if (log) {
            // y held exp(x - max) only as scratch; log-softmax is x - max - log(sum).
            float shift = max + (float) Math.log(sum);
            FloatVector vs = FloatVector.broadcast(SPECIES, shift);
            long j = 0;
            for (; j + LANES <= n; j += LANES) {
                FloatVector.fromMemorySegment(SPECIES, x, (base + j) * 4, LE).sub(vs).intoMemorySegment(y, (base + j) * 4, LE);
            }
            for (; j < n; j++) {
                set(y, base + j, get(x, base + j) - shift);
            }
        } else {
            scale(y, base, n, 1.0f / sum);
        }
    }

    /**
     * Softmax of a row shorter than one vector (a 10-class classifier) in one masked vector:
     * the general path would take every element through its scalar tail, a double Math.exp
     * each (measured ~6 us for 64 rows of 10, against well under 1 us here). Lanes past n load
     * as -inf, so they add exp(-inf) = 0 to the sum. Same polynomial as {@link #expShifted},
     * written out again for the reason given there.
     */
    private static void softmaxShortRow(MemorySegment x, MemorySegment y, long base, int n) {
        VectorMask<Float> live = SPECIES.indexInRange(0, n);
        FloatVector v = FloatVector.fromMemorySegment(SPECIES, x, base * 4, LE, live)
                .blend(Float.NEGATIVE_INFINITY, live.not());
        float max = v.reduceLanes(VectorOperators.MAX);
        FloatVector xs = v.sub(max);
        VectorMask<Float> under = xs.compare(VectorOperators.LT, EXP_MIN);
        FloatVector xc = xs.blend(EXP_MIN, under);
        FloatVector t = xc.fma(LOG2E, ROUND_MAGIC);
        FloatVector k = t.sub(ROUND_MAGIC);
        FloatVector r = k.fma(FloatVector.broadcast(SPECIES, -LN2_HI), xc);
        r = k.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r);
        FloatVector p = r.fma(EXP_C5, EXP_C4);
        p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C3));
        p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C2));
        p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_C1));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1f));
        FloatVector twoK = t.reinterpretAsInts().sub(ROUND_MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        FloatVector e = p.mul(twoK).blend(0f, under);
        float sum = e.reduceLanes(VectorOperators.ADD);
        e.mul(1.0f / sum).intoMemorySegment(y, base * 4, LE, live);
    }

    private static void scale(MemorySegment y, long base, long n, float factor) {
        FloatVector vf = FloatVector.broadcast(SPECIES, factor);
        long j = 0;
        for (; j + LANES <= n; j += LANES) {
            FloatVector.fromMemorySegment(SPECIES, y, (base + j) * 4, LE).mul(vf).intoMemorySegment(y, (base + j) * 4, LE);
        }
        for (; j < n; j++) {
            set(y, base + j, get(y, base + j) * factor);
        }
    }

    /**
     * Softmax along a strided axis of an [n, inner] block: lanes run across the contiguous inner
     * dimension. y first takes x minus its column max, then one contiguous exp pass over the block,
     * then each column is normalised by its sum.
     */
    static void softmaxColumns(MemorySegment x, MemorySegment y, long base, long n, long inner, boolean log) {
        long j = 0;
        for (; j + LANES <= inner; j += LANES) {
            FloatVector vmax = columnMax(x, base, n, inner, j);
            for (long k = 0; k < n; k++) {
                FloatVector.fromMemorySegment(SPECIES, x, (base + k * inner + j) * 4, LE).sub(vmax).intoMemorySegment(y, (base + k * inner + j) * 4, LE);
            }
        }
        for (; j < inner; j++) {
            float max = Float.NEGATIVE_INFINITY;
            for (long k = 0; k < n; k++) {
                max = Math.max(max, get(x, base + k * inner + j));
            }
            for (long k = 0; k < n; k++) {
                set(y, base + k * inner + j, get(x, base + k * inner + j) - max);
            }
        }
        expShifted(y, y, base, n * inner, 0f);
        j = 0;
        for (; j + LANES <= inner; j += LANES) {
            FloatVector sum = FloatVector.zero(SPECIES);
            for (long k = 0; k < n; k++) {
                sum = sum.add(FloatVector.fromMemorySegment(SPECIES, y, (base + k * inner + j) * 4, LE));
            }
            if (log) {
                FloatVector shift = columnMax(x, base, n, inner, j).add(sum.lanewise(VectorOperators.LOG));
                for (long k = 0; k < n; k++) {
                    FloatVector.fromMemorySegment(SPECIES, x, (base + k * inner + j) * 4, LE).sub(shift).intoMemorySegment(y, (base + k * inner + j) * 4, LE);
                }
            } else {
                FloatVector inv = FloatVector.broadcast(SPECIES, 1.0f).div(sum);
                for (long k = 0; k < n; k++) {
                    FloatVector.fromMemorySegment(SPECIES, y, (base + k * inner + j) * 4, LE).mul(inv).intoMemorySegment(y, (base + k * inner + j) * 4, LE);
                }
            }
        }
        for (; j < inner; j++) {
            float sum = 0;
            float max = Float.NEGATIVE_INFINITY;
            for (long k = 0; k < n; k++) {
                sum += get(y, base + k * inner + j);
                max = Math.max(max, get(x, base + k * inner + j));
            }
            float shift = max + (float) Math.log(sum);
            for (long k = 0; k < n; k++) {
                long at = base + k * inner + j;
                set(y, at, log ? get(x, at) - shift : get(y, at) / sum);
            }
        }
    }

    private static FloatVector columnMax(MemorySegment x, long base, long n, long inner, long j) {
        FloatVector vmax = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        for (long k = 0; k < n; k++) {
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, x, (base + k * inner + j) * 4, LE);
            vmax = vmax.blend(v, v.compare(VectorOperators.GT, vmax));
        }
        return vmax;
    }

    static float sum(MemorySegment x, long base, long n) {
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(SPECIES, x, (base + i + LANES) * 4, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(SPECIES, x, (base + i + 2 * LANES) * 4, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(SPECIES, x, (base + i + 3 * LANES) * 4, LE));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE));
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += get(x, base + i);
        }
        return s;
    }

    /** Sum of (x - shift)^2 over a row: the second pass of a two-pass variance (or RMS with shift 0). */
    static float sumSquares(MemorySegment x, long base, long n, float shift) {
        FloatVector vs = FloatVector.broadcast(SPECIES, shift);
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            FloatVector d0 = FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE).sub(vs);
            FloatVector d1 = FloatVector.fromMemorySegment(SPECIES, x, (base + i + LANES) * 4, LE).sub(vs);
            FloatVector d2 = FloatVector.fromMemorySegment(SPECIES, x, (base + i + 2 * LANES) * 4, LE).sub(vs);
            FloatVector d3 = FloatVector.fromMemorySegment(SPECIES, x, (base + i + 3 * LANES) * 4, LE).sub(vs);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
            a2 = d2.fma(d2, a2);
            a3 = d3.fma(d3, a3);
        }
        for (; i + LANES <= n; i += LANES) {
            FloatVector d0 = FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE).sub(vs);
            a0 = d0.fma(d0, a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = get(x, base + i) - shift;
            s += d * d;
        }
        return s;
    }

    /**
     * y[base + i] = (x[base + i] - mean) * inv * scale[i] + bias[i] over a row of n; bias may be
     * null (RMSNormalization has none).
     */
    static void normalizeRow(MemorySegment x, MemorySegment y, long base, long n, float mean, float inv,
                             MemorySegment scale, MemorySegment bias) {
        FloatVector vm = FloatVector.broadcast(SPECIES, mean);
        FloatVector vi = FloatVector.broadcast(SPECIES, inv);
        long i = 0;
        if (bias != null) {
            for (; i + LANES <= n; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE).sub(vm).mul(vi);
                v.fma(FloatVector.fromMemorySegment(SPECIES, scale, (i) * 4, LE), FloatVector.fromMemorySegment(SPECIES, bias, (i) * 4, LE)).intoMemorySegment(y, (base + i) * 4, LE);
            }
        } else {
            for (; i + LANES <= n; i += LANES) {
                FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE).sub(vm).mul(vi).mul(FloatVector.fromMemorySegment(SPECIES, scale, (i) * 4, LE)).intoMemorySegment(y, (base + i) * 4, LE);
            }
        }
        for (; i < n; i++) {
            float v = (get(x, base + i) - mean) * inv * get(scale, i);
            set(y, base + i, bias != null ? v + get(bias, i) : v);
        }
    }

    /** y = x * a + b over a contiguous block (BatchNorm / InstanceNorm with per-channel a, b). */
    static void affine(MemorySegment x, MemorySegment y, long base, long n, float a, float b) {
        FloatVector va = FloatVector.broadcast(SPECIES, a);
        FloatVector vb = FloatVector.broadcast(SPECIES, b);
        long i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromMemorySegment(SPECIES, x, (base + i) * 4, LE).fma(va, vb).intoMemorySegment(y, (base + i) * 4, LE);
        }
        for (; i < n; i++) {
            set(y, base + i, get(x, base + i) * a + b);
        }
    }
}
