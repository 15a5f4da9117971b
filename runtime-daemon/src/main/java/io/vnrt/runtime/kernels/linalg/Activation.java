package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import io.vnrt.runtime.kernels.elementwise.ErfGelu;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import jdk.incubator.vector.VectorOperators;

/**
 * An activation fused into a GEMM epilogue (attribute {@code vnrt_activation}, set by the graph
 * compiler's fusion pass), applied to each output value once its sum is complete. GELU is
 * {@link ErfGelu}: the arithmetic of the Div/Erf/Add/Mul nodes it replaces, whose erf needs no exp
 * (lanewise(EXP) cost it 6% of a 128×768×3072 MatMul at 512 bits, more at 256).
 */
enum Activation {
    RELU, SIGMOID, TANH, GELU, LEAKY_RELU;

    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** The activation a node asks for, or null when it has none. */
    static Activation of(NodeContext node) {
        String name = node.attrString("vnrt_activation", "");
        return switch (name) {
            case "" -> null;
            case "Relu" -> RELU;
            case "Sigmoid" -> SIGMOID;
            case "Tanh" -> TANH;
            case "Gelu" -> GELU;
            case "LeakyRelu" -> LEAKY_RELU;
            default -> throw node.error("unsupported fused activation '" + name
                    + "' (expected Relu, Sigmoid, Tanh, Gelu or LeakyRelu)");
        };
    }

    /** Applies the activation to n floats at byte offset off of c, in place. */
    void applyInPlace(MemorySegment c, long off, int n, float alpha) {
        // One loop per case keeps the vectors in registers (no call taking or returning a vector);
        // the tail is scalar, as masked vector code may run long before C2 compiles it. Each case
        // has its own tail, not a shared scalar switch: that switch's profile is of every case's
        // tails together, and a kernel compiled having seen one activation's tails traps (and is
        // thrown away) on the first tail of another.
        int full = n - n % L;
        long end = off + n * 4L;
        switch (this) {
            case RELU -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector.fromMemorySegment(S, c, off + j * 4L, LE).max(0f).intoMemorySegment(c, off + j * 4L, LE);
                }
                for (long at = off + full * 4L; at < end; at += 4) {
                    c.set(Tensor.F32, at, Math.max(c.get(Tensor.F32, at), 0f));
                }
            }
            case LEAKY_RELU -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE);
                    v.blend(v.mul(alpha), v.compare(VectorOperators.LT, 0f)).intoMemorySegment(c, off + j * 4L, LE);
                }
                for (long at = off + full * 4L; at < end; at += 4) {
                    float x = c.get(Tensor.F32, at);
                    c.set(Tensor.F32, at, x < 0 ? x * alpha : x);
                }
            }
            case SIGMOID -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE);
                    v.broadcast(1f).div(v.neg().lanewise(VectorOperators.EXP).add(1f)).intoMemorySegment(c, off + j * 4L, LE);
                }
                for (long at = off + full * 4L; at < end; at += 4) {
                    c.set(Tensor.F32, at, (float) (1.0 / (1.0 + Math.exp(-c.get(Tensor.F32, at)))));
                }
            }
            case TANH -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector.fromMemorySegment(S, c, off + j * 4L, LE).lanewise(VectorOperators.TANH)
                            .intoMemorySegment(c, off + j * 4L, LE);
                }
                for (long at = off + full * 4L; at < end; at += 4) {
                    c.set(Tensor.F32, at, (float) Math.tanh(c.get(Tensor.F32, at)));
                }
            }
            case GELU -> {
                ErfGelu.applyInPlace(c, off, full);
                for (long at = off + full * 4L; at < end; at += 4) {
                    c.set(Tensor.F32, at, ErfGelu.apply(c.get(Tensor.F32, at)));
                }
            }
        }
    }

    /** The activation in double precision (the non-float32 epilogues of {@link GenericEpilogue}). */
    double applyDouble(double x, float alpha) {
        return switch (this) {
            case RELU -> Math.max(x, 0);
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case GELU -> 0.5 * x * (1 + io.vnrt.runtime.kernels.elementwise.ErfGelu.erf(x / Math.sqrt(2)));
            case LEAKY_RELU -> x < 0 ? x * alpha : x;
        };
    }
}
