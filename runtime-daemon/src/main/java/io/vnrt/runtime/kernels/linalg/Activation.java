package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import jdk.incubator.vector.VectorOperators;

/**
 * An activation fused into a GEMM epilogue (attribute {@code vnrt_activation}, set by the graph
 * compiler's fusion pass), applied to each output value once its sum is complete.
 */
enum Activation {
    RELU, SIGMOID, TANH, GELU, LEAKY_RELU;

    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, well inside the float32 tolerance of a layer.
    private static final float P = 0.3275911f;
    private static final float A1 = 0.254829592f;
    private static final float A2 = -0.284496736f;
    private static final float A3 = 1.421413741f;
    private static final float A4 = -1.453152027f;
    private static final float A5 = 1.061405429f;
    private static final float INV_SQRT2 = 0.70710678118654752f;

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
        // the tail is scalar, as masked vector code may run long before C2 compiles it.
        int full = n - n % L;
        for (int j = full; j < n; j++) {
            long at = off + j * 4L;
            c.set(Tensor.F32, at, apply(c.get(Tensor.F32, at), alpha));
        }
        switch (this) {
            case RELU -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector.fromMemorySegment(S, c, off + j * 4L, LE).max(0f).intoMemorySegment(c, off + j * 4L, LE);
                }
            }
            case LEAKY_RELU -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE);
                    v.blend(v.mul(alpha), v.compare(VectorOperators.LT, 0f)).intoMemorySegment(c, off + j * 4L, LE);
                }
            }
            case SIGMOID -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE);
                    v.broadcast(1f).div(v.neg().lanewise(VectorOperators.EXP).add(1f)).intoMemorySegment(c, off + j * 4L, LE);
                }
            }
            case TANH -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector.fromMemorySegment(S, c, off + j * 4L, LE).lanewise(VectorOperators.TANH)
                            .intoMemorySegment(c, off + j * 4L, LE);
                }
            }
            case GELU -> {
                for (int j = 0; j < full; j += L) {
                    FloatVector x = FloatVector.fromMemorySegment(S, c, off + j * 4L, LE);
                    FloatVector z = x.mul(INV_SQRT2);
                    FloatVector az = z.abs();
                    FloatVector t = z.broadcast(1f).div(az.mul(P).add(1f));
                    FloatVector poly = t.mul(A5).add(A4).mul(t).add(A3).mul(t).add(A2).mul(t).add(A1).mul(t);
                    FloatVector e = az.mul(az).neg().lanewise(VectorOperators.EXP);
                    FloatVector erfAbs = poly.mul(e).neg().add(1f);
                    FloatVector erf = erfAbs.blend(erfAbs.neg(), z.compare(VectorOperators.LT, 0f));
                    x.mul(0.5f).mul(erf.add(1f)).intoMemorySegment(c, off + j * 4L, LE);
                }
            }
        }
    }

    float apply(float x, float alpha) {
        return switch (this) {
            case RELU -> Math.max(x, 0f);
            case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
            case TANH -> (float) Math.tanh(x);
            case GELU -> (float) (0.5 * x * (1.0 + erf((float) (x * INV_SQRT2))));
            case LEAKY_RELU -> x < 0 ? x * alpha : x;
        };
    }

    static float erf(float x) {
        float ax = Math.abs(x);
        float t = 1f / (1f + P * ax);
        float poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
        float y = 1f - poly * (float) Math.exp(-ax * ax);
        return x < 0 ? -y : y;
    }
}
