package io.vnrt.runtime.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The indexed planner places exactly as the plain scan over every placed buffer does, and never overlaps. */
class MemoryPlannerTest {
  /** The reference: for each buffer, largest first, scan every buffer placed so far. */
  private static long[] reference(List<MemoryPlanner.Buffer> buffers, long[] total) {
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
      MemoryPlanner.Buffer b = buffers.get(idx);
      if (b.size() == 0) {
        continue;
      }
      long size = MemoryPlanner.align(b.size());
      List<long[]> busy = new ArrayList<>();
      for (int p : placed) {
        MemoryPlanner.Buffer o = buffers.get(p);
        if (o.first() <= b.last() && b.first() <= o.last()) {
          busy.add(new long[] {offsets[p], offsets[p] + MemoryPlanner.align(o.size())});
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

  @Test
  void placesAsTheFullScanDoesOnRandomLifetimes() {
    Random random = new Random(15);
    for (int round = 0; round < 200; round++) {
      int steps = 1 + random.nextInt(60);
      int n = random.nextInt(80);
      List<MemoryPlanner.Buffer> buffers = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int first = random.nextInt(steps);
        int last = first + random.nextInt(Math.max(1, random.nextBoolean() ? 3 : steps - first));
        buffers.add(new MemoryPlanner.Buffer(random.nextInt(5) == 0 ? 0 : 1 + random.nextInt(4096), first,
            Math.min(last, steps - 1)));
      }
      long[] wantTotal = new long[1];
      long[] gotTotal = new long[1];
      long[] want = reference(buffers, wantTotal);
      long[] got = MemoryPlanner.place(buffers, gotTotal);
      assertArrayEquals(want, got, "round " + round);
      assertEquals(wantTotal[0], gotTotal[0]);
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          MemoryPlanner.Buffer a = buffers.get(i);
          MemoryPlanner.Buffer b = buffers.get(j);
          boolean together = a.first() <= b.last() && b.first() <= a.last() && a.size() > 0 && b.size() > 0;
          boolean apart = got[i] + a.size() <= got[j] || got[j] + b.size() <= got[i];
          assertEquals(true, !together || apart, "buffers " + i + " and " + j + " overlap in round " + round);
        }
      }
    }
  }
}
