package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A compiled copy of an N-D strided view into another N-D strided view, element size agnostic.
 * Transpose, Slice, Expand, Tile, Concat, Split and DepthToSpace are all this with different
 * strides. Dimensions are merged where both sides are contiguous so most copies become a few long
 * {@link MemorySegment#copy} runs; a 2-D transpose pattern is copied in cache-sized tiles.
 */
final class StridedCopy {
    /** Elements per task below which a hand-off to another core costs more than it saves. */
    static final long MIN_ELEMENTS_PER_TASK = 64 * 1024;
    /** A strided or tiled element's cost in bulk-copied elements, for splitting work over cores. */
    private static final int ELEMENT_COST = 4;
    private static final int TILE = 16;
    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    /** Vectors per tile row (16 / lanes: 1 at 512 bits, 4 at 128). */
    private static final int ROW_VECTORS = TILE / S.length();
    /**
     * Whether gathers compile to SIMD instructions: on x86 with AVX2 or AVX-512. Elsewhere (NEON)
     * the Vector API would run its boxed fallback, so tiles are transposed by scalar copies there.
     */
    private static final boolean GATHER = VectorShape.useAvx() >= 2 && TILE % S.length() == 0;
    /** Lane i of a tile column gather at map offset m reads tile[k + 16 (m + i)]. */
    private static final int[] COLUMN = new int[TILE];

    static {
        for (int i = 0; i < TILE; i++) {
            COLUMN[i] = i * TILE;
        }
    }

    private static final ValueLayout.OfByte B1 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort B2 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt B4 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong B8 = ValueLayout.JAVA_LONG_UNALIGNED;

    private enum Kind { EMPTY, RUNS, TILED, ELEMENTS }

    private final int elemSize;
    private final long[] dims;
    private final long[] srcStrides;
    private final long[] dstStrides;
    private final long total;
    private final Kind kind;
    /** For TILED: the dimension whose source stride is one element (the other tile side is the last). */
    private final int tileDim;
    /** Outer work units: products of the dims not handled by the inner loop (TILED: times tile rows). */
    private final long units;

    private StridedCopy(int elemSize, long[] dims, long[] srcStrides, long[] dstStrides, long total) {
        this.elemSize = elemSize;
        this.dims = dims;
        this.srcStrides = srcStrides;
        this.dstStrides = dstStrides;
        this.total = total;
        int last = dims.length - 1;
        if (total == 0) {
            kind = Kind.EMPTY;
            tileDim = -1;
            units = 0;
        } else if (srcStrides[last] == elemSize && dstStrides[last] == elemSize) {
            kind = Kind.RUNS;
            tileDim = -1;
            units = total / dims[last];
        } else {
            int k = -1;
            if (dstStrides[last] == elemSize && dims[last] >= 4) {
                for (int d = 0; d < last; d++) {
                    if (srcStrides[d] == elemSize && dims[d] >= 4) {
                        k = d;
                    }
                }
            }
            tileDim = k;
            if (k >= 0) {
                kind = Kind.TILED;
                long blocks = (dims[k] + TILE - 1) / TILE;
                units = total / dims[last] / dims[k] * blocks;
            } else {
                kind = Kind.ELEMENTS;
                units = total / dims[last];
            }
        }
    }

    /**
     * Plans a copy of a view of {@code shape} whose element (i0, i1, ...) is at source offset
     * sum(i_d * srcStrides[d]) and destination offset sum(i_d * dstStrides[d]), strides in elements
     * (may be zero or negative).
     */
    static StridedCopy of(long[] shape, long[] srcStrides, long[] dstStrides, int elemSize) {
        long total = 1;
        for (long d : shape) {
            total *= d;
        }
        int n = 0;
        long[] d = new long[shape.length];
        long[] s = new long[shape.length];
        long[] t = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) {
                continue;
            }
            long ss = srcStrides[i] * elemSize;
            long ds = dstStrides[i] * elemSize;
            // Merge into the previous dimension when that one steps exactly over this whole extent
            // on both sides: then the pair walks memory like a single longer dimension.
            if (n > 0 && s[n - 1] == ss * shape[i] && t[n - 1] == ds * shape[i]) {
                d[n - 1] *= shape[i];
                s[n - 1] = ss;
                t[n - 1] = ds;
            } else {
                d[n] = shape[i];
                s[n] = ss;
                t[n] = ds;
                n++;
            }
        }
        if (n == 0) {
            return new StridedCopy(elemSize, new long[] {total == 0 ? 0 : 1},
                    new long[] {elemSize}, new long[] {elemSize}, total);
        }
        return new StridedCopy(elemSize, java.util.Arrays.copyOf(d, n), java.util.Arrays.copyOf(s, n),
                java.util.Arrays.copyOf(t, n), total);
    }

    long elementCount() {
        return total;
    }

    /** Runs the copy; src and dst offsets (bytes) locate the view's origin. */
    void run(MemorySegment src, long srcBase, MemorySegment dst, long dstBase, ExecContext ctx) {
        if (kind == Kind.EMPTY) {
            return;
        }
        // an element-by-element or tiled copy costs a few times a bulk copy's per element: split sooner
        int tasks = tasksFor(kind == Kind.RUNS ? total : total * ELEMENT_COST, units, ctx);
        if (tasks <= 1) {
            runUnits(src, srcBase, dst, dstBase, 0, units);
        } else {
            ctx.parallelFor(tasks, t -> runUnits(src, srcBase, dst, dstBase,
                    units * t / tasks, units * (t + 1) / tasks));
        }
    }

    /** How many tasks a job of {@code work} element-operations over {@code units} outer units gets. */
    static int tasksFor(long work, long units, ExecContext ctx) {
        if (ctx == null || ctx.parallelism() <= 1) {
            return 1;
        }
        long byWork = work / MIN_ELEMENTS_PER_TASK;
        return (int) Math.max(1, Math.min(Math.min(byWork, units), ctx.parallelism()));
    }

    private void runUnits(MemorySegment src, long srcBase, MemorySegment dst, long dstBase, long from, long to) {
        if (from >= to) {
            return;
        }
        int last = dims.length - 1;
        // The outer dimensions are walked as an odometer; for TILED the tile dimension's blocks are
        // the innermost odometer digit.
        int outerRank = last;
        long[] extent = new long[outerRank];
        long[] sStep = new long[outerRank];
        long[] dStep = new long[outerRank];
        for (int i = 0, j = 0; i < last; i++) {
            if (kind == Kind.TILED && i == tileDim) {
                continue;
            }
            extent[j] = dims[i];
            sStep[j] = srcStrides[i];
            dStep[j] = dstStrides[i];
            j++;
        }
        if (kind == Kind.TILED) {
            extent[outerRank - 1] = (dims[tileDim] + TILE - 1) / TILE;
            sStep[outerRank - 1] = srcStrides[tileDim] * TILE;
            dStep[outerRank - 1] = dstStrides[tileDim] * TILE;
        }
        long[] idx = new long[outerRank];
        long rem = from;
        long so = srcBase;
        long dof = dstBase;
        for (int j = outerRank - 1; j >= 0; j--) {
            idx[j] = rem % extent[j];
            rem /= extent[j];
            so += idx[j] * sStep[j];
            dof += idx[j] * dStep[j];
        }
        long n = dims[last];
        long ss = srcStrides[last];
        long ds = dstStrides[last];
        // Scratch for the vectorised tile transpose: 1 KiB, whatever the tensor size.
        float[] tile = GATHER && kind == Kind.TILED && elemSize == 4 ? new float[TILE * TILE] : null;
        for (long u = from; u < to; u++) {
            switch (kind) {
                case RUNS -> {
                    // A bulk copy call costs more than a few element moves.
                    if (n <= 4) {
                        copyStrided(src, so, elemSize, dst, dof, elemSize, n, elemSize);
                    } else {
                        MemorySegment.copy(src, so, dst, dof, n * elemSize);
                    }
                }
                case ELEMENTS -> copyStrided(src, so, ss, dst, dof, ds, n, elemSize);
                case TILED -> {
                    long k0 = idx[outerRank - 1] * TILE;
                    long kn = Math.min(TILE, dims[tileDim] - k0);
                    copyTile(src, so, dst, dof, kn, n, ss, dstStrides[tileDim], tile);
                }
                default -> throw new IllegalStateException();
            }
            for (int j = outerRank - 1; j >= 0; j--) {
                if (++idx[j] < extent[j]) {
                    so += sStep[j];
                    dof += dStep[j];
                    break;
                }
                so -= (extent[j] - 1) * sStep[j];
                dof -= (extent[j] - 1) * dStep[j];
                idx[j] = 0;
            }
        }
    }

    /**
     * Copies a kn x n block where the source walks the kn side contiguously (stride elemSize) and
     * the n side with stride srcRowStride, and the destination the other way round; done in
     * TILE x TILE squares so both sides stay in cache.
     */
    private void copyTile(MemorySegment src, long so, MemorySegment dst, long dof, long kn, long n,
            long srcRowStride, long dstKStride, float[] tile) {
        for (long j0 = 0; j0 < n; j0 += TILE) {
            long jn = Math.min(TILE, n - j0);
            if (tile != null && kn == TILE && jn == TILE) {
                // Full 16 x 16 tile of 4-byte elements: contiguous vector loads of its rows into a heap
                // tile, then column gathers (one instruction each) stored as contiguous rows.
                for (int j = 0; j < TILE; j++) {
                    for (int h = 0; h < ROW_VECTORS; h++) {
                        int at = h * S.length();
                        FloatVector.fromMemorySegment(S, src, so + (j0 + j) * srcRowStride + at * 4L, ByteOrder.LITTLE_ENDIAN)
                                .intoArray(tile, j * TILE + at);
                    }
                }
                for (int k = 0; k < TILE; k++) {
                    for (int h = 0; h < ROW_VECTORS; h++) {
                        int at = h * S.length();
                        FloatVector.fromArray(S, tile, k, COLUMN, at)
                                .intoMemorySegment(dst, dof + k * dstKStride + (j0 + at) * 4, ByteOrder.LITTLE_ENDIAN);
                    }
                }
                continue;
            }
            for (long k = 0; k < kn; k++) {
                copyStrided(src, so + k * elemSize + j0 * srcRowStride, srcRowStride,
                        dst, dof + k * dstKStride + j0 * elemSize, elemSize, jn, elemSize);
            }
        }
    }

    /** Copies n elements with the given byte strides on each side. */
    static void copyStrided(MemorySegment src, long so, long ss, MemorySegment dst, long dof, long ds,
            long n, int elemSize) {
        switch (elemSize) {
            case 4 -> {
                for (long i = 0; i < n; i++) {
                    dst.set(B4, dof + i * ds, src.get(B4, so + i * ss));
                }
            }
            case 8 -> {
                for (long i = 0; i < n; i++) {
                    dst.set(B8, dof + i * ds, src.get(B8, so + i * ss));
                }
            }
            case 2 -> {
                for (long i = 0; i < n; i++) {
                    dst.set(B2, dof + i * ds, src.get(B2, so + i * ss));
                }
            }
            case 1 -> {
                for (long i = 0; i < n; i++) {
                    dst.set(B1, dof + i * ds, src.get(B1, so + i * ss));
                }
            }
            default -> {
                for (long i = 0; i < n; i++) {
                    MemorySegment.copy(src, so + i * ss, dst, dof + i * ds, elemSize);
                }
            }
        }
    }

    /** Copies one element of elemSize bytes. */
    static void copyElement(MemorySegment src, long so, MemorySegment dst, long dof, int elemSize) {
        switch (elemSize) {
            case 4 -> dst.set(B4, dof, src.get(B4, so));
            case 8 -> dst.set(B8, dof, src.get(B8, so));
            case 2 -> dst.set(B2, dof, src.get(B2, so));
            case 1 -> dst.set(B1, dof, src.get(B1, so));
            default -> MemorySegment.copy(src, so, dst, dof, elemSize);
        }
    }

    /** Writes count copies of the elemSize-byte pattern {@code bits} (little-endian) from offset. */
    static void fill(MemorySegment dst, long off, long count, int elemSize, long bits) {
        if (bits == 0) {
            dst.asSlice(off, count * elemSize).fill((byte) 0);
            return;
        }
        switch (elemSize) {
            case 4 -> {
                int v = (int) bits;
                for (long i = 0; i < count; i++) {
                    dst.set(B4, off + 4 * i, v);
                }
            }
            case 8 -> {
                for (long i = 0; i < count; i++) {
                    dst.set(B8, off + 8 * i, bits);
                }
            }
            case 2 -> {
                short v = (short) bits;
                for (long i = 0; i < count; i++) {
                    dst.set(B2, off + 2 * i, v);
                }
            }
            default -> dst.asSlice(off, count).fill((byte) bits);
        }
    }

    /** The raw little-endian bits of element i of a segment, for use with {@link #fill}. */
    static long bitsOf(MemorySegment seg, long index, int elemSize) {
        long off = index * elemSize;
        return switch (elemSize) {
            case 4 -> seg.get(B4, off) & 0xFFFFFFFFL;
            case 8 -> seg.get(B8, off);
            case 2 -> seg.get(B2, off) & 0xFFFFL;
            case 1 -> seg.get(B1, off) & 0xFFL;
            default -> throw new IllegalArgumentException("element size " + elemSize);
        };
    }
}
