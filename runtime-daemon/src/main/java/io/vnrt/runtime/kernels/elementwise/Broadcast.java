package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Shapes;
import java.util.ArrayList;
import java.util.List;

/**
 * How several inputs are read along a broadcast output, reduced to the fewest dimensions: size-1
 * dimensions are dropped and neighbours that every input walks contiguously (or not at all) are
 * merged. Same-shape operands become one run, a scalar operand a run with stride 0, a bias add
 * (b's shape a suffix of a's) rows of a contiguous a against the same b. The innermost dimension
 * is contiguous or repeated (stride 1 or 0) for every input, so row bodies can use vector loops.
 */
final class Broadcast {
    /** Element-ops per task below which a parallel hand-off costs more than it saves. */
    static final long WORK_PER_TASK = 1L << 16;

    private final long total;
    private final long[] dims;
    private final long[][] strides;
    private final boolean[] repeated;

    /** The body of a run: input k starts at element {@code in[k]} (and stays there if repeated). */
    @FunctionalInterface
    interface Row {
        void run(long[] in, long out, long n);
    }

    Broadcast(long[] outShape, long[]... inShapes) {
        this.total = Shapes.elementCount(outShape);
        int k = inShapes.length;
        long[][] full = new long[k][];
        for (int j = 0; j < k; j++) {
            full[j] = Shapes.broadcastStrides(inShapes[j], outShape);
        }
        List<Long> d = new ArrayList<>();
        List<long[]> s = new ArrayList<>();
        for (int i = 0; i < outShape.length; i++) {
            if (outShape[i] == 1) {
                continue;
            }
            long[] col = new long[k];
            for (int j = 0; j < k; j++) {
                col[j] = full[j][i];
            }
            if (!d.isEmpty()) {
                long inner = outShape[i];
                long[] prev = s.getLast();
                boolean merge = true;
                for (int j = 0; j < k; j++) {
                    merge &= prev[j] == col[j] * inner;
                }
                if (merge) {
                    d.set(d.size() - 1, d.getLast() * inner);
                    s.set(s.size() - 1, col);
                    continue;
                }
            }
            d.add(outShape[i]);
            s.add(col);
        }
        if (d.isEmpty()) {
            d.add(1L);
            s.add(new long[k]);
        }
        int r = d.size();
        dims = new long[r];
        strides = new long[k][r];
        for (int i = 0; i < r; i++) {
            dims[i] = d.get(i);
            for (int j = 0; j < k; j++) {
                strides[j][i] = s.get(i)[j];
            }
        }
        repeated = new boolean[k];
        for (int j = 0; j < k; j++) {
            repeated[j] = strides[j][r - 1] == 0;
        }
    }

    long total() {
        return total;
    }

    /** Whether input k's innermost run repeats one element (stride 0). */
    boolean repeated(int k) {
        return repeated[k];
    }

    /** Runs the rows covering output elements [start, end). */
    void forRange(long start, long end, Row row) {
        if (start >= end) {
            return;
        }
        int r = dims.length;
        int k = strides.length;
        long[] idx = new long[r];
        long[] off = new long[k];
        long rem = start;
        for (int i = r - 1; i >= 0; i--) {
            idx[i] = rem % dims[i];
            rem /= dims[i];
            for (int j = 0; j < k; j++) {
                off[j] += idx[i] * strides[j][i];
            }
        }
        long inner = dims[r - 1];
        long pos = start;
        while (pos < end) {
            long n = Math.min(inner - idx[r - 1], end - pos);
            row.run(off, pos, n);
            pos += n;
            idx[r - 1] += n;
            for (int j = 0; j < k; j++) {
                off[j] += n * strides[j][r - 1];
            }
            if (idx[r - 1] == inner) {
                for (int j = 0; j < k; j++) {
                    off[j] -= inner * strides[j][r - 1];
                }
                idx[r - 1] = 0;
                for (int i = r - 2; i >= 0; i--) {
                    idx[i]++;
                    for (int j = 0; j < k; j++) {
                        off[j] += strides[j][i];
                    }
                    if (idx[i] < dims[i]) {
                        break;
                    }
                    for (int j = 0; j < k; j++) {
                        off[j] -= dims[i] * strides[j][i];
                    }
                    idx[i] = 0;
                }
            }
        }
    }

    /** Runs every row, split over the core group when {@code total * cost} is worth it. */
    void run(ExecContext ctx, int cost, Row row) {
        int tasks = tasks(total * cost, ctx.parallelism());
        if (tasks == 1) {
            forRange(0, total, row);
            return;
        }
        long chunk = chunk(total, tasks);
        ctx.parallelFor(tasks, t -> forRange(Math.min(total, t * chunk), Math.min(total, (t + 1) * chunk), row));
    }

    static int tasks(long work, int parallelism) {
        if (parallelism <= 1 || work < 2 * WORK_PER_TASK) {
            return 1;
        }
        return (int) Math.min(parallelism, work / WORK_PER_TASK);
    }

    /** Elements per task, a multiple of the vector length so only the last task has a tail. */
    static long chunk(long total, int tasks) {
        long c = (total + tasks - 1) / tasks;
        return (c + FloatLoops.L - 1) / FloatLoops.L * FloatLoops.L;
    }
}
