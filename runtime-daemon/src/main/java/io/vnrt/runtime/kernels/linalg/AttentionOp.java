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
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * ONNX Attention (opsets 23 and 24): softmax(softcap(scale·Q·Kᵀ) + bias)·V with 3-D
 * ([batch, seq, heads·size]) or 4-D ([batch, heads, seq, size]) inputs, grouped and multi-query
 * heads (kv_num_heads dividing q_num_heads), a bool or float mask broadcast to
 * [batch, q_heads, q_seq, total_seq] (its last dimension may be shorter: the rest is masked),
 * is_causal aligned bottom-right, a KV cache (past_key/past_value in, present_key/present_value
 * out), nonpad_kv_seqlen (opset 24: keys at and past it per batch are padding) and
 * qk_matmul_output in its four modes.
 *
 * <p>A row whose every key is masked gets probabilities 0 (so output 0), not the NaN a plain
 * softmax of -inf values gives: the behaviour the opset-23/24 tests require.
 *
 * <p>How it runs: the present keys and values of each (batch, kv head) are packed once into GEMM
 * panels (Kᵀ by tile transposes in {@link #packKeys}, V by {@link Sgemm#packB}); then each task
 * takes a range of (batch, q head, block of query rows) units and computes Q·Kᵀ for the block
 * through {@link Sgemm}, the scale, softcap, bias and softmax over each row with the Vector API,
 * and the block's P·V through {@link Sgemm} again, straight into Y. Scores live in a per-task
 * block of the workspace, so memory does not grow with the square of the sequence. With at most
 * {@value #DIRECT_ROWS} query rows (a decoding step) packing would cost more than the products:
 * each task takes (batch, kv head) pairs and reads the cache in place ({@link #attendDirect}).
 * float16/bfloat16/float64 inputs are converted to float32 copies in
 * the workspace and the outputs back. The softmax runs in float32 whatever softmax_precision asks
 * (more than float16/bfloat16 would give; double is not offered).
 */
final class AttentionOp implements Kernel {
    private static final VectorSpecies<Float> F = VectorShape.FLOAT;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Query rows per unit of work: bounds the score block at ROWS × total floats per task. */
    static final int ROWS = 32;
    /**
     * At most this many query rows (a decoding step, a few speculative tokens) take the direct
     * path: packing K and V for a GEMM of so few rows would move each key and value three times
     * where the dot products read them once.
     */
    static final int DIRECT_ROWS = 4;
    /** Per-thread L×L tile of {@link #packKeys}: no allocation per execution. */
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[L * L]);

    /** Makes this thread's tile (see {@link LinalgOps#prepareThread}). */
    static void prepareThread() {
        TILE.get();
    }
    /** Lane r of a tile column gather reads tile[c + L·r]. */
    private static final int[] COLUMN = new int[L];

    static {
        for (int r = 0; r < L; r++) {
            COLUMN[r] = r * L;
        }
    }

    /** A context that runs everything on the calling thread: GEMMs inside a task of the split. */
    private static final ExecContext SERIAL = ExecContext.inline(MemorySegment.NULL);

    /** Where qk_matmul_output is taken. */
    enum QkStage {
        /** scale·Q·Kᵀ (mode 0). */
        RAW,
        /** After the softcap (mode 1). */
        SOFTCAP,
        /** After the mask and causal bias are added (mode 2). */
        BIAS,
        /** After the softmax (mode 3). */
        SOFTMAX
    }

    /** Sizes and options, resolved at compile time. */
    record Shape(int batch, int qHeads, int kvHeads, int qLen, int kvLen, int pastLen, int headSize, int vHeadSize,
                 boolean threeD, float scale, float softcap, boolean causal) {
        int total() {
            return pastLen + kvLen;
        }

        int group() {
            return qHeads / kvHeads;
        }
    }

    private final Shape s;
    private final DType dtype;
    private final boolean f32;
    private final boolean hasMask;
    private final boolean boolMask;
    /** Mask element strides (0 where broadcast) for batch, q head and query row; its last dim. */
    private final long maskB;
    private final long maskH;
    private final long maskI;
    private final int maskLen;
    private final boolean hasPast;
    private final boolean hasNonpad;
    private final boolean wantPresent;
    private final QkStage qkStage;
    private final TensorType[] outTypes;
    private final int tasks;
    private final int blocks;
    /** Few query rows (decoding): dot products over K and V in place, no packing (see attendDirect). */
    private final boolean direct;
    // workspace layout, in bytes
    private final long kPackBytes;
    private final long vPackBytes;
    private final long kPackOff;
    private final long vPackOff;
    private final long scoresOff;
    private final long presentKOff;
    private final long presentVOff;
    private final long qOff;
    private final long kOff;
    private final long vOff;
    private final long pastKOff;
    private final long pastVOff;
    private final long maskOff;
    private final long yOff;
    private final long qkOff;
    private final long workspace;

    private AttentionOp(Shape s, DType dtype, TensorType mask, boolean hasPast, boolean hasNonpad, boolean wantPresent,
            QkStage qkStage, int parallelism) {
        this.s = s;
        this.dtype = dtype;
        this.hasMask = mask != null;
        this.boolMask = mask != null && mask.dtype() == DType.BOOL;
        this.hasPast = hasPast;
        this.hasNonpad = hasNonpad;
        this.wantPresent = wantPresent;
        this.qkStage = qkStage;
        boolean floatMask = hasMask && !boolMask;
        this.f32 = dtype == DType.FLOAT32;
        int total = s.total();
        if (hasMask) {
            long[] m = mask.shape();
            long[] full = new long[4];
            Arrays.fill(full, 1);
            System.arraycopy(m, 0, full, 4 - m.length, m.length);
            this.maskLen = (int) full[3];
            this.maskI = full[2] == 1 ? 0 : full[3];
            this.maskH = full[1] == 1 ? 0 : full[2] * full[3];
            this.maskB = full[0] == 1 ? 0 : full[1] * full[2] * full[3];
        } else {
            this.maskLen = total;
            this.maskI = 0;
            this.maskH = 0;
            this.maskB = 0;
        }
        long[] yShape = s.threeD ? new long[] {s.batch, s.qLen, (long) s.qHeads * s.vHeadSize}
                : new long[] {s.batch, s.qHeads, s.qLen, s.vHeadSize};
        outTypes = new TensorType[] {
            new TensorType(dtype, yShape),
            wantPresent ? new TensorType(dtype, new long[] {s.batch, s.kvHeads, total, s.headSize}) : null,
            wantPresent ? new TensorType(dtype, new long[] {s.batch, s.kvHeads, total, s.vHeadSize}) : null,
            qkStage != null ? new TensorType(dtype, new long[] {s.batch, s.qHeads, s.qLen, total}) : null
        };
        this.blocks = (s.qLen + ROWS - 1) / ROWS;
        this.direct = s.qLen <= DIRECT_ROWS;
        long kvPairs = (long) s.batch * s.kvHeads;
        long units = direct ? kvPairs : (long) s.batch * s.qHeads * blocks;
        this.tasks = (int) Math.max(1, Math.min(parallelism, units));
        long rowsPerTask = direct ? (long) s.group() * s.qLen : Math.min(ROWS, s.qLen);
        this.kPackBytes = direct ? 0 : Sgemm.packedBytes(s.headSize, total);
        this.vPackBytes = direct ? 0 : Sgemm.packedBytes(total, s.vHeadSize);
        long at = 0;
        kPackOff = at;
        at = align(at + kvPairs * kPackBytes);
        vPackOff = at;
        at = align(at + kvPairs * vPackBytes);
        scoresOff = at;
        at = align(at + (long) tasks * rowsPerTask * total * 4);
        // the concatenated cache: in the present outputs when they are float32 outputs, else here
        boolean presentHere = hasPast && !(wantPresent && f32);
        boolean present32 = presentHere || (wantPresent && !f32);
        presentKOff = at;
        at = align(at + (present32 ? kvPairs * total * s.headSize * 4 : 0));
        presentVOff = at;
        at = align(at + (present32 ? kvPairs * total * s.vHeadSize * 4 : 0));
        long qElems = (long) s.batch * s.qHeads * s.qLen * s.headSize;
        long kElems = kvPairs * s.kvLen * s.headSize;
        long vElems = kvPairs * s.kvLen * s.vHeadSize;
        qOff = at;
        at = align(at + (f32 ? 0 : qElems * 4));
        kOff = at;
        at = align(at + (f32 ? 0 : kElems * 4));
        vOff = at;
        at = align(at + (f32 ? 0 : vElems * 4));
        pastKOff = at;
        at = align(at + (f32 || !hasPast ? 0 : kvPairs * s.pastLen * s.headSize * 4));
        pastVOff = at;
        at = align(at + (f32 || !hasPast ? 0 : kvPairs * s.pastLen * s.vHeadSize * 4));
        maskOff = at;
        at = align(at + (f32 || !floatMask ? 0 : mask.elementCount() * 4));
        yOff = at;
        at = align(at + (f32 ? 0 : (long) s.batch * s.qHeads * s.qLen * s.vHeadSize * 4));
        qkOff = at;
        at = align(at + (f32 || qkStage == null ? 0 : (long) s.batch * s.qHeads * s.qLen * total * 4));
        this.workspace = at;
    }

    private static long align(long v) {
        return (v + 63) & -64L;
    }

    static Kernel create(NodeContext n) {
        TensorType q = n.inputType(0);
        TensorType k = n.inputType(1);
        TensorType v = n.inputType(2);
        DType d = q.dtype();
        if (!d.isFloatingPoint() || d.isSmallFloat()) {
            throw n.error("Q must be float32, float16, bfloat16 or float64, got " + d.displayName());
        }
        if (k.dtype() != d || v.dtype() != d) {
            throw n.error("Q, K and V must have the same type, got " + q + ", " + k + " and " + v);
        }
        int rank = q.rank();
        if ((rank != 3 && rank != 4) || k.rank() != rank || v.rank() != rank) {
            throw n.error("Q, K and V must all be 3-D [batch, seq, heads*size] or all 4-D [batch, heads, seq, size], got "
                    + q + ", " + k + " and " + v);
        }
        long qHeadsAttr = n.attrInt("q_num_heads", 0);
        long kvHeadsAttr = n.attrInt("kv_num_heads", 0);
        long[] qs = q.shape();
        long[] ks = k.shape();
        long[] vs = v.shape();
        int batch = (int) qs[0];
        if (ks[0] != batch || vs[0] != batch) {
            throw n.error("Q, K and V must have the same batch size, got " + q + ", " + k + " and " + v);
        }
        int qHeads;
        int kvHeads;
        int qLen;
        int kvLen;
        int headSize;
        int vHeadSize;
        if (rank == 3) {
            if (qHeadsAttr <= 0 || kvHeadsAttr <= 0) {
                throw n.error("3-D inputs need the attributes q_num_heads and kv_num_heads (positive), got "
                        + qHeadsAttr + " and " + kvHeadsAttr);
            }
            qHeads = (int) qHeadsAttr;
            kvHeads = (int) kvHeadsAttr;
            for (long[] shape : new long[][] {qs, ks, vs}) {
                long heads = shape == qs ? qHeads : kvHeads;
                if (shape[2] % heads != 0) {
                    throw n.error("hidden size " + shape[2] + " of " + Arrays.toString(shape) + " is not a multiple of "
                            + heads + " heads");
                }
            }
            qLen = (int) qs[1];
            kvLen = (int) ks[1];
            headSize = (int) (qs[2] / qHeads);
            vHeadSize = (int) (vs[2] / kvHeads);
            if (ks[2] / kvHeads != headSize) {
                throw n.error("K's head size " + ks[2] / kvHeads + " differs from Q's " + headSize);
            }
            if (vs[1] != kvLen) {
                throw n.error("K and V must have the same sequence length, got " + k + " and " + v);
            }
        } else {
            qHeads = (int) qs[1];
            kvHeads = (int) ks[1];
            qLen = (int) qs[2];
            kvLen = (int) ks[2];
            headSize = (int) qs[3];
            vHeadSize = (int) vs[3];
            if ((qHeadsAttr != 0 && qHeadsAttr != qHeads) || (kvHeadsAttr != 0 && kvHeadsAttr != kvHeads)) {
                throw n.error("q_num_heads " + qHeadsAttr + " / kv_num_heads " + kvHeadsAttr
                        + " contradict the 4-D shapes of Q " + q + " and K " + k);
            }
            if (ks[3] != headSize) {
                throw n.error("K's head size " + ks[3] + " differs from Q's " + headSize);
            }
            if (vs[1] != kvHeads || vs[2] != kvLen) {
                throw n.error("V " + v + " must have K's heads and sequence length (K is " + k + ")");
            }
        }
        if (kvHeads <= 0 || qHeads % kvHeads != 0) {
            throw n.error("q_num_heads (" + qHeads + ") must be a multiple of kv_num_heads (" + kvHeads + ")");
        }
        boolean hasPast = n.hasInput(4) || n.hasInput(5);
        int pastLen = 0;
        if (hasPast) {
            if (!n.hasInput(4) || !n.hasInput(5)) {
                throw n.error("past_key and past_value must be given together");
            }
            TensorType pk = n.inputType(4);
            TensorType pv = n.inputType(5);
            long[] p = pk.shape();
            if (pk.dtype() != d || pv.dtype() != d || pk.rank() != 4 || pv.rank() != 4 || p[0] != batch || p[1] != kvHeads
                    || p[3] != headSize || !Arrays.equals(pv.shape(), new long[] {batch, kvHeads, p[2], vHeadSize})) {
                throw n.error("past_key must be [" + batch + ", " + kvHeads + ", past, " + headSize + "] and past_value ["
                        + batch + ", " + kvHeads + ", past, " + vHeadSize + "] of " + d.displayName() + ", got " + pk
                        + " and " + pv);
            }
            pastLen = (int) p[2];
        }
        int total = pastLen + kvLen;
        TensorType mask = n.hasInput(3) ? n.inputType(3) : null;
        if (mask != null) {
            checkMask(n, mask, d, new long[] {batch, qHeads, qLen, total});
        }
        boolean hasNonpad = n.hasInput(6);
        if (hasNonpad) {
            if (n.opset() < 24) {
                throw n.error("nonpad_kv_seqlen is an input from opset 24 on");
            }
            TensorType np = n.inputType(6);
            if (np.dtype() != DType.INT64 || !Arrays.equals(np.shape(), new long[] {batch})) {
                throw n.error("nonpad_kv_seqlen must be int64 [" + batch + "], got " + np);
            }
        }
        long mode = n.attrInt("qk_matmul_output_mode", 0);
        if (mode < 0 || mode > 3) {
            throw n.error("qk_matmul_output_mode must be 0, 1, 2 or 3, got " + mode);
        }
        long precision = n.attrInt("softmax_precision", 0);
        if (precision != 0 && precision != 1 && precision != 10 && precision != 11 && precision != 16) {
            throw n.error("softmax_precision must be a float type (1, 10, 11 or 16), got " + precision);
        }
        float scale = n.hasAttribute("scale") ? n.attrFloat("scale", 1f) : (float) (1 / Math.sqrt(headSize));
        if (!(scale > 0) && n.hasAttribute("scale")) {
            throw n.error("scale must be positive, got " + scale);
        }
        float softcap = n.attrFloat("softcap", 0f);
        if (softcap < 0 || Float.isNaN(softcap)) {
            throw n.error("softcap must be 0 (off) or positive, got " + softcap);
        }
        boolean wantPresent = n.outputCount() > 1 && (n.hasOutput(1) || n.hasOutput(2));
        QkStage stage = n.outputCount() > 3 && n.hasOutput(3) ? QkStage.values()[(int) mode] : null;
        Shape shape = new Shape(batch, qHeads, kvHeads, qLen, kvLen, pastLen, headSize, vHeadSize, rank == 3, scale,
                softcap, n.attrInt("is_causal", 0) != 0);
        return new AttentionOp(shape, d, mask, hasPast, hasNonpad, wantPresent, stage, n.parallelism());
    }

    private static void checkMask(NodeContext n, TensorType mask, DType d, long[] target) {
        if (mask.dtype() != DType.BOOL && mask.dtype() != d) {
            throw n.error("attn_mask must be bool or " + d.displayName() + " (Q's type), got " + mask);
        }
        long[] m = mask.shape();
        if (m.length < 1 || m.length > 4) {
            throw n.error("attn_mask must have rank 1 to 4, got " + mask);
        }
        String expected = "broadcastable to [batch=" + target[0] + ", q_heads=" + target[1] + ", q_seq=" + target[2]
                + ", total_seq<=" + target[3] + "]";
        long last = m[m.length - 1];
        if (last < 1 || last > target[3]) {
            throw n.error("attn_mask " + mask + " must be " + expected + ": its last dimension is " + last);
        }
        for (int i = 0; i < m.length - 1; i++) {
            long want = target[4 - m.length + i];
            if (m[i] != 1 && m[i] != want) {
                throw n.error("attn_mask " + mask + " must be " + expected);
            }
        }
    }

    @Override
    public TensorType[] outputTypes() {
        return outTypes.clone();
    }

    @Override
    public long workspaceBytes() {
        return workspace;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
        MemorySegment ws = ctx.workspace();
        int total = s.total();
        long kvPairs = (long) s.batch * s.kvHeads;
        // float32 views of every operand: the tensors themselves, or converted copies in the workspace
        MemorySegment q = f32 ? in[0].data() : toF32(in[0], ws, qOff);
        MemorySegment k = f32 ? in[1].data() : toF32(in[1], ws, kOff);
        MemorySegment v = f32 ? in[2].data() : toF32(in[2], ws, vOff);
        MemorySegment pastK = !hasPast ? null : f32 ? in[4].data() : toF32(in[4], ws, pastKOff);
        MemorySegment pastV = !hasPast ? null : f32 ? in[5].data() : toF32(in[5], ws, pastVOff);
        MemorySegment mask = !hasMask ? null : f32 || boolMask ? in[3].data() : toF32(in[3], ws, maskOff);
        MemorySegment y = f32 ? out[0].data() : ws.asSlice(yOff, out[0].elementCount() * 4);
        MemorySegment qk = qkStage == null ? null : f32 ? out[3].data() : ws.asSlice(qkOff, out[3].elementCount() * 4);
        MemorySegment presentK = null;
        MemorySegment presentV = null;
        if (wantPresent && f32) {
            presentK = out[1].data();
            presentV = out[2].data();
        } else if (hasPast || wantPresent) {
            presentK = ws.asSlice(presentKOff, kvPairs * total * s.headSize * 4);
            presentV = ws.asSlice(presentVOff, kvPairs * total * s.vHeadSize * 4);
        }
        Tensor limits = hasNonpad ? checkedNonpad(in[6], total) : null;

        MemorySegment pk = pastK;
        MemorySegment pv = pastV;
        MemorySegment prk = presentK;
        MemorySegment prv = presentV;
        if (direct) {
            int runTasks = (int) Math.max(1, Math.min(Math.min(ctx.parallelism(), tasks), kvPairs));
            long rowBytes = (long) s.group() * s.qLen * total * 4;
            ctx.parallelFor(runTasks, t -> {
                for (long u = kvPairs * t / runTasks; u < kvPairs * (t + 1) / runTasks; u++) {
                    attendDirect((int) (u / s.kvHeads), (int) (u % s.kvHeads), q, k, v, pk, pv, prk, prv, mask, ws,
                            scoresOff + t * rowBytes, y, qk, limits);
                }
            });
        } else {
            int packTasks = (int) Math.max(1, Math.min(ctx.parallelism(), kvPairs));
            ctx.parallelFor(packTasks, t -> {
                for (long u = kvPairs * t / packTasks; u < kvPairs * (t + 1) / packTasks; u++) {
                    pack((int) (u / s.kvHeads), (int) (u % s.kvHeads), k, v, pk, pv, prk, prv, ws);
                }
            });
            long units = (long) s.batch * s.qHeads * blocks;
            int runTasks = (int) Math.max(1, Math.min(Math.min(ctx.parallelism(), tasks), units));
            ctx.parallelFor(runTasks, t -> {
                long scores = scoresOff + (long) t * Math.min(ROWS, s.qLen) * total * 4;
                for (long u = units * t / runTasks; u < units * (t + 1) / runTasks; u++) {
                    int block = (int) (u % blocks);
                    int h = (int) (u / blocks % s.qHeads);
                    int b = (int) (u / blocks / s.qHeads);
                    attend(b, h, block, q, mask, ws, scores, y, qk, limits);
                }
            });
        }

        if (!f32) {
            fromF32(y, out[0]);
            if (qk != null) {
                fromF32(qk, out[3]);
            }
            if (wantPresent) {
                fromF32(presentK, out[1]);
                fromF32(presentV, out[2]);
            }
        }
    }

    /** nonpad_kv_seqlen after checking that each entry is a key count: the keys of batch b at and past it are padding. */
    private Tensor checkedNonpad(Tensor nonpad, int total) {
        for (int b = 0; b < s.batch; b++) {
            long n = nonpad.getLong(b);
            if (n < 0 || n > total) {
                throw new OpException("nonpad_kv_seqlen[" + b + "] is " + n + ", outside [0, " + total
                        + "] (the total key sequence length)");
            }
        }
        return nonpad;
    }

    /** Elements of a row of Q, K or V (the hidden size in 3-D layouts, the head size in 4-D ones). */
    private long qRow() {
        return s.threeD ? (long) s.qHeads * s.headSize : s.headSize;
    }

    private long qBase(int b, int h) {
        return s.threeD ? (long) b * s.qLen * s.qHeads * s.headSize + (long) h * s.headSize
                : ((long) b * s.qHeads + h) * s.qLen * s.headSize;
    }

    private long newBase(int b, int g, int size) {
        return s.threeD ? (long) b * s.kvLen * s.kvHeads * size + (long) g * size : ((long) b * s.kvHeads + g) * s.kvLen * size;
    }

    /** Where the keys and values of one (batch, kv head) are: segments, byte offsets of row 0, row strides. */
    private record KeysAndValues(MemorySegment k, long kBase, long kRow, MemorySegment v, long vBase, long vRow) {}

    /**
     * The keys and values (b, g) attends over: the new ones in their input layout, or, where
     * there is a present cache, its rows for (b, g) after concatenating past and new into it.
     */
    private KeysAndValues keysAndValues(int b, int g, MemorySegment k, MemorySegment v, MemorySegment pastK,
            MemorySegment pastV, MemorySegment presentK, MemorySegment presentV) {
        long kBase = newBase(b, g, s.headSize) * 4;
        long kRow = (s.threeD ? (long) s.kvHeads * s.headSize : s.headSize) * 4;
        long vBase = newBase(b, g, s.vHeadSize) * 4;
        long vRow = (s.threeD ? (long) s.kvHeads * s.vHeadSize : s.vHeadSize) * 4;
        if (presentK == null) {
            return new KeysAndValues(k, kBase, kRow, v, vBase, vRow);
        }
        long pair = (long) b * s.kvHeads + g;
        concat(pastK, k, kBase, kRow, presentK, pair, s.headSize);
        concat(pastV, v, vBase, vRow, presentV, pair, s.vHeadSize);
        return new KeysAndValues(presentK, pair * s.total() * s.headSize * 4, s.headSize * 4L, presentV,
                pair * s.total() * s.vHeadSize * 4, s.vHeadSize * 4L);
    }

    /** Concatenates the cache of (b, g) when there is one and packs Kᵀ and V into GEMM panels. */
    private void pack(int b, int g, MemorySegment k, MemorySegment v, MemorySegment pastK, MemorySegment pastV,
            MemorySegment presentK, MemorySegment presentV, MemorySegment ws) {
        int total = s.total();
        long pair = (long) b * s.kvHeads + g;
        KeysAndValues kv = keysAndValues(b, g, k, v, pastK, pastV, presentK, presentV);
        packKeys(kv.k(), kv.kBase(), kv.kRow(), s.headSize, total, ws, kPackOff + pair * kPackBytes);
        Sgemm.packB(kv.v(), kv.vBase(), kv.vRow(), 4, total, s.vHeadSize, ws, vPackOff + pair * vPackBytes, 0,
                Sgemm.panels(s.vHeadSize));
    }

    /**
     * Packs B = Kᵀ of Q·Kᵀ (element (d, j) is K[j][d]: the k stride is one float, the n stride a
     * row) exactly as {@link Sgemm#packB} would, but a tile of L keys × L floats at a time:
     * L contiguous row loads into a heap tile, then L column gathers stored as rows of the panel.
     * packB's own transposed path moves one float at a time, which cost a quarter of a 12-head
     * S = 128 attention.
     */
    static void packKeys(MemorySegment src, long base, long rowBytes, int d, int n, MemorySegment dst, long dstOff) {
        float[] tile = TILE.get();
        int nr = Sgemm.NR;
        int panels = Sgemm.panels(n);
        int fullD = d - d % L;
        for (int p = 0; p < panels; p++) {
            int j0 = p * nr;
            long panel = dstOff + (long) p * d * nr * 4;
            if (n - j0 < nr || nr % L != 0) {
                Sgemm.packB(src, base, 4, rowBytes, d, n, dst, dstOff, p, p + 1);
                continue;
            }
            for (int jb = 0; jb < nr; jb += L) {
                long keys = base + (long) (j0 + jb) * rowBytes;
                for (int d0 = 0; d0 < fullD; d0 += L) {
                    for (int r = 0; r < L; r++) {
                        FloatVector.fromMemorySegment(F, src, keys + r * rowBytes + d0 * 4L, LE).intoArray(tile, r * L);
                    }
                    for (int c = 0; c < L; c++) {
                        FloatVector.fromArray(F, tile, c, COLUMN, 0)
                                .intoMemorySegment(dst, panel + ((long) (d0 + c) * nr + jb) * 4, LE);
                    }
                }
                for (int dd = fullD; dd < d; dd++) {
                    for (int r = 0; r < L; r++) {
                        dst.set(Tensor.F32, panel + ((long) dd * nr + jb + r) * 4,
                                src.get(Tensor.F32, keys + r * rowBytes + dd * 4L));
                    }
                }
            }
        }
    }

    /** present[pair] = past[pair] rows, then the new rows (at byte base, row stride rowBytes) of src. */
    private void concat(MemorySegment past, MemorySegment src, long base, long rowBytes, MemorySegment present, long pair,
            int size) {
        long rowLen = size * 4L;
        long dst = pair * s.total() * rowLen;
        if (past != null && s.pastLen > 0) {
            MemorySegment.copy(past, pair * s.pastLen * rowLen, present, dst, s.pastLen * rowLen);
            dst += s.pastLen * rowLen;
        }
        if (rowBytes == rowLen) {
            MemorySegment.copy(src, base, present, dst, s.kvLen * rowLen);
        } else {
            for (int j = 0; j < s.kvLen; j++) {
                MemorySegment.copy(src, base + j * rowBytes, present, dst + j * rowLen, rowLen);
            }
        }
    }

    /** Rows [block·ROWS, ...) of query head h in batch b: scores, bias, softmax, then P·V into Y. */
    private void attend(int b, int h, int block, MemorySegment q, MemorySegment mask, MemorySegment ws, long scores,
            MemorySegment y, MemorySegment qk, Tensor limits) {
        int total = s.total();
        int r0 = block * ROWS;
        int rows = Math.min(ROWS, s.qLen - r0);
        int g = h / s.group();
        long pair = (long) b * s.kvHeads + g;
        long offset = causalOffset(b, limits);
        long keyLimit = keyLimit(b, limits);
        // columns of Q·Kᵀ that any row of the block can use; all of them when qk_matmul_output wants them
        long needed = keyLimit;
        if (s.causal) {
            needed = Math.min(needed, r0 + rows + offset);
        }
        int cols = qk != null ? total : (int) Math.max(0, needed);
        long qRowBytes = qRow() * 4;
        if (cols > 0) {
            Sgemm.run(new Sgemm.Problem(1, rows, cols, s.headSize, q, new long[] {(qBase(b, h) + (long) r0 * qRow()) * 4},
                    qRowBytes, 4, ws, new long[] {kPackOff + pair * kPackBytes}, ws, new long[] {scores}, total * 4L),
                    Sgemm.Epilogue.PLAIN, SERIAL);
        }
        for (int r = 0; r < rows; r++) {
            scoreRow(b, h, r0 + r, ws, scores + (long) r * total * 4, mask, qk, offset, keyLimit);
        }
        Sgemm.run(new Sgemm.Problem(1, rows, s.vHeadSize, total, ws, new long[] {scores}, total * 4L, 4, ws,
                new long[] {vPackOff + pair * vPackBytes}, y, new long[] {yOffset(b, h, r0)}, yRow() * 4),
                Sgemm.Epilogue.PLAIN, SERIAL);
    }

    /** The causal offset of batch b: keys a query sees beyond its own position (bottom-right aligned). */
    private long causalOffset(int b, Tensor limits) {
        return s.causal ? (hasPast ? s.pastLen : limits != null ? limits.getLong(b) - s.qLen : 0) : 0;
    }

    /** Keys batch b may attend to at all: not padding, and within the mask's last dimension. */
    private long keyLimit(int b, Tensor limits) {
        return Math.min(s.total(), Math.min(maskLen, limits != null ? limits.getLong(b) : s.total()));
    }

    /** Floats from one row of Y to the next. */
    private long yRow() {
        return s.threeD ? (long) s.qHeads * s.vHeadSize : s.vHeadSize;
    }

    /** Byte offset in Y of query i of head h in batch b. */
    private long yOffset(int b, int h, int i) {
        long base = s.threeD ? (long) b * s.qLen * yRow() + (long) h * s.vHeadSize : ((long) b * s.qHeads + h) * s.qLen * yRow();
        return (base + (long) i * yRow()) * 4;
    }

    /**
     * The decoding path for (batch b, kv head g): every query row of the group's heads against
     * the keys and values read in place (from the present cache when there is one, concatenated
     * here first): scores by dot products four rows at a time, the row pipeline, then Y as the
     * probability-weighted sum of value rows, each key and value row read once per four rows.
     */
    private void attendDirect(int b, int g, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment pastK,
            MemorySegment pastV, MemorySegment presentK, MemorySegment presentV, MemorySegment mask, MemorySegment ws,
            long scores, MemorySegment y, MemorySegment qk, Tensor limits) {
        int total = s.total();
        KeysAndValues kv = keysAndValues(b, g, k, v, pastK, pastV, presentK, presentV);
        int rows = s.group() * s.qLen;
        long rowBytes = total * 4L;
        for (int r0 = 0; r0 < rows; r0 += 4) {
            int n = Math.min(4, rows - r0);
            // rows past the last repeat it: their sums are computed and not stored
            long q0 = queryRow(b, g, r0);
            long q1 = queryRow(b, g, r0 + Math.min(1, n - 1));
            long q2 = queryRow(b, g, r0 + Math.min(2, n - 1));
            long q3 = queryRow(b, g, r0 + Math.min(3, n - 1));
            for (int j = 0; j < total; j++) {
                dots4(q, q0, q1, q2, q3, kv.k(), kv.kBase() + j * kv.kRow(), ws, scores + (long) r0 * rowBytes + j * 4L, rowBytes, n);
            }
        }
        long offset = causalOffset(b, limits);
        long keyLimit = keyLimit(b, limits);
        for (int r = 0; r < rows; r++) {
            int h = g * s.group() + r / s.qLen;
            int i = r % s.qLen;
            scoreRow(b, h, i, ws, scores + r * rowBytes, mask, qk, offset, keyLimit);
            fill(y, yOffset(b, h, i), s.vHeadSize, 0f);
        }
        for (int j = 0; j < total; j++) {
            long vj = kv.vBase() + j * kv.vRow();
            for (int r = 0; r < rows; r++) {
                float p = ws.get(Tensor.F32, scores + r * rowBytes + j * 4L);
                if (p != 0) {
                    axpy(p, kv.v(), vj, y, yOffset(b, g * s.group() + r / s.qLen, r % s.qLen), s.vHeadSize);
                }
            }
        }
    }

    /** Byte offset in Q of row r of kv head g's group (rows: the group's heads, each with its queries). */
    private long queryRow(int b, int g, int r) {
        return (qBase(b, g * s.group() + r / s.qLen) + (long) (r % s.qLen) * qRow()) * 4;
    }

    /**
     * Up to four dot products of query rows (byte offsets q0..q3 in q) with one key row (byte
     * offset key in k), the first n stored {@code stride} bytes apart from byte offset out of ws.
     */
    private void dots4(MemorySegment q, long q0, long q1, long q2, long q3, MemorySegment k, long key, MemorySegment ws,
            long out, long stride, int n) {
        int d = s.headSize;
        int bound = d - d % L;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int x = 0; x < bound; x += L) {
            FloatVector kv = FloatVector.fromMemorySegment(F, k, key + x * 4L, LE);
            a0 = FloatVector.fromMemorySegment(F, q, q0 + x * 4L, LE).fma(kv, a0);
            a1 = FloatVector.fromMemorySegment(F, q, q1 + x * 4L, LE).fma(kv, a1);
            a2 = FloatVector.fromMemorySegment(F, q, q2 + x * 4L, LE).fma(kv, a2);
            a3 = FloatVector.fromMemorySegment(F, q, q3 + x * 4L, LE).fma(kv, a3);
        }
        ws.set(Tensor.F32, out, a0.reduceLanes(VectorOperators.ADD) + tailDot(q, q0, k, key, bound, d));
        if (n > 1) {
            ws.set(Tensor.F32, out + stride, a1.reduceLanes(VectorOperators.ADD) + tailDot(q, q1, k, key, bound, d));
        }
        if (n > 2) {
            ws.set(Tensor.F32, out + 2 * stride, a2.reduceLanes(VectorOperators.ADD) + tailDot(q, q2, k, key, bound, d));
        }
        if (n > 3) {
            ws.set(Tensor.F32, out + 3 * stride, a3.reduceLanes(VectorOperators.ADD) + tailDot(q, q3, k, key, bound, d));
        }
    }

    /** The scalar part of a dot product: elements [from, to) of rows at byte offsets a and b. */
    private static float tailDot(MemorySegment x, long a, MemorySegment y, long b, int from, int to) {
        float sum = 0;
        for (int i = from; i < to; i++) {
            sum += x.get(Tensor.F32, a + i * 4L) * y.get(Tensor.F32, b + i * 4L);
        }
        return sum;
    }

    /** y[0..n) += p·x[0..n) (byte offsets). */
    private static void axpy(float p, MemorySegment x, long xo, MemorySegment y, long yo, int n) {
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            long at = yo + j * 4L;
            FloatVector.fromMemorySegment(F, x, xo + j * 4L, LE).fma(FloatVector.broadcast(F, p),
                    FloatVector.fromMemorySegment(F, y, at, LE)).intoMemorySegment(y, at, LE);
        }
        for (; j < n; j++) {
            long at = yo + j * 4L;
            y.set(Tensor.F32, at, y.get(Tensor.F32, at) + p * x.get(Tensor.F32, xo + j * 4L));
        }
    }

    /**
     * One row of scores (query i of head h in batch b, raw Q·Kᵀ at byte offset row of ws) into
     * probabilities: scale, softcap, mask, causal and padding limits, softmax, and the
     * qk_matmul_output copy at its stage.
     */
    private void scoreRow(int b, int h, int i, MemorySegment ws, long row, MemorySegment mask, MemorySegment qk,
            long offset, long keyLimit) {
        int total = s.total();
        long maskBase = (long) b * maskB + (long) h * maskH;
        long qkRow = ((((long) b * s.qHeads + h) * s.qLen) + i) * total * 4;
        long limit = keyLimit;
        if (s.causal) {
            limit = Math.min(limit, i + offset + 1);
        }
        int lim = (int) Math.max(0, limit);
        // The GEMM leaves Q·Kᵀ unscaled (an alpha epilogue would be one more pass over the
        // block): the scale rides on the first pass that touches the row anyway.
        float factor = s.scale;
        if (qk != null) {
            scale(ws, row, total, factor);
            factor = 1;
        }
        if (qkStage == QkStage.RAW) {
            MemorySegment.copy(ws, row, qk, qkRow, total * 4L);
        }
        if (s.softcap > 0) {
            softcap(ws, row, Math.max(lim, qk != null ? total : 0), factor, s.softcap);
            factor = 1;
        }
        if (qkStage == QkStage.SOFTCAP) {
            MemorySegment.copy(ws, row, qk, qkRow, total * 4L);
        }
        if (mask != null && lim > 0) {
            long m = maskBase + (long) i * maskI;
            if (boolMask) {
                addBoolMask(ws, row, mask, m, lim);
            } else {
                addFloatMask(ws, row, factor, mask, m * 4, lim);
                factor = 1;
            }
        }
        if (qkStage == QkStage.BIAS) {
            MemorySegment.copy(ws, row, qk, qkRow, lim * 4L);
            fill(qk, qkRow + lim * 4L, total - lim, Float.NEGATIVE_INFINITY);
        }
        softmax(ws, row, lim, total, factor);
        if (qkStage == QkStage.SOFTMAX) {
            MemorySegment.copy(ws, row, qk, qkRow, total * 4L);
        }
    }

    /** x = c·tanh(factor·x / c) over n floats at byte offset off. */
    static void softcap(MemorySegment seg, long off, int n, float factor, float c) {
        float inv = factor / c;
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            long at = off + j * 4L;
            FloatVector.fromMemorySegment(F, seg, at, LE).mul(inv).lanewise(VectorOperators.TANH).mul(c)
                    .intoMemorySegment(seg, at, LE);
        }
        for (; j < n; j++) {
            long at = off + j * 4L;
            seg.set(Tensor.F32, at, (float) (c * Math.tanh(seg.get(Tensor.F32, at) * inv)));
        }
    }

    /** row[j] = factor·row[j] + mask[j] for the first n floats (mask at byte offset m). */
    static void addFloatMask(MemorySegment seg, long off, float factor, MemorySegment mask, long m, int n) {
        int bound = n - n % L;
        int j = 0;
        FloatVector f = FloatVector.broadcast(F, factor);
        for (; j < bound; j += L) {
            long at = off + j * 4L;
            FloatVector.fromMemorySegment(F, seg, at, LE).fma(f, FloatVector.fromMemorySegment(F, mask, m + j * 4L, LE))
                    .intoMemorySegment(seg, at, LE);
        }
        for (; j < n; j++) {
            long at = off + j * 4L;
            seg.set(Tensor.F32, at, factor * seg.get(Tensor.F32, at) + mask.get(Tensor.F32, m + j * 4L));
        }
    }

    /** row[j] *= factor for n floats. */
    static void scale(MemorySegment seg, long off, int n, float factor) {
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            long at = off + j * 4L;
            FloatVector.fromMemorySegment(F, seg, at, LE).mul(factor).intoMemorySegment(seg, at, LE);
        }
        for (; j < n; j++) {
            long at = off + j * 4L;
            seg.set(Tensor.F32, at, seg.get(Tensor.F32, at) * factor);
        }
    }

    /** row[j] = -inf where the bool mask (element offset m) is false, for the first n floats. */
    static void addBoolMask(MemorySegment seg, long off, MemorySegment mask, long m, int n) {
        for (int j = 0; j < n; j++) {
            if (mask.get(Tensor.I8, m + j) == 0) {
                seg.set(Tensor.F32, off + j * 4L, Float.NEGATIVE_INFINITY);
            }
        }
    }

    private static void fill(MemorySegment seg, long off, long n, float value) {
        for (long j = 0; j < n; j++) {
            seg.set(Tensor.F32, off + j * 4, value);
        }
    }

    /**
     * Softmax of factor·x over the first {@code limit} of the row's {@code n} floats (factor > 0),
     * 0 for the rest; a row with nothing left to attend to (limit 0, or every score -inf) is all 0.
     */
    static void softmax(MemorySegment seg, long off, int limit, int n, float factor) {
        float max = rowMax(seg, off, limit);
        if (max == Float.NEGATIVE_INFINITY) {
            fill(seg, off, n, 0f);
            return;
        }
        float sum = expInPlace(seg, off, limit, max, factor);
        scale(seg, off, limit, 1f / sum);
        fill(seg, off + limit * 4L, n - limit, 0f);
    }

    // softmax's passes are separate small methods: as one method C2 left its vector adds boxed
    // (the Vector API's Java fallback) in some compilations

    private static float rowMax(MemorySegment seg, long off, int n) {
        int bound = n - n % L;
        float max = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (bound > 0) {
            FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; j < bound; j += L) {
                vmax = vmax.max(FloatVector.fromMemorySegment(F, seg, off + j * 4L, LE));
            }
            max = vmax.reduceLanes(VectorOperators.MAX);
        }
        for (; j < n; j++) {
            max = Math.max(max, seg.get(Tensor.F32, off + j * 4L));
        }
        return max;
    }

    /** x = exp(factor·(x - max)) over n floats; returns their sum. */
    private static float expInPlace(MemorySegment seg, long off, int n, float max, float factor) {
        int bound = n - n % L;
        FloatVector vsum = FloatVector.zero(F);
        int j = 0;
        for (; j < bound; j += L) {
            long at = off + j * 4L;
            FloatVector e = FloatVector.fromMemorySegment(F, seg, at, LE).sub(max).mul(factor)
                    .lanewise(VectorOperators.EXP);
            e.intoMemorySegment(seg, at, LE);
            vsum = vsum.add(e);
        }
        float sum = vsum.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            long at = off + j * 4L;
            float e = (float) Math.exp((seg.get(Tensor.F32, at) - max) * factor);
            seg.set(Tensor.F32, at, e);
            sum += e;
        }
        return sum;
    }

    /** A float32 copy of t in the workspace at byte offset off. */
    private static MemorySegment toF32(Tensor t, MemorySegment ws, long off) {
        MemorySegment dst = ws.asSlice(off, t.elementCount() * 4);
        for (long i = 0; i < t.elementCount(); i++) {
            dst.setAtIndex(Tensor.F32, i, (float) t.getDouble(i));
        }
        return dst;
    }

    private static void fromF32(MemorySegment src, Tensor t) {
        for (long i = 0; i < t.elementCount(); i++) {
            t.setDouble(i, src.getAtIndex(Tensor.F32, i));
        }
    }
}
