package io.vnrt.bench;

import io.vnrt.runtime.kernels.VectorShape;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;

/**
 * The FP32 FMA rate this JVM reaches on one core at the vector width the kernels use
 * ({@link VectorShape#BITS}): a loop of independent fused multiply-adds on registers only (twelve
 * accumulators, more than the FMA latency times the pipes), no memory traffic. It bounds what any
 * GEMM kernel can do here, and with the lane count it gives the clock: GFLOP/s = pipes × lanes × 2
 * × GHz, so on a CPU with two FMA pipes at this width GHz = GFLOP/s / (4 × lanes).
 *
 * <pre>java --add-modules jdk.incubator.vector [-XX:UseAVX=2 | -XX:MaxVectorSize=16] \
 *   -cp bench/target/benchmarks.jar io.vnrt.bench.FmaPeak [seconds]</pre>
 */
public final class FmaPeak {
    private static final int ACCUMULATORS = 12;
    private static final int STEPS = 1 << 20;

    private FmaPeak() {}

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        int lanes = VectorShape.FLOAT_LANES;
        System.out.println(VectorShape.describe());
        float sink = 0;
        double best = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        // At least 50 rounds: the first ones run before C2 has compiled the loop (seconds on a busy machine).
        for (int round = 0; round < 50 || System.nanoTime() < end; round++) {
            long t0 = System.nanoTime();
            sink += loop(1.0000001f);
            double gflops = (double) STEPS * ACCUMULATORS * lanes * 2 / (System.nanoTime() - t0);
            best = Math.max(best, gflops);
        }
        System.out.printf(Locale.ROOT, "FMA peak, one core, %d-bit vectors: %.1f GFLOP/s; with 2 FMA pipes that is"
                + " %.2f GHz (%s)%n", VectorShape.BITS, best, best / (4.0 * lanes), sink > 0 ? "ok" : "?");
    }

    /** STEPS rounds of twelve independent FMAs on registers; returns a lane so the work is live. */
    private static float loop(float m) {
        FloatVector x = FloatVector.broadcast(VectorShape.FLOAT, m);
        FloatVector a0 = FloatVector.broadcast(VectorShape.FLOAT, 1f);
        FloatVector a1 = a0.add(1f);
        FloatVector a2 = a0.add(2f);
        FloatVector a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f);
        FloatVector a5 = a0.add(5f);
        FloatVector a6 = a0.add(6f);
        FloatVector a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f);
        FloatVector a9 = a0.add(9f);
        FloatVector a10 = a0.add(10f);
        FloatVector a11 = a0.add(11f);
        FloatVector y = x.mul(0.5f);
        for (int i = 0; i < STEPS; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .lane(0);
    }
}
