package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optimizer's fusion of {@code Add(A, B) -> LayerNormalization(sum, Scale[, B])} (a
 * transformer's residual connection and the norm after it), op {@code AddLayerNormalization} of
 * the engine's own domain: inputs A, B, Scale, Bias; LayerNormalization's attributes. Each row's
 * sum is written to Y and normalised there while it is in cache, instead of a separate pass of
 * the Add over memory; the sum is the Add's (one float addition per element) and the norm is
 * {@link LayerNorm}'s own code, so Y equals the unfused pair's bit for bit.
 *
 * <p>A and B may broadcast as Add's operands do. The fast path takes float32 operands that repeat
 * whole rows (the full shape, or a trailing part of it such as position embeddings {@code [S, H]}
 * added to {@code [1, S, H]}); any other broadcast is summed element by element first.
 */
final class AddLayerNorm implements Kernel {
    /** The operator's name in {@link io.vnrt.runtime.kernels.OpRegistry#VNRT_DOMAIN}. */
    static final String OP = "AddLayerNormalization";

    private static final VectorSpecies<Float> F = RowVectors.SPECIES;
    private static final int LANES = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final LayerNorm norm;
    private final TensorType out;
    private final long rows;
    private final long n;
    /** Elements of A and B when each repeats whole rows of the sum (fast path), else 0. */
    private final long periodA;
    private final long periodB;
    private final long[] stridesA;
    private final long[] stridesB;

    private AddLayerNorm(LayerNorm norm, TensorType out, long periodA, long periodB, long[] stridesA, long[] stridesB) {
        this.norm = norm;
        this.out = out;
        this.n = norm.rowLength();
        this.rows = n == 0 ? 0 : out.elementCount() / n;
        this.periodA = periodA;
        this.periodB = periodB;
        this.stridesA = stridesA;
        this.stridesB = stridesB;
    }

    static Kernel create(NodeContext node) {
        TensorType a = node.inputType(0);
        TensorType b = node.inputType(1);
        if (a.dtype() != b.dtype()) {
            throw node.error("the residual Add's operands are " + a + " and " + b + "; Add needs one type");
        }
        long[] shape;
        try {
            shape = Shapes.broadcast(a.shape(), b.shape());
        } catch (IllegalArgumentException e) {
            throw node.error("the residual Add's operands: " + e.getMessage());
        }
        TensorType sum = new TensorType(a.dtype(), shape);
        LayerNorm norm = LayerNorm.create(node, false, sum, 2);
        long n = norm.rowLength();
        boolean fast = norm.fast() && a.dtype() == DType.FLOAT32;
        long pa = fast ? rowPeriod(a.shape(), shape, n) : 0;
        long pb = fast ? rowPeriod(b.shape(), shape, n) : 0;
        if (pa == 0 || pb == 0) {
            pa = 0;
            pb = 0;
        }
        return new AddLayerNorm(norm, sum, pa, pb, Shapes.broadcastStrides(a.shape(), shape),
                Shapes.broadcastStrides(b.shape(), shape));
    }

    /**
     * The element count of an operand that is a trailing part of the sum's shape (leading 1s
     * aside) and a whole number of rows of {@code n}: element i of the sum reads element
     * {@code i % count}. Zero for any other broadcast.
     */
    private static long rowPeriod(long[] operand, long[] shape, long n) {
        int lead = 0;
        while (lead < operand.length && operand[lead] == 1) {
            lead++;
        }
        long[] trimmed = Arrays.copyOfRange(operand, lead, operand.length);
        long[] suffix = Arrays.copyOfRange(shape, shape.length - trimmed.length, shape.length);
        long count = Shapes.elementCount(trimmed);
        return Arrays.equals(trimmed, suffix) && n > 0 && count > 0 && count % n == 0 ? count : 0;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
        Tensor a = in[0];
        Tensor b = in[1];
        Tensor scale = in[2];
        Tensor bias = in.length > 3 ? in[3] : null;
        Tensor y = outs[0];
        if (rows == 0) {
            return;
        }
        int tasks = Split.tasks(out.elementCount() * 4, rows, ctx.parallelism());
        if (periodA == 0) {
            addBroadcast(a, b, y);
            ctx.parallelFor(tasks, t -> norm.rows(y, scale, bias, y, Split.start(rows, tasks, t), Split.start(rows, tasks, t + 1)));
            return;
        }
        ctx.parallelFor(tasks, t -> {
            long to = Split.start(rows, tasks, t + 1);
            for (long r = Split.start(rows, tasks, t); r < to; r++) {
                long base = r * n;
                addRow(a.data(), base % periodA, b.data(), base % periodB, y.data(), base, n);
                norm.rows(y, scale, bias, y, r, r + 1);
            }
        });
    }

    private static void addRow(MemorySegment a, long ai, MemorySegment b, long bi, MemorySegment y, long yi, long n) {
        long i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromMemorySegment(F, a, (ai + i) * 4, LE).add(FloatVector.fromMemorySegment(F, b, (bi + i) * 4, LE))
                    .intoMemorySegment(y, (yi + i) * 4, LE);
        }
        for (; i < n; i++) {
            y.setAtIndex(Tensor.F32, yi + i, a.getAtIndex(Tensor.F32, ai + i) + b.getAtIndex(Tensor.F32, bi + i));
        }
    }

    /** Any broadcast and any float type: the sum element by element, rounded to the type as Add rounds it. */
    private void addBroadcast(Tensor a, Tensor b, Tensor y) {
        long[] shape = out.shape();
        long[] idx = new long[shape.length];
        long ia = 0;
        long ib = 0;
        long total = out.elementCount();
        for (long e = 0; e < total; e++) {
            y.setDouble(e, a.getDouble(ia) + b.getDouble(ib));
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    ia += stridesA[d];
                    ib += stridesB[d];
                    break;
                }
                ia -= (shape[d] - 1) * stridesA[d];
                ib -= (shape[d] - 1) * stridesB[d];
                idx[d] = 0;
            }
        }
    }
}
