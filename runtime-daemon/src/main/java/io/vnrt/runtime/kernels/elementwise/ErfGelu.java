package io.vnrt.runtime.kernels.elementwise;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * The Erf-form GELU of an exported graph, {@code x / √2 → Erf → + 1 → · x → · 0.5}, for a GEMM
 * epilogue that absorbed those nodes: {@code x · √½} (as ONNX Runtime's fused Gelu computes it; a
 * division by {@code 1.4142135f} took about an eighth of the epilogue's time: 116 -> 101 us over
 * 128×3072 at 512 bits), then vnrt's own Erf
 * ({@link FloatLoops#erf}), Add and Mul arithmetic. Against the unfused Div form the argument of
 * erf can differ by one rounding (half an ulp), the output by about as much.
 */
public final class ErfGelu {
    /** The float nearest √2, PyTorch's divisor. */
    public static final float SQRT2 = 1.4142135f;
    /** The float nearest √½: the epilogue multiplies by it (a division costs several multiplications). */
    public static final float SQRT_HALF = 0.70710677f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private ErfGelu() {}

    /** Replaces the {@code n} floats at byte offset {@code off} of {@code c} by their GELU. */
    public static void applyInPlace(MemorySegment c, long off, int n) {
        int full = n - n % FloatLoops.L;
        for (int j = 0; j < full; j += FloatLoops.L) {
            long at = off + j * 4L;
            apply(FloatVector.fromMemorySegment(FloatLoops.S, c, at, LE)).intoMemorySegment(c, at, LE);
        }
        for (int j = full; j < n; j++) {
            long at = off + j * 4L;
            c.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at,
                    apply(c.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at)));
        }
    }

    /** The GELU of each lane, as {@link #applyInPlace} computes it. */
    public static FloatVector apply(FloatVector x) {
        FloatVector e = FloatLoops.erf(x.mul(SQRT_HALF));
        return x.mul(e.add(1f)).mul(0.5f);
    }

    /** erf of a double, as vnrt's scalar Erf computes it (for the double-precision epilogues). */
    public static double erf(double x) {
        return UnaryOp.ERF.apply(x, 0, 0);
    }

    /** The GELU of one float, as the scalar loops of the same nodes compute it. */
    public static float apply(float x) {
        float e = (float) UnaryOp.ERF.apply(x * SQRT_HALF, 0, 0);
        return x * (e + 1f) * 0.5f;
    }
}
