package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Einsum: the equation is parsed at compile time into labels with sizes and per-operand strides
 * (repeated labels add their strides, which is how diagonals fall out; broadcast dimensions get
 * stride 0); run() walks output × summed labels. Integers accumulate exactly in long.
 */
final class EinsumOp {
    private EinsumOp() {}

    static Kernel create(NodeContext node) {
        String eq = node.attrString("equation", null);
        if (eq == null) {
            throw node.error("attribute equation is required");
        }
        eq = eq.replace(" ", "");
        int inputs = node.inputCount();
        String lhs = eq;
        String rhs = null;
        int arrow = eq.indexOf("->");
        if (arrow >= 0) {
            lhs = eq.substring(0, arrow);
            rhs = eq.substring(arrow + 2);
        }
        String[] terms = lhs.split(",", -1);
        if (terms.length != inputs) {
            throw node.error("equation '" + eq + "' has " + terms.length + " operands but the node has " + inputs
                    + " inputs");
        }
        // Ellipsis dimensions become labels 256.. (right-aligned across operands, numpy style).
        int ellRank = 0;
        List<int[]> termLabels = new ArrayList<>();
        for (int t = 0; t < inputs; t++) {
            int rank = node.inputType(t).rank();
            String term = terms[t];
            int letters = term.replace("...", "").length();
            if (term.contains("...")) {
                ellRank = Math.max(ellRank, rank - letters);
            } else if (letters != rank) {
                throw node.error("operand " + t + " '" + term + "' names " + letters + " axes but has rank " + rank);
            }
        }
        Map<Integer, Long> sizes = new LinkedHashMap<>();
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (int t = 0; t < inputs; t++) {
            long[] shape = node.inputType(t).shape();
            int[] labels = expand(terms[t], shape.length, ellRank);
            termLabels.add(labels);
            for (int d = 0; d < labels.length; d++) {
                int l = labels[d];
                long prev = sizes.getOrDefault(l, 1L);
                if (prev != 1 && shape[d] != 1 && prev != shape[d]) {
                    throw node.error("label " + name(l) + " has sizes " + prev + " and " + shape[d]);
                }
                sizes.put(l, Math.max(prev, shape[d]));
                counts.merge(l, 1, Integer::sum);
            }
        }
        int[] outLabels;
        if (rhs == null) {
            List<Integer> o = new ArrayList<>();
            for (int e = 0; e < ellRank; e++) {
                o.add(256 + e);
            }
            for (char c = 'A'; c <= 'z'; c++) {
                if (counts.getOrDefault((int) c, 0) == 1) {
                    o.add((int) c);
                }
            }
            outLabels = o.stream().mapToInt(Integer::intValue).toArray();
        } else {
            outLabels = expand(rhs, -1, ellRank);
        }
        for (int l : outLabels) {
            if (!sizes.containsKey(l)) {
                throw node.error("output label " + name(l) + " does not appear in any operand");
            }
        }
        List<Integer> all = new ArrayList<>();
        for (int l : outLabels) {
            all.add(l);
        }
        for (int l : sizes.keySet()) {
            if (!all.contains(l)) {
                all.add(l);
            }
        }
        int nl = all.size();
        long[] dims = new long[nl];
        for (int i = 0; i < nl; i++) {
            dims[i] = sizes.get(all.get(i));
        }
        long[][] strides = new long[inputs][nl];
        for (int t = 0; t < inputs; t++) {
            long[] shape = node.inputType(t).shape();
            int[] labels = termLabels.get(t);
            long s = 1;
            for (int d = labels.length - 1; d >= 0; d--) {
                if (shape[d] != 1) {
                    strides[t][all.indexOf(labels[d])] += s;
                }
                s *= shape[d];
            }
        }
        long[] outShape = new long[outLabels.length];
        for (int i = 0; i < outLabels.length; i++) {
            outShape[i] = dims[i];
        }
        TensorType out = new TensorType(node.inputType(0).dtype(), outShape);
        if (inputs == 2 && out.dtype() == DType.FLOAT32) {
            Kernel fast = BatchedMatMul.plan(out, dims, outLabels.length, strides, termLabels, all);
            if (fast != null) {
                return fast;
            }
        }
        return new Impl(out, dims, outLabels.length, strides);
    }

    private static String name(int label) {
        return label >= 256 ? "...(" + (label - 256) + ")" : String.valueOf((char) label);
    }

    /** Labels of each axis of a term; its ellipsis stands for the last `rank - letters` of ellRank labels. */
    private static int[] expand(String term, int rank, int ellRank) {
        int at = term.indexOf("...");
        String letters = term.replace("...", "");
        int ell = at < 0 ? 0 : (rank < 0 ? ellRank : rank - letters.length());
        int[] labels = new int[letters.length() + ell];
        int d = 0;
        for (int i = 0; i < term.length(); ) {
            if (term.startsWith("...", i)) {
                for (int e = 0; e < ell; e++) {
                    labels[d++] = 256 + ellRank - ell + e;
                }
                i += 3;
            } else {
                labels[d++] = term.charAt(i++);
            }
        }
        return labels;
    }

    static final class Impl implements Kernel {
        private final TensorType out;
        private final long[] dims;
        private final int outRank;
        private final long[][] strides;

        Impl(TensorType out, long[] dims, int outRank, long[][] strides) {
            this.out = out;
            this.dims = dims;
            this.outRank = outRank;
            this.strides = strides;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            Tensor y = outs[0];
            boolean integer = !out.dtype().isFloatingPoint();
            int nl = dims.length;
            int ops = in.length;
            long outCount = y.elementCount();
            long inner = 1;
            for (int i = outRank; i < nl; i++) {
                inner *= dims[i];
            }
            long[] idx = new long[nl];
            long[] off = new long[ops];
            for (long o = 0; o < outCount; o++) {
                // Decompose the output index over the output labels (row-major).
                long rem = o;
                for (int i = outRank - 1; i >= 0; i--) {
                    idx[i] = rem % dims[i];
                    rem /= dims[i];
                }
                for (int i = outRank; i < nl; i++) {
                    idx[i] = 0;
                }
                double sum = 0;
                long isum = 0;
                for (long r = 0; r < inner; r++) {
                    for (int t = 0; t < ops; t++) {
                        long s = 0;
                        for (int i = 0; i < nl; i++) {
                            s += idx[i] * strides[t][i];
                        }
                        off[t] = s;
                    }
                    if (integer) {
                        long p = 1;
                        for (int t = 0; t < ops; t++) {
                            p *= in[t].getLong(off[t]);
                        }
                        isum += p;
                    } else {
                        double p = 1;
                        for (int t = 0; t < ops; t++) {
                            p *= in[t].getDouble(off[t]);
                        }
                        sum += p;
                    }
                    for (int i = nl - 1; i >= outRank; i--) {
                        if (++idx[i] < dims[i]) {
                            break;
                        }
                        idx[i] = 0;
                    }
                }
                if (integer) {
                    y.setLong(o, isum);
                } else {
                    y.setDouble(o, sum);
                }
            }
        }
    }

    /**
     * Two float32 operands whose labels split into batch (both operands and the output), m (A and
     * output), n (B and output, last in the output) and k (A and B only), at most one each of m,
     * n and k: a batched {@link Sgemm} with A read through its strides and B packed per run.
     */
    static final class BatchedMatMul implements Kernel {
        private final TensorType out;
        private final int m;
        private final int n;
        private final int k;
        private final long ars;
        private final long aks;
        private final long bks;
        private final long bns;
        private final long ldc;
        private final long[] aOff;
        private final long[] bSrc;
        private final long[] bOff;
        private final long[] cOff;
        private final long packed;

        private BatchedMatMul(TensorType out, int m, int n, int k, long ars, long aks, long bks, long bns, long ldc,
                              long[] aOff, long[] bSrc, long[] cOff) {
            this.out = out;
            this.m = m;
            this.n = n;
            this.k = k;
            this.ars = ars;
            this.aks = aks;
            this.bks = bks;
            this.bns = bns;
            this.ldc = ldc;
            this.aOff = aOff;
            this.bSrc = bSrc;
            this.cOff = cOff;
            this.packed = Sgemm.packedBytes(k, n);
            this.bOff = new long[aOff.length];
            for (int i = 0; i < bOff.length; i++) {
                bOff[i] = i * packed;
            }
        }

        /** The batched-GEMM form of the contraction, or null when the labels do not fit it. */
        static Kernel plan(TensorType out, long[] dims, int outRank, long[][] strides, List<int[]> termLabels,
                           List<Integer> all) {
            for (int[] labels : termLabels) {
                for (int i = 0; i < labels.length; i++) {
                    for (int j = i + 1; j < labels.length; j++) {
                        if (labels[i] == labels[j]) {
                            return null;
                        }
                    }
                }
            }
            int nl = dims.length;
            long[] outStrides = new long[nl];
            long s = 1;
            for (int i = outRank - 1; i >= 0; i--) {
                outStrides[i] = s;
                s *= dims[i];
            }
            int mi = -1;
            int ni = -1;
            int ki = -1;
            List<Integer> batch = new ArrayList<>();
            for (int i = 0; i < nl; i++) {
                boolean inA = contains(termLabels.get(0), all.get(i));
                boolean inB = contains(termLabels.get(1), all.get(i));
                boolean inOut = i < outRank;
                if (inA && inB && inOut) {
                    batch.add(i);
                } else if (inA && inOut && mi < 0) {
                    mi = i;
                } else if (inB && inOut && ni < 0) {
                    ni = i;
                } else if (inA && inB && ki < 0) {
                    ki = i;
                } else {
                    return null;
                }
            }
            if (ni >= 0 && outStrides[ni] != 1) {
                return null;
            }
            int m = mi < 0 ? 1 : (int) dims[mi];
            int n = ni < 0 ? 1 : (int) dims[ni];
            int k = ki < 0 ? 1 : (int) dims[ki];
            long batchCount = 1;
            for (int b : batch) {
                batchCount *= dims[b];
            }
            if (batchCount > 1 << 16) {
                return null;
            }
            int bc = (int) batchCount;
            long[] aOff = new long[bc];
            long[] bSrc = new long[bc];
            long[] cOff = new long[bc];
            long[] idx = new long[batch.size()];
            for (int t = 0; t < bc; t++) {
                for (int j = 0; j < batch.size(); j++) {
                    int l = batch.get(j);
                    aOff[t] += idx[j] * strides[0][l] * 4L;
                    bSrc[t] += idx[j] * strides[1][l] * 4L;
                    cOff[t] += idx[j] * outStrides[l] * 4L;
                }
                for (int j = batch.size() - 1; j >= 0; j--) {
                    if (++idx[j] < dims[batch.get(j)]) {
                        break;
                    }
                    idx[j] = 0;
                }
            }
            long ars = mi < 0 ? 0 : strides[0][mi] * 4L;
            long aks = ki < 0 ? 4 : strides[0][ki] * 4L;
            long bks = ki < 0 ? 0 : strides[1][ki] * 4L;
            long bns = ni < 0 ? 4 : strides[1][ni] * 4L;
            long ldc = mi < 0 ? 0 : outStrides[mi] * 4L;
            return new BatchedMatMul(out, m, n, k, ars, aks, bks, bns == 0 ? 4 : bns, ldc, aOff, bSrc, cOff);
        }

        private static boolean contains(int[] labels, int l) {
            for (int x : labels) {
                if (x == l) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public TensorType[] outputTypes() {
            return new TensorType[] {out};
        }

        @Override
        public long workspaceBytes() {
            return packed * aOff.length;
        }

        @Override
        public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
            MemorySegment ws = ctx.workspace();
            int panels = Sgemm.panels(n);
            for (int t = 0; t < bSrc.length; t++) {
                Sgemm.packB(in[1].data(), bSrc[t], bks, bns, k, n, ws, bOff[t], 0, panels);
            }
            Sgemm.run(new Sgemm.Problem(aOff.length, m, n, k, in[0].data(), aOff, ars, aks, ws, bOff,
                    outs[0].data(), cOff, ldc), Sgemm.Epilogue.PLAIN, ctx);
        }
    }
}
