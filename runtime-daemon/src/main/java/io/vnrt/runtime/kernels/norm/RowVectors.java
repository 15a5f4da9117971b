package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * float32 row kernels of the Softmax and LayerNorm families over MemorySegments, element offsets
 * in {@code long}. Each row takes one reduceLanes per pass with several independent accumulators;
 * exp is the Vector API's lanewise EXP (measured here within 1e-7 relative of Math.exp).
 */
final class RowVectors {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_512;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private RowVectors() {}

    private static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(SPECIES, s, index * 4, LE);
    }

    private static void store(FloatVector v, MemorySegment s, long index) {
        v.intoMemorySegment(s, index * 4, LE);
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
            FloatVector v0 = load(x, base + i);
            FloatVector v1 = load(x, base + i + LANES);
            m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
            m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
        }
        for (; i + LANES <= n; i += LANES) {
            FloatVector v0 = load(x, base + i);
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

    /** Softmax (or LogSoftmax) of the contiguous row x[base, base + n) into y at the same offsets. */
    static void softmaxRow(MemorySegment x, MemorySegment y, long base, long n, boolean log) {
        float max = max(x, base, n);
        FloatVector vmax = FloatVector.broadcast(SPECIES, max);
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        long i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            FloatVector e0 = load(x, base + i).sub(vmax).lanewise(VectorOperators.EXP);
            FloatVector e1 = load(x, base + i + LANES).sub(vmax).lanewise(VectorOperators.EXP);
            if (!log) {
                store(e0, y, base + i);
                store(e1, y, base + i + LANES);
            }
            s0 = s0.add(e0);
            s1 = s1.add(e1);
        }
        for (; i + LANES <= n; i += LANES) {
            FloatVector e0 = load(x, base + i).sub(vmax).lanewise(VectorOperators.EXP);
            if (!log) {
                store(e0, y, base + i);
            }
            s0 = s0.add(e0);
        }
        float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(get(x, base + i) - max);
            if (!log) {
                set(y, base + i, e);
            }
            sum += e;
        }
        if (log) {
            float shift = max + (float) Math.log(sum);
            FloatVector vs = FloatVector.broadcast(SPECIES, shift);
            long j = 0;
            for (; j + LANES <= n; j += LANES) {
                store(load(x, base + j).sub(vs), y, base + j);
            }
            for (; j < n; j++) {
                set(y, base + j, get(x, base + j) - shift);
            }
        } else {
            float inv = 1.0f / sum;
            FloatVector vi = FloatVector.broadcast(SPECIES, inv);
            long j = 0;
            for (; j + LANES <= n; j += LANES) {
                store(load(y, base + j).mul(vi), y, base + j);
            }
            for (; j < n; j++) {
                set(y, base + j, get(y, base + j) * inv);
            }
        }
    }

    /** Softmax along a strided axis: lanes run across the contiguous inner dimension. */
    static void softmaxColumns(MemorySegment x, MemorySegment y, long base, long n, long inner, boolean log) {
        long j = 0;
        for (; j + LANES <= inner; j += LANES) {
            FloatVector vmax = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
            for (long k = 0; k < n; k++) {
                vmax = vmax.max(load(x, base + k * inner + j));
            }
            FloatVector sum = FloatVector.zero(SPECIES);
            for (long k = 0; k < n; k++) {
                FloatVector e = load(x, base + k * inner + j).sub(vmax).lanewise(VectorOperators.EXP);
                if (!log) {
                    store(e, y, base + k * inner + j);
                }
                sum = sum.add(e);
            }
            if (log) {
                FloatVector shift = vmax.add(sum.lanewise(VectorOperators.LOG));
                for (long k = 0; k < n; k++) {
                    store(load(x, base + k * inner + j).sub(shift), y, base + k * inner + j);
                }
            } else {
                FloatVector inv = FloatVector.broadcast(SPECIES, 1.0f).div(sum);
                for (long k = 0; k < n; k++) {
                    store(load(y, base + k * inner + j).mul(inv), y, base + k * inner + j);
                }
            }
        }
        for (; j < inner; j++) {
            float max = Float.NEGATIVE_INFINITY;
            for (long k = 0; k < n; k++) {
                max = Math.max(max, get(x, base + k * inner + j));
            }
            float sum = 0;
            for (long k = 0; k < n; k++) {
                float e = (float) Math.exp(get(x, base + k * inner + j) - max);
                if (!log) {
                    set(y, base + k * inner + j, e);
                }
                sum += e;
            }
            float shift = max + (float) Math.log(sum);
            for (long k = 0; k < n; k++) {
                long at = base + k * inner + j;
                set(y, at, log ? get(x, at) - shift : get(y, at) / sum);
            }
        }
    }

    static float sum(MemorySegment x, long base, long n) {
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            a0 = a0.add(load(x, base + i));
            a1 = a1.add(load(x, base + i + LANES));
            a2 = a2.add(load(x, base + i + 2 * LANES));
            a3 = a3.add(load(x, base + i + 3 * LANES));
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = a0.add(load(x, base + i));
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
            FloatVector d0 = load(x, base + i).sub(vs);
            FloatVector d1 = load(x, base + i + LANES).sub(vs);
            FloatVector d2 = load(x, base + i + 2 * LANES).sub(vs);
            FloatVector d3 = load(x, base + i + 3 * LANES).sub(vs);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
            a2 = d2.fma(d2, a2);
            a3 = d3.fma(d3, a3);
        }
        for (; i + LANES <= n; i += LANES) {
            FloatVector d0 = load(x, base + i).sub(vs);
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
                FloatVector v = load(x, base + i).sub(vm).mul(vi);
                store(v.fma(load(scale, i), load(bias, i)), y, base + i);
            }
        } else {
            for (; i + LANES <= n; i += LANES) {
                store(load(x, base + i).sub(vm).mul(vi).mul(load(scale, i)), y, base + i);
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
            store(load(x, base + i).fma(va, vb), y, base + i);
        }
        for (; i < n; i++) {
            set(y, base + i, get(x, base + i) * a + b);
        }
    }
}
