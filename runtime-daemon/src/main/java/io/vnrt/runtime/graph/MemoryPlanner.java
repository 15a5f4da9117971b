package io.vnrt.runtime.graph;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Places buffers with known lifetimes (first and last step that touch them) in one block, reusing
 * space between buffers whose lifetimes do not overlap: largest first, each at the best-fitting
 * gap among the buffers already placed that live at the same time.
 */
public final class MemoryPlanner {
    /** Every buffer starts on a 64-byte boundary (a cache line, and a full AVX-512 vector). */
    public static final long ALIGNMENT = 64;

    /** A buffer to place: size in bytes, live during steps [first, last]. */
    public record Buffer(long size, int first, int last) {}

    private MemoryPlanner() {}

    /** Offsets for {@code buffers} (same order); the block size is returned in {@code total[0]}. */
    public static long[] place(List<Buffer> buffers, long[] total) {
        int n = buffers.size();
        long[] offsets = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingLong((Integer i) -> -buffers.get(i).size()).thenComparingInt(i -> i));
        List<Integer> placed = new ArrayList<>();
        long end = 0;
        for (int idx : order) {
            Buffer b = buffers.get(idx);
            if (b.size() == 0) {
                offsets[idx] = 0;
                continue;
            }
            long size = align(b.size());
            List<long[]> busy = new ArrayList<>();
            for (int p : placed) {
                Buffer o = buffers.get(p);
                if (o.first() <= b.last() && b.first() <= o.last()) {
                    busy.add(new long[] {offsets[p], offsets[p] + align(o.size())});
                }
            }
            busy.sort(Comparator.comparingLong(r -> r[0]));
            long best = -1;
            long bestGap = Long.MAX_VALUE;
            long cursor = 0;
            for (long[] r : busy) {
                long gap = r[0] - cursor;
                if (gap >= size && gap < bestGap) {
                    best = cursor;
                    bestGap = gap;
                }
                cursor = Math.max(cursor, r[1]);
            }
            offsets[idx] = best >= 0 ? best : cursor;
            placed.add(idx);
            end = Math.max(end, offsets[idx] + size);
        }
        total[0] = end;
        return offsets;
    }

    static long align(long v) {
        return (v + ALIGNMENT - 1) & -ALIGNMENT;
    }
}
