package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
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
}
