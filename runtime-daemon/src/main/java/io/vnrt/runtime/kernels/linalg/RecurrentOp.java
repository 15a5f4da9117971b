package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerArray;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The ONNX recurrent operators RNN, GRU and LSTM (opset 7 and 14+: every direction, sequence_lens,
 * initial states, peepholes, activations with alpha/beta, clip, GRU's linear_before_reset, LSTM's
 * input_forget, the batch-major layout of opset 14). The input projection X·Wᵀ (+ biases) of every
 * time step is one GEMM up front through {@link Sgemm}; each step then multiplies the previous
 * hidden state by Rᵀ (packed once at load when R is a constant) and applies the gate functions with
 * vectors. The steps allocate nothing. The two directions of a bidirectional node run on two cores.
 */
public final class RecurrentOp {
    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private RecurrentOp() {}

    /** Adds RNN, GRU and LSTM to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("RNN", RecurrentOp::rnn);
        registry.register("GRU", RecurrentOp::gru);
        registry.register("LSTM", RecurrentOp::lstm);
    }

    /** The three cells: gates per hidden unit and the default activations. */
    enum Cell {
        RNN(1, "Tanh"), GRU(3, "Sigmoid", "Tanh"), LSTM(4, "Sigmoid", "Tanh", "Tanh");

        final int gates;
        final String[] activations;

        Cell(int gates, String... activations) {
            this.gates = gates;
            this.activations = activations;
        }
    }

    static Kernel rnn(NodeContext node) {
        return create(node, Cell.RNN);
    }

    static Kernel gru(NodeContext node) {
        return create(node, Cell.GRU);
    }

    static Kernel lstm(NodeContext node) {
        return create(node, Cell.LSTM);
    }

    /** The sizes of one node, fixed at compile time. */
    record Dims(int steps, int batch, int input, int hidden, int directions, int gates, boolean batchMajor) {
        int gateWidth() {
            return gates * hidden;
        }
    }

    static Kernel create(NodeContext node, Cell cell) {
        TensorType x = node.inputType(0);
        TensorType w = node.inputType(1);
        TensorType r = node.inputType(2);
        if (x.dtype() != DType.FLOAT32 || w.dtype() != DType.FLOAT32 || r.dtype() != DType.FLOAT32) {
            throw node.error("X, W and R must be float32 (got " + x + ", " + w + ", " + r
                    + "); other float types are not supported yet");
        }
        if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) {
            throw node.error("X, W and R must have rank 3, got " + x + ", " + w + ", " + r);
        }
        String direction = node.attrString("direction", "forward");
        int directions = switch (direction) {
            case "forward", "reverse" -> 1;
            case "bidirectional" -> 2;
            default -> throw node.error("direction must be forward, reverse or bidirectional, got '" + direction + "'");
        };
        boolean batchMajor = node.attrInt("layout", 0) != 0;
        long[] xs = x.shape();
        int steps = Math.toIntExact(batchMajor ? xs[1] : xs[0]);
        int batch = Math.toIntExact(batchMajor ? xs[0] : xs[1]);
        int inputSize = Math.toIntExact(xs[2]);
        int hidden = Math.toIntExact(r.shape()[2]);
        long declared = node.attrInt("hidden_size", hidden);
        if (declared != hidden) {
            throw node.error("hidden_size is " + declared + " but R " + r + " has hidden size " + hidden);
        }
        int g = cell.gates;
        expect(node, "W", w, directions, (long) g * hidden, inputSize);
        expect(node, "R", r, directions, (long) g * hidden, hidden);
        Dims dims = new Dims(steps, batch, inputSize, hidden, directions, g, batchMajor);
        if (node.hasInput(3)) {
            expect(node, "B", node.inputType(3), directions, 2L * g * hidden);
        }
        if (node.hasInput(4)) {
            TensorType sl = node.inputType(4);
            if ((sl.dtype() != DType.INT32 && sl.dtype() != DType.INT64) || sl.rank() != 1 || sl.shape()[0] != batch) {
                throw node.error("sequence_lens must be int32 of shape [" + batch + "], got " + sl);
            }
        }
        long[] stateShape = batchMajor ? new long[] {batch, directions, hidden} : new long[] {directions, batch, hidden};
        for (int i : cell == Cell.LSTM ? new int[] {5, 6} : new int[] {5}) {
            if (node.hasInput(i) && !(node.inputType(i).dtype() == DType.FLOAT32
                    && Arrays.equals(node.inputType(i).shape(), stateShape))) {
                throw node.error((i == 5 ? "initial_h" : "initial_c") + " must be float32" + Arrays.toString(stateShape)
                        + ", got " + node.inputType(i));
            }
        }
        if (cell == Cell.LSTM && node.hasInput(7)) {
            expect(node, "P", node.inputType(7), directions, 3L * hidden);
        }
        float clip = node.attrFloat("clip", 0f);
        if (node.hasAttribute("clip") && !(clip > 0)) {
            throw node.error("clip must be a positive threshold, got " + clip);
        }
        GateActivation.Bound[] acts = GateActivation.of(node, directions, cell.activations);
        boolean linearBeforeReset = cell == Cell.GRU && node.attrInt("linear_before_reset", 0) != 0;
        boolean inputForget = cell == Cell.LSTM && node.attrInt("input_forget", 0) != 0;
        boolean[] reverse = new boolean[directions];
        reverse[0] = direction.equals("reverse");
        if (directions == 2) {
            reverse[1] = true;
        }
        return new RecurrentKernel(node, cell, dims, reverse, acts, clip, linearBeforeReset, inputForget);
    }

    private static void expect(NodeContext node, String what, TensorType t, long... shape) {
        if (t.dtype() != DType.FLOAT32 || !Arrays.equals(t.shape(), shape)) {
            throw node.error(what + " must be float32" + Arrays.toString(shape) + ", got " + t);
        }
    }

    /** Hidden units per block of the recurrent product. */
    static final int BLOCK = 32;
    /** Below this many multiply-adds per step, one core per direction: the lockstep costs more than it saves. */
    static final long MIN_SLICE_MACS = 64 * 1024;

    /** One compiled node. Offsets and strides are in bytes; every buffer lives in the workspace. */
    static final class RecurrentKernel implements Kernel {
        private final Cell cell;
        private final Dims d;
        private final boolean[] reverse;
        private final GateActivation.Bound[] acts;
        private final float clip;
        private final boolean linearBeforeReset;
        private final boolean inputForget;
        private final boolean hasBias;
        private final boolean hasLengths;
        private final boolean hasInitialH;
        private final boolean hasInitialC;
        private final boolean hasPeepholes;
        private final TensorType[] outputs;
        /** Packed Wᵀ, packed Rᵀ and the input projection's bias per direction when constant, else null. */
        private final MemorySegment constW;
        private final MemorySegment constR;
        private final MemorySegment constBias;
        private final MemorySegment constRBias;
        private final long wBytes;
        private final long rBytes;
        private final long offXw;
        private final long offW;
        private final long offR;
        private final long offBias;
        private final long offRBias;
        private final long offState;
        private final long offRTmp;
        private final long stateBytes;
        private final long workspace;
        /**
         * Hidden units in blocks of {@value #BLOCK}: Rᵀ is packed block by block (each block's
         * gates side by side), so one step's product can visit the blocks in either order. Steps
         * alternate the order: the blocks the last step read most recently are still in L2 when
         * Rᵀ (1 MiB for an LSTM of hidden 256) is about as large as the L2 itself.
         */
        private final int[] blockStart;
        /** Per block, offset of its packed Rᵀ within one direction's (and of R_h for a split GRU). */
        private final long[] rBlockOff;
        private final long[] rhBlockOff;
        /**
         * Per block: whether its Rᵀ is a plain row-major (hidden × gates·u) matrix multiplied by
         * {@link #gemvRows} (one or two rows, eight vectors to a row of the block, R not split)
         * instead of Sgemm panels: one step's product then reads the block as one contiguous
         * stream, all its gates at once.
         */
        private final boolean[] rowMajor;

        RecurrentKernel(NodeContext node, Cell cell, Dims d, boolean[] reverse, GateActivation.Bound[] acts, float clip,
                boolean linearBeforeReset, boolean inputForget) {
            this.cell = cell;
            this.d = d;
            this.reverse = reverse;
            this.acts = acts;
            this.clip = clip;
            this.linearBeforeReset = linearBeforeReset;
            this.inputForget = inputForget;
            hasBias = node.hasInput(3);
            hasLengths = node.hasInput(4);
            hasInitialH = node.hasInput(5);
            hasInitialC = cell == Cell.LSTM && node.hasInput(6);
            hasPeepholes = cell == Cell.LSTM && node.hasInput(7);
            int gh = d.gateWidth();
            long[] yShape = d.batchMajor
                    ? new long[] {d.batch, d.steps, d.directions, d.hidden}
                    : new long[] {d.steps, d.directions, d.batch, d.hidden};
            long[] stateShape = d.batchMajor
                    ? new long[] {d.batch, d.directions, d.hidden}
                    : new long[] {d.directions, d.batch, d.hidden};
            outputs = new TensorType[cell == Cell.LSTM ? 3 : 2];
            outputs[0] = node.hasOutput(0) ? new TensorType(DType.FLOAT32, yShape) : null;
            outputs[1] = node.hasOutput(1) ? new TensorType(DType.FLOAT32, stateShape) : null;
            if (cell == Cell.LSTM) {
                outputs[2] = node.hasOutput(2) ? new TensorType(DType.FLOAT32, stateShape) : null;
            }
            wBytes = Sgemm.packedBytes(d.input, gh);
            int blocks = (d.hidden + BLOCK - 1) / BLOCK;
            blockStart = new int[blocks + 1];
            rBlockOff = new long[blocks];
            rhBlockOff = new long[blocks];
            rowMajor = new boolean[blocks];
            long rb = 0;
            for (int k = 0; k < blocks; k++) {
                blockStart[k] = k * BLOCK;
                int u = Math.min(BLOCK, d.hidden - k * BLOCK);
                rBlockOff[k] = rb;
                rowMajor[k] = d.batch < 3 && !splitR() && (d.gates * u) % (8 * L) == 0;
                rb += rowMajor[k] ? (long) d.hidden * d.gates * u * 4 : Sgemm.packedBytes(d.hidden, (splitR() ? 2 : d.gates) * u);
                rhBlockOff[k] = rb;
                rb += splitR() ? Sgemm.packedBytes(d.hidden, u) : 0;
            }
            blockStart[blocks] = d.hidden;
            rBytes = rb;
            Tensor w = node.constantInput(1);
            Tensor r = node.constantInput(2);
            Tensor b = node.constantInput(3);
            constW = w == null ? null : node.packedConstant(1, "rnn W panels", wBytes * d.directions,
                    dst -> packW(w.data(), dst, 0));
            constR = r == null ? null : node.packedConstant(2, "rnn R panels" + (splitR() ? " (GRU, split)" : ""),
                    rBytes * d.directions, dst -> {
                        try (java.lang.foreign.Arena tmp = java.lang.foreign.Arena.ofConfined()) {
                            packR(r.data(), dst, 0, tmp.allocate((long) d.hidden * d.gates * BLOCK * 4, 64));
                        }
                    });
            long biasBytes = (long) d.directions * gh * 4;
            constBias = !hasBias || b == null ? null : node.packedConstant(3, "rnn bias" + (linearBeforeReset ? " (W only)" : ""),
                    biasBytes, dst -> inputBias(b.data(), dst, 0));
            constRBias = !linearBeforeReset || !hasBias || b == null ? null
                    : node.packedConstant(3, "rnn recurrent bias", biasBytes, dst -> recurrentBias(b.data(), dst, 0));
            long off = 0;
            offXw = off;
            off += align((long) d.directions * d.steps * d.batch * gh * 4);
            offW = off;
            off += constW == null ? align(wBytes * d.directions) : 0;
            offR = off;
            off += constR == null ? align(rBytes * d.directions) : 0;
            offRTmp = off;
            off += constR == null ? align((long) d.hidden * d.gates * BLOCK * 4) : 0;
            offBias = off;
            off += hasBias && constBias == null ? align(biasBytes) : 0;
            offRBias = off;
            off += linearBeforeReset && hasBias && constRBias == null ? align(biasBytes) : 0;
            offState = off;
            // per direction: h, c (LSTM) or r⊙h (GRU), the recurrent product and one row of scratch
            long hb = align((long) d.batch * d.hidden * 4);
            // per direction: h of the last step and of this one, c (LSTM) or r⊙h (GRU), the
            // recurrent product and one row of scratch
            stateBytes = 3 * hb + align((long) d.batch * gh * 4) + align(d.hidden * 4L);
            off += stateBytes * d.directions;
            workspace = off;
        }

        /** GRU without linear_before_reset multiplies r⊙h by R_h: R_zr and R_h are packed apart. */
        private boolean splitR() {
            return cell == Cell.GRU && !linearBeforeReset;
        }

        private void packW(MemorySegment w, MemorySegment dst, long dstOff) {
            int gh = d.gateWidth();
            for (int dir = 0; dir < d.directions; dir++) {
                Sgemm.packB(w, (long) dir * gh * d.input * 4, 4, d.input * 4L, d.input, gh, dst, dstOff + dir * wBytes,
                        0, Sgemm.panels(gh));
            }
        }

        /**
         * Packs Rᵀ block by block: block k's columns are (gate, unit) for its units, gathered
         * through {@code tmp} (hidden × gates × {@value #BLOCK} floats) into a plain matrix first.
         */
        private void packR(MemorySegment r, MemorySegment dst, long dstOff, MemorySegment tmp) {
            int h = d.hidden;
            int gh = d.gateWidth();
            for (int dir = 0; dir < d.directions; dir++) {
                long src = (long) dir * gh * h * 4;
                for (int k = 0; k + 1 < blockStart.length; k++) {
                    int u0 = blockStart[k];
                    int u = blockStart[k + 1] - u0;
                    int first = splitR() ? 2 : d.gates;
                    gather(r, src, u0, u, 0, first, tmp);
                    if (rowMajor[k]) {
                        MemorySegment.copy(tmp, 0, dst, dstOff + dir * rBytes + rBlockOff[k], (long) h * first * u * 4);
                        continue;
                    }
                    Sgemm.packB(tmp, 0, first * u * 4L, 4, h, first * u, dst, dstOff + dir * rBytes + rBlockOff[k], 0,
                            Sgemm.panels(first * u));
                    if (splitR()) {
                        gather(r, src, u0, u, 2, 3, tmp);
                        Sgemm.packB(tmp, 0, u * 4L, 4, h, u, dst, dstOff + dir * rBytes + rhBlockOff[k], 0, Sgemm.panels(u));
                    }
                }
            }
        }

        /** tmp[k][(g - g0)·u + j] = R[g·H + u0 + j][k] for gates [g0, g1): one block's Rᵀ, row-major. */
        private void gather(MemorySegment r, long src, int u0, int u, int g0, int g1, MemorySegment tmp) {
            int h = d.hidden;
            int width = (g1 - g0) * u;
            for (int g = g0; g < g1; g++) {
                for (int j = 0; j < u; j++) {
                    long row = src + ((long) g * h + u0 + j) * h * 4;
                    long col = ((long) (g - g0) * u + j) * 4;
                    for (int k = 0; k < h; k++) {
                        tmp.set(Tensor.F32, (long) k * width * 4 + col, r.get(Tensor.F32, row + k * 4L));
                    }
                }
            }
        }

        /** The input projection's bias: Wb + Rb, except GRU's linear_before_reset keeps Rb for the recurrent product. */
        private void inputBias(MemorySegment b, MemorySegment dst, long dstOff) {
            int gh = d.gateWidth();
            for (int dir = 0; dir < d.directions; dir++) {
                for (int j = 0; j < gh; j++) {
                    long src = ((long) dir * 2 * gh + j) * 4;
                    float v = b.get(Tensor.F32, src) + (linearBeforeReset ? 0f : b.get(Tensor.F32, src + gh * 4L));
                    dst.set(Tensor.F32, dstOff + ((long) dir * gh + j) * 4, v);
                }
            }
        }

        /** Rb in the block order of the recurrent product (GRU with linear_before_reset only). */
        private void recurrentBias(MemorySegment b, MemorySegment dst, long dstOff) {
            int gh = d.gateWidth();
            int h = d.hidden;
            for (int dir = 0; dir < d.directions; dir++) {
                for (int k = 0; k + 1 < blockStart.length; k++) {
                    int u0 = blockStart[k];
                    int u = blockStart[k + 1] - u0;
                    for (int g = 0; g < d.gates; g++) {
                        MemorySegment.copy(b, ((long) dir * 2 * gh + gh + (long) g * h + u0) * 4, dst,
                                dstOff + ((long) dir * gh + (long) d.gates * u0 + (long) g * u) * 4, u * 4L);
                    }
                }
            }
        }

        @Override
        public TensorType[] outputTypes() {
            return outputs.clone();
        }

        @Override
        public long workspaceBytes() {
            return workspace;
        }

        @Override
        public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            int gh = d.gateWidth();
            if (hasLengths) {
                for (int b = 0; b < d.batch; b++) {
                    long len = in[4].getLong(b);
                    if (len < 0 || len > d.steps) {
                        throw new IllegalArgumentException("sequence_lens[" + b + "] is " + len + ", outside [0, " + d.steps + "]");
                    }
                }
            }
            MemorySegment wp = constW;
            long wBase = 0;
            if (wp == null) {
                wp = ws;
                wBase = offW;
                packW(in[1].data(), ws, offW);
            }
            MemorySegment rp = constR;
            long rBase = 0;
            if (rp == null) {
                rp = ws;
                rBase = offR;
                packR(in[2].data(), ws, offR, ws.asSlice(offRTmp, (long) d.hidden * d.gates * BLOCK * 4));
            }
            MemorySegment bias = constBias;
            MemorySegment rBias = constRBias;
            if (hasBias && bias == null) {
                inputBias(in[3].data(), ws, offBias);
                bias = ws.asSlice(offBias, (long) d.directions * gh * 4);
            }
            if (linearBeforeReset && hasBias && rBias == null) {
                recurrentBias(in[3].data(), ws, offRBias);
                rBias = ws.asSlice(offRBias, (long) d.directions * gh * 4);
            }
            for (int dir = 0; dir < d.directions; dir++) {
                project(in[0].data(), wp, wBase + dir * wBytes, bias, dir, ws, ctx);
            }
            int blocks = blockStart.length - 1;
            long macsPerStep = (long) d.batch * gh * d.hidden;
            // slices of a direction's hidden units, each a task stepping in lockstep with the others
            int slices = macsPerStep < MIN_SLICE_MACS ? 1 : Math.max(1, Math.min(blocks, ctx.parallelism() / d.directions));
            Direction[] dirs = new Direction[d.directions];
            for (int dir = 0; dir < d.directions; dir++) {
                dirs[dir] = new Direction(dir, slices, in, out, ws, rp, rBase + dir * rBytes, rBias);
            }
            int tasks = d.directions * slices;
            if (tasks == 1 || ctx.parallelism() == 1) {
                for (int t = 0; t < tasks; t++) {
                    dirs[t / slices].task(t % slices);
                }
            } else {
                ctx.parallelFor(tasks, t -> dirs[t / slices].task(t % slices));
            }
            for (Direction dr : dirs) {
                dr.finish();
            }
        }

        /** xw[t, b, :] = X[t, b, :]·Wᵀ + bias for every step of one direction: one GEMM. */
        private void project(MemorySegment x, MemorySegment wp, long wOff, MemorySegment bias, int dir,
                MemorySegment ws, ExecContext ctx) {
            int gh = d.gateWidth();
            long xwBase = offXw + (long) dir * d.steps * d.batch * gh * 4;
            Sgemm.Epilogue ep = bias == null ? Sgemm.Epilogue.PLAIN
                    : new Sgemm.Epilogue(1f, false, bias.asSlice((long) dir * gh * 4, gh * 4L), null, 0, null, 0f);
            Sgemm.Problem p;
            if (d.batchMajor) {
                // X is [batch, steps, input]: one batch entry per sequence, rows of C interleaved so
                // that step t's rows stay together, as in the sequence-major case
                long[] aOff = new long[d.batch];
                long[] bOff = new long[d.batch];
                long[] cOff = new long[d.batch];
                for (int b = 0; b < d.batch; b++) {
                    aOff[b] = (long) b * d.steps * d.input * 4;
                    bOff[b] = wOff;
                    cOff[b] = xwBase + (long) b * gh * 4;
                }
                p = new Sgemm.Problem(d.batch, d.steps, gh, d.input, x, aOff, d.input * 4L, 4, wp, bOff, ws, cOff,
                        (long) d.batch * gh * 4);
            } else {
                p = new Sgemm.Problem(1, d.steps * d.batch, gh, d.input, x, new long[] {0}, d.input * 4L, 4, wp,
                        new long[] {wOff}, ws, new long[] {xwBase}, gh * 4L);
            }
            Sgemm.run(p, ep, ctx);
        }

        /**
         * The time loop of one direction, its hidden units split into {@code slices} runs of blocks.
         * The recurrent product g = h·Rᵀ lands block by block in the gate buffer (block k's gates
         * side by side at column gates·u0); the input projection keeps ONNX's gate order, gate j
         * of unit u at column j·H + u. Each step (two phases for GRU without linear_before_reset,
         * whose second product needs all of r⊙h) reads h of the last step from one buffer and
         * writes the new h into the other. A slice's task waits for every slice to finish the
         * previous phase before it starts its own, and meanwhile runs any slice's work nobody has
         * claimed: a core that is late (descheduled on a busy machine) costs its share, not a stall.
         */
        private final class Direction {
            final int dir;
            final int slices;
            final int phases;
            final Tensor[] in;
            final Tensor[] out;
            final MemorySegment ws;
            final long[] hOff = new long[2];
            final long cOff;
            final long gOff;
            final long tmpOff;
            final long xwBase;
            /** Per parity of the step: the product of each block, reading that parity's h. */
            final Sgemm.Problem[][] rec = new Sgemm.Problem[2][];
            final Sgemm.Problem[] recH;
            final Sgemm.Epilogue[] ep;
            final MemorySegment rp;
            final long rOff;
            final int[] sliceStart;
            final GateActivation.Bound f;
            final GateActivation.Bound g;
            final GateActivation.Bound act3;
            final MemorySegment peep;
            final long peepOff;
            final ExecContext inline = ExecContext.inline(MemorySegment.NULL);
            /** Per slice: the next phase to claim, and the phases done. */
            final AtomicIntegerArray claimed;
            final AtomicIntegerArray done;

            Direction(int dir, int slices, Tensor[] in, Tensor[] out, MemorySegment ws, MemorySegment rp, long rOff,
                    MemorySegment rBias) {
                this.dir = dir;
                this.slices = slices;
                this.phases = splitR() ? 2 : 1;
                this.in = in;
                this.out = out;
                this.ws = ws;
                int h = d.hidden;
                int gh = d.gateWidth();
                int blocks = blockStart.length - 1;
                long hb = align((long) d.batch * h * 4);
                hOff[0] = offState + dir * stateBytes;
                hOff[1] = hOff[0] + hb;
                cOff = hOff[1] + hb;
                gOff = cOff + hb;
                tmpOff = gOff + align((long) d.batch * gh * 4);
                xwBase = offXw + (long) dir * d.steps * d.batch * gh * 4;
                for (int b = 0; b < d.batch; b++) {
                    initState(hasInitialH ? in[5] : null, hasInitialH, dir, b, ws, hOff[0] + (long) b * h * 4);
                    if (cell == Cell.LSTM) {
                        initState(hasInitialC ? in[6] : null, hasInitialC, dir, b, ws, cOff + (long) b * h * 4);
                    }
                }
                this.rp = rp;
                this.rOff = rOff;
                recH = splitR() ? new Sgemm.Problem[blocks] : null;
                ep = new Sgemm.Epilogue[blocks];
                for (int p = 0; p < 2; p++) {
                    rec[p] = new Sgemm.Problem[blocks];
                }
                for (int k = 0; k < blocks; k++) {
                    int u0 = blockStart[k];
                    int u = blockStart[k + 1] - u0;
                    long gCol = gOff + (long) d.gates * u0 * 4;
                    int width = (splitR() ? 2 : d.gates) * u;
                    for (int p = 0; p < 2; p++) {
                        rec[p][k] = new Sgemm.Problem(1, d.batch, width, h, ws, new long[] {hOff[p]}, h * 4L, 4, rp,
                                new long[] {rOff + rBlockOff[k]}, ws, new long[] {gCol}, gh * 4L);
                    }
                    if (splitR()) {
                        // r⊙h sits where LSTM keeps c
                        recH[k] = new Sgemm.Problem(1, d.batch, u, h, ws, new long[] {cOff}, h * 4L, 4, rp,
                                new long[] {rOff + rhBlockOff[k]}, ws, new long[] {gCol + 2L * u * 4}, gh * 4L);
                    }
                    ep[k] = rBias == null ? Sgemm.Epilogue.PLAIN : new Sgemm.Epilogue(1f, false,
                            rBias.asSlice(((long) dir * gh + (long) d.gates * u0) * 4, (long) d.gates * u * 4), null, 0,
                            null, 0f);
                }
                sliceStart = new int[slices + 1];
                for (int j = 0; j <= slices; j++) {
                    sliceStart[j] = (int) ((long) j * blocks / slices);
                }
                int a0 = dir * cell.activations.length;
                f = acts[a0];
                g = cell == Cell.RNN ? null : acts[a0 + 1];
                act3 = cell == Cell.LSTM ? acts[a0 + 2] : null;
                peep = hasPeepholes ? in[7].data() : null;
                peepOff = (long) dir * 3 * h * 4;
                claimed = new AtomicIntegerArray(slices);
                done = new AtomicIntegerArray(slices);
            }

            /** The task of slice j: every phase of every step, in lockstep with the other slices. */
            void task(int j) {
                int phasesTotal = d.steps * phases;
                for (int q = 0; q < phasesTotal; q++) {
                    if (q > 0) {
                        for (int k = 0; k < slices; k++) {
                            while (done.get(k) < q) {
                                if (!tryRun(k, q - 1)) {
                                    Thread.onSpinWait();
                                }
                            }
                        }
                    }
                    tryRun(j, q);
                }
            }

            private boolean tryRun(int k, int q) {
                if (claimed.get(k) != q || !claimed.compareAndSet(k, q, q + 1)) {
                    return false;
                }
                work(k, q / phases, q % phases);
                done.set(k, q + 1);
                return true;
            }

            /** Phase {@code phase} of step {@code s} for the blocks of slice k. */
            private void work(int k, int s, int phase) {
                int h = d.hidden;
                int gh = d.gateWidth();
                int t = reverse[dir] ? d.steps - 1 - s : s;
                int parity = s & 1;
                long hPrev = hOff[parity];
                long hNew = hOff[1 - parity];
                int k0 = sliceStart[k];
                int k1 = sliceStart[k + 1];
                boolean backwards = parity == 1;
                for (int i = k0; i < k1; i++) {
                    int blk = backwards ? k1 - 1 - (i - k0) : i;
                    if (rowMajor[blk]) {
                        product(blk, hPrev);
                    } else {
                        Sgemm.run(phase == 0 ? rec[parity][blk] : recH[blk], phase == 0 ? ep[blk] : Sgemm.Epilogue.PLAIN,
                                inline);
                    }
                }
                int u0 = blockStart[k0];
                int units = blockStart[k1] - u0;
                for (int b = 0; b < d.batch; b++) {
                    long hp = hPrev + ((long) b * h + u0) * 4;
                    long hn = hNew + ((long) b * h + u0) * 4;
                    boolean active = active(in, t, b);
                    if (!active) {
                        if (phase == phases - 1) {
                            // a finished sequence keeps its state
                            MemorySegment.copy(ws, hp, ws, hn, units * 4L);
                        }
                    } else {
                        long xw = xwBase + ((long) t * d.batch + b) * gh * 4;
                        long gr = gOff + (long) b * gh * 4;
                        for (int blk = k0; blk < k1; blk++) {
                            step(blk, phase, xw, gr, b, hPrev, hNew);
                        }
                    }
                    if (phase == phases - 1 && out[0] != null) {
                        long yo = yOffset(t, dir, b) + u0 * 4L;
                        if (active) {
                            MemorySegment.copy(ws, hn, out[0].data(), yo, units * 4L);
                        } else {
                            zero(out[0].data(), yo, units);
                        }
                    }
                }
            }

            /** Block blk's product g = h·Rᵀ (plus Rb where the product carries it), row by row. */
            private void product(int blk, long hPrev) {
                int h = d.hidden;
                int gh = d.gateWidth();
                int u0 = blockStart[blk];
                int width = d.gates * (blockStart[blk + 1] - u0);
                long c = gOff + (long) d.gates * u0 * 4;
                MemorySegment bias = ep[blk].colBias();
                for (int b = 0; b < d.batch; b++) {
                    long cb = c + (long) b * gh * 4;
                    gemvRows(ws, hPrev + (long) b * h * 4, rp, rOff + rBlockOff[blk], h, width, ws, cb);
                    if (bias != null) {
                        add(ws, cb, bias, 0, width);
                    }
                }
            }

            /** One block of one row: the gates of phase {@code phase} and, in the last phase, h. */
            private void step(int blk, int phase, long xw, long gr, int b, long hPrev, long hNew) {
                int h = d.hidden;
                int u0 = blockStart[blk];
                int u = blockStart[blk + 1] - u0;
                long gk = gr + (long) d.gates * u0 * 4;
                long xk = xw + u0 * 4L;
                long hp = hPrev + ((long) b * h + u0) * 4;
                long hn = hNew + ((long) b * h + u0) * 4;
                long ck = cOff + ((long) b * h + u0) * 4;
                switch (cell) {
                    case RNN -> {
                        add(ws, gk, ws, xk, u);
                        activate(f, ws, gk, u);
                        MemorySegment.copy(ws, gk, ws, hn, u * 4L);
                    }
                    case LSTM -> lstmStep(ws, xk, gk, u, hn, ck, tmpOff + u0 * 4L, f, g, act3, peep, peepOff + u0 * 4L);
                    case GRU -> {
                        if (!splitR()) {
                            gruLinearBeforeReset(ws, xk, gk, u, hp, hn, f, g);
                        } else if (phase == 0) {
                            // z and r now; r⊙h feeds the second product
                            gateSum(ws, gk, xk, u, 0, 2);
                            activate(f, ws, gk, 2 * u);
                            mul(ws, ck, ws, gk + u * 4L, ws, hp, u);
                        } else {
                            long hh = gk + 2L * u * 4;
                            add(ws, hh, ws, xw + (2L * h + u0) * 4, u);
                            activate(g, ws, hh, u);
                            blend(ws, hn, ws, hp, ws, gk, ws, hh, u);
                        }
                    }
                }
            }

            /** Y_h and Y_c from the buffer the last step wrote. */
            void finish() {
                int h = d.hidden;
                long hLast = hOff[d.steps & 1];
                for (int b = 0; b < d.batch; b++) {
                    long so = stateOffset(dir, b);
                    if (out[1] != null) {
                        MemorySegment.copy(ws, hLast + (long) b * h * 4, out[1].data(), so, h * 4L);
                    }
                    if (cell == Cell.LSTM && out[2] != null) {
                        MemorySegment.copy(ws, cOff + (long) b * h * 4, out[2].data(), so, h * 4L);
                    }
                }
            }
        }

        /** Gates [g0, g1) of one block: g += xw, the block's gate j at j·u, the projection's at j·H. */
        private void gateSum(MemorySegment ws, long gk, long xk, int u, int g0, int g1) {
            for (int j = g0; j < g1; j++) {
                add(ws, gk + (long) j * u * 4, ws, xk + (long) j * d.hidden * 4, u);
            }
        }

        /** LSTM over one block of u units: gates i, o, f, c at 0, u, 2u, 3u of the block (ONNX's order). */
        private void lstmStep(MemorySegment ws, long xk, long gk, int u, long hk, long ck, long tmp, GateActivation.Bound f,
                GateActivation.Bound g, GateActivation.Bound hAct, MemorySegment peep, long peepOff) {
            long ub = u * 4L;
            long hb = d.hidden * 4L;
            long gi = gk;
            long go = gk + ub;
            long gf = gk + 2 * ub;
            long gc = gk + 3 * ub;
            gateSum(ws, gk, xk, u, 0, 4);
            if (peep != null) {
                fma(ws, gi, peep, peepOff, ws, ck, u);
            }
            activate(f, ws, gi, u);
            if (inputForget) {
                oneMinus(ws, gf, ws, gi, u);
            } else {
                if (peep != null) {
                    fma(ws, gf, peep, peepOff + 2 * hb, ws, ck, u);
                }
                activate(f, ws, gf, u);
            }
            activate(g, ws, gc, u);
            cellUpdate(ws, ck, gf, gi, gc, u);
            if (peep != null) {
                fma(ws, go, peep, peepOff + hb, ws, ck, u);
            }
            activate(f, ws, go, u);
            MemorySegment.copy(ws, ck, ws, tmp, ub);
            hAct.applyInPlace(ws, tmp, u);
            mul(ws, hk, ws, go, ws, tmp, u);
        }

        /** GRU with linear_before_reset over one block: z, r, h at 0, u, 2u; the product carries Rb. */
        private void gruLinearBeforeReset(MemorySegment ws, long xk, long gk, int u, long hp, long hn, GateActivation.Bound f,
                GateActivation.Bound g) {
            long ub = u * 4L;
            gateSum(ws, gk, xk, u, 0, 2);
            activate(f, ws, gk, 2 * u);
            // h~ = g(xw_h + r ⊙ (h·R_hᵀ + Rb_h))
            mul(ws, gk + 2 * ub, ws, gk + ub, ws, gk + 2 * ub, u);
            add(ws, gk + 2 * ub, ws, xk + 2L * d.hidden * 4, u);
            activate(g, ws, gk + 2 * ub, u);
            blend(ws, hn, ws, hp, ws, gk, ws, gk + 2 * ub, u);
        }

        private void activate(GateActivation.Bound a, MemorySegment s, long off, int n) {
            if (clip > 0) {
                clamp(s, off, n, clip);
            }
            a.applyInPlace(s, off, n);
        }

        private boolean active(Tensor[] in, int t, int b) {
            return !hasLengths || t < in[4].getLong(b);
        }

        private void initState(Tensor init, boolean present, int dir, int b, MemorySegment ws, long dst) {
            if (present) {
                MemorySegment.copy(init.data(), stateOffset(dir, b), ws, dst, d.hidden * 4L);
            } else {
                zero(ws, dst, d.hidden);
            }
        }

        private long stateOffset(int dir, int b) {
            long row = d.batchMajor ? (long) b * d.directions + dir : (long) dir * d.batch + b;
            return row * d.hidden * 4;
        }

        private long yOffset(int t, int dir, int b) {
            long row = d.batchMajor ? ((long) b * d.steps + t) * d.directions + dir
                    : ((long) t * d.directions + dir) * d.batch + b;
            return row * d.hidden * 4;
        }
    }

    /**
     * c[0, j] = Σₖ a[k]·b[k, j] for j < w, b row-major (rows of w floats from bo) and w a
     * multiple of eight vectors: eight accumulators across a row, one broadcast of a[k] each,
     * the rows read in order (one contiguous stream when w is eight vectors).
     */
    static void gemvRows(MemorySegment a, long a0, MemorySegment b, long bo, int k, int w, MemorySegment c, long co) {
        long rs = w * 4L;
        long vb = L * 4L;
        for (int j = 0; j < w; j += 8 * L) {
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            long pb = bo + j * 4L;
            long pa = a0;
            for (int kk = 0; kk < k; kk++, pa += 4, pb += rs) {
                FloatVector x = FloatVector.broadcast(S, a.get(Tensor.F32, pa));
                s0 = FloatVector.fromMemorySegment(S, b, pb, LE).fma(x, s0);
                s1 = FloatVector.fromMemorySegment(S, b, pb + vb, LE).fma(x, s1);
                s2 = FloatVector.fromMemorySegment(S, b, pb + 2 * vb, LE).fma(x, s2);
                s3 = FloatVector.fromMemorySegment(S, b, pb + 3 * vb, LE).fma(x, s3);
                s4 = FloatVector.fromMemorySegment(S, b, pb + 4 * vb, LE).fma(x, s4);
                s5 = FloatVector.fromMemorySegment(S, b, pb + 5 * vb, LE).fma(x, s5);
                s6 = FloatVector.fromMemorySegment(S, b, pb + 6 * vb, LE).fma(x, s6);
                s7 = FloatVector.fromMemorySegment(S, b, pb + 7 * vb, LE).fma(x, s7);
            }
            long o = co + j * 4L;
            s0.intoMemorySegment(c, o, LE);
            s1.intoMemorySegment(c, o + vb, LE);
            s2.intoMemorySegment(c, o + 2 * vb, LE);
            s3.intoMemorySegment(c, o + 3 * vb, LE);
            s4.intoMemorySegment(c, o + 4 * vb, LE);
            s5.intoMemorySegment(c, o + 5 * vb, LE);
            s6.intoMemorySegment(c, o + 6 * vb, LE);
            s7.intoMemorySegment(c, o + 7 * vb, LE);
        }
    }

    // ---- vector loops over n floats (offsets in bytes), each with a scalar tail ------------------

    /** n zeros at dst. */
    static void zero(MemorySegment s, long dst, int n) {
        int full = n - n % L;
        FloatVector z = FloatVector.zero(S);
        for (int j = 0; j < full; j += L) {
            z.intoMemorySegment(s, dst + j * 4L, LE);
        }
        for (int j = full; j < n; j++) {
            s.set(Tensor.F32, dst + j * 4L, 0f);
        }
    }

    /** dst += src. */
    static void add(MemorySegment ds, long dst, MemorySegment ss, long src, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector.fromMemorySegment(S, ds, dst + o, LE).add(FloatVector.fromMemorySegment(S, ss, src + o, LE))
                    .intoMemorySegment(ds, dst + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            ds.set(Tensor.F32, dst + o, ds.get(Tensor.F32, dst + o) + ss.get(Tensor.F32, src + o));
        }
    }

    /** dst = a ⊙ b. */
    static void mul(MemorySegment ds, long dst, MemorySegment as, long a, MemorySegment bs, long b, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector.fromMemorySegment(S, as, a + o, LE).mul(FloatVector.fromMemorySegment(S, bs, b + o, LE))
                    .intoMemorySegment(ds, dst + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            ds.set(Tensor.F32, dst + o, as.get(Tensor.F32, a + o) * bs.get(Tensor.F32, b + o));
        }
    }

    /** dst += p ⊙ c (peepholes). */
    static void fma(MemorySegment ds, long dst, MemorySegment ps, long p, MemorySegment cs, long c, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector.fromMemorySegment(S, ps, p + o, LE).fma(FloatVector.fromMemorySegment(S, cs, c + o, LE),
                    FloatVector.fromMemorySegment(S, ds, dst + o, LE)).intoMemorySegment(ds, dst + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            ds.set(Tensor.F32, dst + o, ds.get(Tensor.F32, dst + o) + ps.get(Tensor.F32, p + o) * cs.get(Tensor.F32, c + o));
        }
    }

    /** dst = 1 - src (LSTM's input_forget: f = 1 - i). */
    static void oneMinus(MemorySegment ds, long dst, MemorySegment ss, long src, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector.fromMemorySegment(S, ss, src + o, LE).neg().add(1f).intoMemorySegment(ds, dst + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            ds.set(Tensor.F32, dst + o, 1f - ss.get(Tensor.F32, src + o));
        }
    }

    /** Clip: values bounded to [-threshold, threshold] before an activation. */
    static void clamp(MemorySegment s, long off, int n, float threshold) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = off + j * 4L;
            FloatVector.fromMemorySegment(S, s, o, LE).max(-threshold).min(threshold).intoMemorySegment(s, o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = off + j * 4L;
            s.set(Tensor.F32, o, Math.min(Math.max(s.get(Tensor.F32, o), -threshold), threshold));
        }
    }

    /** LSTM's cell: c = f ⊙ c + i ⊙ c~, all in one segment. */
    static void cellUpdate(MemorySegment s, long c, long f, long i, long cc, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector iv = FloatVector.fromMemorySegment(S, s, i + o, LE);
            FloatVector ccv = FloatVector.fromMemorySegment(S, s, cc + o, LE);
            FloatVector fv = FloatVector.fromMemorySegment(S, s, f + o, LE);
            fv.fma(FloatVector.fromMemorySegment(S, s, c + o, LE), iv.mul(ccv)).intoMemorySegment(s, c + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            s.set(Tensor.F32, c + o, s.get(Tensor.F32, f + o) * s.get(Tensor.F32, c + o)
                    + s.get(Tensor.F32, i + o) * s.get(Tensor.F32, cc + o));
        }
    }

    /** GRU's update: out = (1 - z) ⊙ h~ + z ⊙ h = h~ + z ⊙ (h - h~). */
    static void blend(MemorySegment os, long out, MemorySegment hs, long h, MemorySegment zs, long z, MemorySegment ns,
            long hn, int n) {
        int full = n - n % L;
        for (int j = 0; j < full; j += L) {
            long o = j * 4L;
            FloatVector nv = FloatVector.fromMemorySegment(S, ns, hn + o, LE);
            FloatVector hv = FloatVector.fromMemorySegment(S, hs, h + o, LE);
            FloatVector.fromMemorySegment(S, zs, z + o, LE).fma(hv.sub(nv), nv).intoMemorySegment(os, out + o, LE);
        }
        for (int j = full; j < n; j++) {
            long o = j * 4L;
            float nv = ns.get(Tensor.F32, hn + o);
            os.set(Tensor.F32, out + o, nv + zs.get(Tensor.F32, z + o) * (hs.get(Tensor.F32, h + o) - nv));
        }
    }

    private static long align(long v) {
        return (v + 63) & -64L;
    }
}
