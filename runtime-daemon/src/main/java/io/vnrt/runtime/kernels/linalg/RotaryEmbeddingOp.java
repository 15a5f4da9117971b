package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpException;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * ONNX RotaryEmbedding (opset 23): rotates the first {@code rotary_embedding_dim} elements of each
 * head (all of them by default) by the angles whose cosines and sines the caches hold, pairing
 * element k with k + dim/2 (or, {@code interleaved}, 2k with 2k+1). Input is 4-D
 * [batch, heads, seq, head_size] or 3-D [batch, seq, heads·head_size] with {@code num_heads}; the
 * caches are [max_position, dim/2] indexed by {@code position_ids} [batch, seq], or
 * [batch, seq, dim/2] without them. float32 rows run as vectors; other float types in double.
 */
final class RotaryEmbeddingOp implements Kernel {
    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Elements below which a split over the core group costs more than it saves. */
    private static final long MIN_PARALLEL_ELEMENTS = 1 << 15;

    private final TensorType type;
    private final int batch;
    private final int heads;
    private final int seq;
    private final int headSize;
    private final int half;
    private final boolean threeD;
    private final boolean interleaved;
    private final boolean positions;
    private final long maxPosition;

    private RotaryEmbeddingOp(TensorType type, int heads, int headSize, int rotary, boolean threeD, boolean interleaved,
            boolean positions, long maxPosition) {
        long[] x = type.shape();
        this.type = type;
        this.batch = (int) x[0];
        this.seq = (int) (threeD ? x[1] : x[2]);
        this.heads = heads;
        this.headSize = headSize;
        this.half = rotary / 2;
        this.threeD = threeD;
        this.interleaved = interleaved;
        this.positions = positions;
        this.maxPosition = maxPosition;
    }

    static Kernel create(NodeContext n) {
        TensorType x = n.inputType(0);
        TensorType cos = n.inputType(1);
        TensorType sin = n.inputType(2);
        DType d = x.dtype();
        if (!d.isFloatingPoint() || d.isSmallFloat()) {
            throw n.error("input must be float32, float16, bfloat16 or float64, got " + x);
        }
        if (cos.dtype() != d || sin.dtype() != d || !Arrays.equals(cos.shape(), sin.shape())) {
            throw n.error("cos_cache and sin_cache must have the same shape and the input's type, got " + cos + " and "
                    + sin + " for input " + x);
        }
        long[] xs = x.shape();
        long numHeads = n.attrInt("num_heads", 0);
        int heads;
        int headSize;
        boolean threeD = x.rank() == 3;
        if (threeD) {
            if (numHeads <= 0 || xs[2] % numHeads != 0) {
                throw n.error("a 3-D input [batch, seq, hidden] needs num_heads dividing the hidden size, got num_heads "
                        + numHeads + " for " + x);
            }
            heads = (int) numHeads;
            headSize = (int) (xs[2] / numHeads);
        } else if (x.rank() == 4) {
            heads = (int) xs[1];
            headSize = (int) xs[3];
            if (numHeads != 0 && numHeads != heads) {
                throw n.error("num_heads " + numHeads + " contradicts the 4-D input " + x);
            }
        } else {
            throw n.error("input must be 4-D [batch, heads, seq, head_size] or 3-D [batch, seq, hidden], got " + x);
        }
        long rotary = n.attrInt("rotary_embedding_dim", 0);
        if (rotary == 0) {
            rotary = headSize;
        }
        if (rotary < 0 || rotary > headSize || rotary % 2 != 0) {
            throw n.error("rotary_embedding_dim must be even and at most the head size " + headSize + ", got " + rotary);
        }
        long batch = xs[0];
        long seq = threeD ? xs[1] : xs[2];
        boolean positions = n.hasInput(3);
        long maxPosition = 0;
        long[] cs = cos.shape();
        if (positions) {
            TensorType p = n.inputType(3);
            if (!p.dtype().isInteger() || !Arrays.equals(p.shape(), new long[] {batch, seq})) {
                throw n.error("position_ids must be integers [" + batch + ", " + seq + "], got " + p);
            }
            if (cs.length != 2 || cs[1] != rotary / 2) {
                throw n.error("with position_ids the caches must be [max_position, " + rotary / 2 + "], got " + cos);
            }
            maxPosition = cs[0];
        } else if (!Arrays.equals(cs, new long[] {batch, seq, rotary / 2})) {
            throw n.error("without position_ids the caches must be [" + batch + ", " + seq + ", " + rotary / 2
                    + "], got " + cos);
        }
        return new RotaryEmbeddingOp(x, heads, headSize, (int) rotary, threeD, n.attrInt("interleaved", 0) != 0,
                positions, maxPosition);
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {type};
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        Tensor x = in[0];
        Tensor y = out[0];
        long rows = (long) batch * seq * heads;
        if (positions) {
            for (long i = 0; i < (long) batch * seq; i++) {
                long p = in[3].getLong(i);
                if (p < 0 || p >= maxPosition) {
                    throw new OpException("position_ids[" + i / seq + "][" + i % seq + "] is " + p
                            + ", outside the caches' [0, " + maxPosition + ")");
                }
            }
        }
        int tasks = x.elementCount() < MIN_PARALLEL_ELEMENTS ? 1 : (int) Math.min(ctx.parallelism(), rows);
        ctx.parallelFor(tasks, t -> {
            for (long r = rows * t / tasks; r < rows * (t + 1) / tasks; r++) {
                // rows in memory order: row r starts at element r·headSize in either layout
                long bs;
                if (threeD) {
                    bs = r / heads;
                } else {
                    long b = r / ((long) heads * seq);
                    bs = b * seq + r % seq;
                }
                long cacheRow = (positions ? in[3].getLong(bs) : bs) * half;
                rotate(x, y, r * headSize, in[1], in[2], cacheRow);
            }
        });
    }

    /** One head's row at element offset base, with the cache row at element offset c. */
    private void rotate(Tensor x, Tensor y, long base, Tensor cos, Tensor sin, long c) {
        int rot = 2 * half;
        if (x.dtype() == DType.FLOAT32 && !interleaved) {
            MemorySegment xs = x.data();
            MemorySegment ys = y.data();
            MemorySegment cs = cos.data();
            MemorySegment ss = sin.data();
            int bound = half - half % L;
            int k = 0;
            for (; k < bound; k += L) {
                FloatVector x1 = FloatVector.fromMemorySegment(F, xs, (base + k) * 4, LE);
                FloatVector x2 = FloatVector.fromMemorySegment(F, xs, (base + half + k) * 4, LE);
                FloatVector cv = FloatVector.fromMemorySegment(F, cs, (c + k) * 4, LE);
                FloatVector sv = FloatVector.fromMemorySegment(F, ss, (c + k) * 4, LE);
                cv.mul(x1).sub(sv.mul(x2)).intoMemorySegment(ys, (base + k) * 4, LE);
                sv.mul(x1).add(cv.mul(x2)).intoMemorySegment(ys, (base + half + k) * 4, LE);
            }
            for (; k < half; k++) {
                float x1 = xs.getAtIndex(Tensor.F32, base + k);
                float x2 = xs.getAtIndex(Tensor.F32, base + half + k);
                float cv = cs.getAtIndex(Tensor.F32, c + k);
                float sv = ss.getAtIndex(Tensor.F32, c + k);
                ys.setAtIndex(Tensor.F32, base + k, cv * x1 - sv * x2);
                ys.setAtIndex(Tensor.F32, base + half + k, sv * x1 + cv * x2);
            }
            if (rot < headSize) {
                MemorySegment.copy(xs, (base + rot) * 4, ys, (base + rot) * 4, (headSize - rot) * 4L);
            }
            return;
        }
        for (int k = 0; k < half; k++) {
            long i1 = base + (interleaved ? 2L * k : k);
            long i2 = base + (interleaved ? 2L * k + 1 : half + k);
            double x1 = x.getDouble(i1);
            double x2 = x.getDouble(i2);
            double cv = cos.getDouble(c + k);
            double sv = sin.getDouble(c + k);
            y.setDouble(i1, cv * x1 - sv * x2);
            y.setDouble(i2, sv * x1 + cv * x2);
        }
        for (int k = rot; k < headSize; k++) {
            y.setDouble(base + k, x.getDouble(base + k));
        }
    }
}
