package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The activation functions the ONNX recurrent operators (RNN, GRU, LSTM) name in their
 * {@code activations} attribute, applied in place to a run of gate values. Each function has its
 * own vector loop (the switch is taken once per run, so C2 keeps the vectors in registers) and a
 * scalar tail; {@link #apply(float, float, float)} is the scalar reference.
 */
enum GateActivation {
    RELU(0, 0), TANH(0, 0), SIGMOID(0, 0), AFFINE(1, 1), LEAKY_RELU(1, 0), THRESHOLDED_RELU(1, 0),
    SCALED_TANH(1, 1), HARD_SIGMOID(1, 1), ELU(1, 0), SOFTSIGN(0, 0), SOFTPLUS(0, 0);

    private static final VectorSpecies<Float> S = VectorShape.FLOAT;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** How many of activation_alpha / activation_beta this function takes. */
    private final int alphas;
    private final int betas;

    GateActivation(int alphas, int betas) {
        this.alphas = alphas;
        this.betas = betas;
    }

    /** One function of the attribute with its alpha and beta resolved. */
    record Bound(GateActivation f, float alpha, float beta) {
        void applyInPlace(MemorySegment s, long off, int n) {
            f.applyInPlace(s, off, n, alpha, beta);
        }
    }

    /**
     * The node's activations: {@code perDirection} functions for each of {@code directions},
     * {@code defaults} where the attribute is absent (a list of only {@code perDirection} names is
     * used for both directions). activation_alpha and activation_beta are consumed in order by the
     * functions that take them, as ONNX Runtime does; a function left without one uses its ONNX
     * operator's default.
     */
    static Bound[] of(NodeContext node, int directions, String... defaults) {
        int perDirection = defaults.length;
        String[] names = node.attrStrings("activations", null);
        if (names == null) {
            names = new String[perDirection * directions];
            for (int i = 0; i < names.length; i++) {
                names[i] = defaults[i % perDirection];
            }
        } else if (names.length == perDirection && directions == 2) {
            String[] both = new String[2 * perDirection];
            for (int i = 0; i < both.length; i++) {
                both[i] = names[i % perDirection];
            }
            names = both;
        } else if (names.length != perDirection * directions) {
            throw node.error("activations lists " + names.length + " functions; " + node.opType() + " with "
                    + directions + " direction(s) takes " + perDirection * directions);
        }
        float[] alpha = node.attrFloats("activation_alpha", new float[0]);
        float[] beta = node.attrFloats("activation_beta", new float[0]);
        int ai = 0;
        int bi = 0;
        Bound[] out = new Bound[names.length];
        for (int i = 0; i < names.length; i++) {
            GateActivation f = named(node, names[i]);
            float a = f.defaultAlpha();
            float b = f.defaultBeta();
            if (f.alphas > 0 && ai < alpha.length) {
                a = alpha[ai++];
            }
            if (f.betas > 0 && bi < beta.length) {
                b = beta[bi++];
            }
            out[i] = new Bound(f, a, b);
        }
        return out;
    }

    private static GateActivation named(NodeContext node, String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "relu" -> RELU;
            case "tanh" -> TANH;
            case "sigmoid" -> SIGMOID;
            case "affine" -> AFFINE;
            case "leakyrelu" -> LEAKY_RELU;
            case "thresholdedrelu" -> THRESHOLDED_RELU;
            case "scaledtanh" -> SCALED_TANH;
            case "hardsigmoid" -> HARD_SIGMOID;
            case "elu" -> ELU;
            case "softsign" -> SOFTSIGN;
            case "softplus" -> SOFTPLUS;
            default -> throw node.error("unknown activation function '" + name + "' (expected Relu, Tanh, Sigmoid,"
                    + " Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign or Softplus)");
        };
    }

    private float defaultAlpha() {
        return switch (this) {
            case LEAKY_RELU -> 0.01f;
            case HARD_SIGMOID -> 0.2f;
            case AFFINE, THRESHOLDED_RELU, SCALED_TANH, ELU -> 1f;
            default -> 0f;
        };
    }

    private float defaultBeta() {
        return switch (this) {
            case HARD_SIGMOID -> 0.5f;
            case SCALED_TANH -> 1f;
            default -> 0f;
        };
    }

    /** The scalar definition (ONNX's table of RNN activation functions). */
    float apply(float x, float alpha, float beta) {
        return switch (this) {
            case RELU -> Math.max(0f, x);
            case TANH -> (float) Math.tanh(x);
            case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
            case AFFINE -> alpha * x + beta;
            case LEAKY_RELU -> x >= 0 ? x : alpha * x;
            case THRESHOLDED_RELU -> x >= alpha ? x : 0f;
            case SCALED_TANH -> alpha * (float) Math.tanh(beta * x);
            case HARD_SIGMOID -> Math.min(Math.max(alpha * x + beta, 0f), 1f);
            case ELU -> x >= 0 ? x : alpha * (float) (Math.exp(x) - 1);
            case SOFTSIGN -> x / (1 + Math.abs(x));
            case SOFTPLUS -> (float) (x > 20 ? x : Math.log1p(Math.exp(x)));
        };
    }

    /** Replaces the n floats at byte offset {@code off} of {@code s} by their activation. */
    void applyInPlace(MemorySegment s, long off, int n, float alpha, float beta) {
        int full = n - n % L;
        long end = off + full * 4L;
        switch (this) {
            case RELU -> {
                for (long p = off; p < end; p += L * 4L) {
                    ld(s, p).max(0f).intoMemorySegment(s, p, LE);
                }
            }
            case TANH -> {
                for (long p = off; p < end; p += L * 4L) {
                    ld(s, p).lanewise(VectorOperators.TANH).intoMemorySegment(s, p, LE);
                }
            }
            case SIGMOID -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    v.broadcast(1f).div(v.neg().lanewise(VectorOperators.EXP).add(1f)).intoMemorySegment(s, p, LE);
                }
            }
            case AFFINE -> {
                for (long p = off; p < end; p += L * 4L) {
                    ld(s, p).fma(alpha, beta).intoMemorySegment(s, p, LE);
                }
            }
            case LEAKY_RELU -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    v.blend(v.mul(alpha), v.compare(VectorOperators.LT, 0f)).intoMemorySegment(s, p, LE);
                }
            }
            case THRESHOLDED_RELU -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    v.blend(0f, v.compare(VectorOperators.LT, alpha)).intoMemorySegment(s, p, LE);
                }
            }
            case SCALED_TANH -> {
                for (long p = off; p < end; p += L * 4L) {
                    ld(s, p).mul(beta).lanewise(VectorOperators.TANH).mul(alpha).intoMemorySegment(s, p, LE);
                }
            }
            case HARD_SIGMOID -> {
                for (long p = off; p < end; p += L * 4L) {
                    ld(s, p).fma(alpha, beta).max(0f).min(1f).intoMemorySegment(s, p, LE);
                }
            }
            case ELU -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    FloatVector neg = v.lanewise(VectorOperators.EXPM1).mul(alpha);
                    v.blend(neg, v.compare(VectorOperators.LT, 0f)).intoMemorySegment(s, p, LE);
                }
            }
            case SOFTSIGN -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    v.div(v.abs().add(1f)).intoMemorySegment(s, p, LE);
                }
            }
            case SOFTPLUS -> {
                for (long p = off; p < end; p += L * 4L) {
                    FloatVector v = ld(s, p);
                    v.max(0f).add(v.abs().neg().lanewise(VectorOperators.EXP).lanewise(VectorOperators.LOG1P))
                            .intoMemorySegment(s, p, LE);
                }
            }
        }
        for (long p = end; p < off + n * 4L; p += 4) {
            s.set(Tensor.F32, p, apply(s.get(Tensor.F32, p), alpha, beta));
        }
    }

    private static FloatVector ld(MemorySegment s, long p) {
        return FloatVector.fromMemorySegment(S, s, p, LE);
    }
}
