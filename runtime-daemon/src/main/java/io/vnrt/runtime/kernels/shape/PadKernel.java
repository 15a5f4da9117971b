package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Pad in modes constant, reflect, edge and wrap; negative pads crop. Trailing unpadded axes are
 * merged into one block, the last padded axis is compiled into runs (copy k blocks from the input,
 * or write k constant blocks), and every other output row maps to one input row or is constant.
 */
final class PadKernel implements Kernel {
    private enum Mode { CONSTANT, REFLECT, EDGE, WRAP }

    private final TensorType out;
    private final int es;
    /** Outer axes (before the row axis): output extents and, per output index, the input index or -1. */
    private final long[] outerExtent;
    private final long[][] outerMap;
    private final long[] inOuterStrides;
    /** Runs along the row axis, in blocks: {outStart, inStart or -1, length}. */
    private final long[][] runs;
    private final long blockBytes;
    private final long outRowBytes;
    private final boolean constantFromInput;
    private final long constantBits;

    private PadKernel(TensorType out, int es, long[] outerExtent, long[][] outerMap, long[] inOuterStrides,
            long[][] runs, long blockBytes, long outRowBytes, boolean constantFromInput,
            long constantBits) {
        this.out = out;
        this.es = es;
        this.outerExtent = outerExtent;
        this.outerMap = outerMap;
        this.inOuterStrides = inOuterStrides;
        this.runs = runs;
        this.blockBytes = blockBytes;
        this.outRowBytes = outRowBytes;
        this.constantFromInput = constantFromInput;
        this.constantBits = constantBits;
    }

    static Kernel create(NodeContext n) {
        TensorType in = n.inputType(0);
        long[] s = in.shape();
        int rank = s.length;
        String modeName = n.attrString("mode", "constant");
        Mode mode = switch (modeName) {
            case "constant" -> Mode.CONSTANT;
            case "reflect" -> Mode.REFLECT;
            case "edge" -> Mode.EDGE;
            case "wrap" -> Mode.WRAP;
            default -> throw n.error("unknown mode '" + modeName + "' (expected constant, reflect, edge or wrap)");
        };
        long[] raw;
        long[] axes = null;
        boolean constantFromInput = false;
        long constantBits = 0;
        int es = in.dtype().byteSize();
        if (n.opset() < 11) {
            raw = n.attrInts("pads", null);
            if (raw == null) {
                raw = n.attrInts("paddings", null);
            }
            Tensor c = Tensor.allocate(in.dtype());
            c.setDouble(0, n.attrFloat("value", 0f));
            constantBits = StridedCopy.bitsOf(c.data(), 0, es);
        } else {
            raw = n.requireConstant(1).toLongArray();
            if (n.hasInput(2) && n.inputType(2).elementCount() > 0) {
                Tensor cv = n.constantInput(2);
                if (cv != null) {
                    constantBits = StridedCopy.bitsOf(cv.data(), 0, es);
                } else {
                    constantFromInput = true;
                }
            }
            if (n.opset() >= 18 && n.hasInput(3)) {
                axes = n.requireConstant(3).toLongArray();
            }
        }
        if (raw == null) {
            throw n.error("pads are required");
        }
        if (rank == 0) {
            return CopyKernel.alias(in, s);
        }
        long[] begin = new long[rank];
        long[] end = new long[rank];
        int naxes = axes == null ? rank : axes.length;
        if (raw.length != 2 * naxes) {
            throw n.error("pads " + Arrays.toString(raw) + " must have 2 entries per padded axis (" + naxes + ")");
        }
        for (int i = 0; i < naxes; i++) {
            int ax = axes == null ? i : LayoutOps.axis(n, axes[i], rank);
            begin[ax] = raw[i];
            end[ax] = raw[i + naxes];
        }
        long[] o = new long[rank];
        for (int d = 0; d < rank; d++) {
            o[d] = s[d] + begin[d] + end[d];
            if (o[d] < 0) {
                throw n.error("pads " + Arrays.toString(raw) + " crop axis " + d + " of " + in + " below zero");
            }
            if (mode != Mode.CONSTANT && s[d] == 0 && o[d] > 0) {
                throw n.error(modeName + " padding of an empty axis " + d + " of " + in);
            }
        }
        TensorType outType = new TensorType(in.dtype(), o);
        // The row axis is the last padded one; everything after it is one contiguous block.
        int rowAxis = -1;
        for (int d = 0; d < rank; d++) {
            if (begin[d] != 0 || end[d] != 0) {
                rowAxis = d;
            }
        }
        if (rowAxis < 0) {
            rowAxis = 0;
        }
        long block = 1;
        for (int d = rowAxis + 1; d < rank; d++) {
            block *= s[d];
        }
        long[] outerExtent = Arrays.copyOf(o, rowAxis);
        long[][] outerMap = new long[rowAxis][];
        long[] inOuterStrides = new long[rowAxis];
        long stride = s[rowAxis] * block;
        for (int d = rowAxis - 1; d >= 0; d--) {
            inOuterStrides[d] = stride;
            stride *= s[d];
            outerMap[d] = new long[(int) o[d]];
            for (int i = 0; i < o[d]; i++) {
                outerMap[d][i] = source(i - begin[d], s[d], mode);
            }
        }
        List<long[]> runs = new ArrayList<>();
        for (long i = 0; i < o[rowAxis]; i++) {
            long src = source(i - begin[rowAxis], s[rowAxis], mode);
            long[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            if (last != null && ((src < 0 && last[1] < 0) || (src >= 0 && last[1] >= 0 && last[1] + last[2] == src))) {
                last[2]++;
            } else {
                runs.add(new long[] {i, src, 1});
            }
        }
        return new PadKernel(outType, es, outerExtent, outerMap, inOuterStrides, runs.toArray(new long[0][]),
                block * es, o[rowAxis] * block * es, constantFromInput, constantBits);
    }

    /** The input index that output index i (already shifted by the leading pad) reads, or -1. */
    static long source(long i, long dim, Mode mode) {
        if (i >= 0 && i < dim) {
            return i;
        }
        return switch (mode) {
            case CONSTANT -> -1;
            case EDGE -> i < 0 ? 0 : dim - 1;
            case WRAP -> Math.floorMod(i, dim);
            case REFLECT -> {
                if (dim == 1) {
                    yield 0;
                }
                long period = 2 * (dim - 1);
                long r = Math.floorMod(i, period);
                yield r < dim ? r : period - r;
            }
        };
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {out};
    }

    @Override
    public void run(Tensor[] in, Tensor[] outs, ExecContext ctx) {
        MemorySegment src = in[0].data();
        MemorySegment dst = outs[0].data();
        long bits = constantFromInput ? StridedCopy.bitsOf(in[2].data(), 0, es) : constantBits;
        long blockElems = blockBytes / es;
        int outerRank = outerExtent.length;
        long rows = 1;
        for (long e : outerExtent) {
            rows *= e;
        }
        long[] idx = new long[outerRank];
        for (long r = 0; r < rows; r++) {
            long inRow = 0;
            boolean constantRow = false;
            for (int d = 0; d < outerRank; d++) {
                long m = outerMap[d][(int) idx[d]];
                if (m < 0) {
                    constantRow = true;
                    break;
                }
                inRow += m * inOuterStrides[d];
            }
            long dRow = r * outRowBytes;
            if (constantRow) {
                StridedCopy.fill(dst, dRow, outRowBytes / es, es, bits);
            } else {
                long sRow = inRow * es;
                for (long[] run : runs) {
                    long dOff = dRow + run[0] * blockBytes;
                    if (run[1] < 0) {
                        StridedCopy.fill(dst, dOff, run[2] * blockElems, es, bits);
                    } else {
                        MemorySegment.copy(src, sRow + run[1] * blockBytes, dst, dOff, run[2] * blockBytes);
                    }
                }
            }
            for (int d = outerRank - 1; d >= 0; d--) {
                if (++idx[d] < outerExtent[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}
