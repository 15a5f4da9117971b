package io.vnrt.runtime.kernels.elementwise;

/**
 * Unary elementwise operators with their plain scalar definition. The scalar forms are the
 * reference the vectorised float32 loops in {@link FloatLoops} are tested against, and the
 * compute path for float64, float16, bfloat16 and integer inputs. {@code p} and {@code q} are
 * the operator's parameters (alpha/beta, alpha/gamma, lambd/bias, min/max), resolved at compile time.
 */
enum UnaryOp {
    NEG, ABS, SQRT, EXP, LOG, RECIPROCAL, FLOOR, CEIL, ROUND, SIGN, RELU, LEAKY_RELU, ELU, SELU, CELU,
    SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, ERF, GELU, GELU_TANH, SOFTPLUS, SOFTSIGN, MISH, SWISH,
    THRESHOLDED_RELU, SHRINK, CLIP, SIN, COS, IDENTITY,
    /** x * x: Pow with a constant exponent of 2 (decomposed LayerNorm / RMSNorm graphs). */
    SQUARE,
    TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH,
    /** BitwiseNot: integers only. */
    BIT_NOT;

    static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    static final double INV_SQRT_2 = 1 / Math.sqrt(2);

    /** Transcendental ops cost several times a load/store; used to size the parallel split. */
    int cost() {
        return switch (this) {
            case NEG, ABS, FLOOR, CEIL, ROUND, SIGN, RELU, LEAKY_RELU, HARD_SIGMOID, HARD_SWISH, THRESHOLDED_RELU,
                    SHRINK, CLIP, IDENTITY, RECIPROCAL, SOFTSIGN, SQRT, SQUARE, BIT_NOT -> 1;
            default -> 8;
        };
    }

    /** Whether the op is defined on integer tensors (computed exactly in long). */
    boolean allowsIntegers() {
        return switch (this) {
            case NEG, ABS, SIGN, RELU, CLIP, SHRINK, IDENTITY, LEAKY_RELU, THRESHOLDED_RELU, SQUARE, BIT_NOT -> true;
            default -> false;
        };
    }

    /** Whether the op is defined on integer tensors only (bit operations). */
    boolean integersOnly() {
        return this == BIT_NOT;
    }

    /** The reference definition in double precision. */
    double apply(double x, double p, double q) {
        return switch (this) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SQRT -> Math.sqrt(x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case RECIPROCAL -> 1 / x;
            case FLOOR -> Math.floor(x);
            case CEIL -> Math.ceil(x);
            case ROUND -> Math.rint(x);
            case SIGN -> Math.signum(x);
            case RELU -> x > 0 ? x : (Double.isNaN(x) ? x : 0);
            case LEAKY_RELU -> x < 0 ? p * x : x;
            case ELU -> x < 0 ? p * (Math.exp(x) - 1) : x;
            case SELU -> x <= 0 ? q * (p * Math.exp(x) - p) : q * x;
            case CELU -> Math.max(0, x) + Math.min(0, p * (Math.exp(x / p) - 1));
            case SIGMOID -> sigmoid(x);
            case HARD_SIGMOID -> Math.max(0, Math.min(1, p * x + q));
            case HARD_SWISH -> x * Math.max(0, Math.min(1, x / 6 + 0.5));
            case TANH -> Math.tanh(x);
            case ERF -> erf(x);
            case GELU -> x < 0 ? 0.5 * x * erfc(-x * INV_SQRT_2) : x * (1 - 0.5 * erfc(x * INV_SQRT_2));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case SOFTPLUS -> softplus(x);
            case SOFTSIGN -> x / (1 + Math.abs(x));
            case MISH -> x * Math.tanh(softplus(x));
            case SWISH -> x * sigmoid(p * x);
            case THRESHOLDED_RELU -> x > p ? x : 0;
            case SHRINK -> x < -p ? x + q : (x > p ? x - q : 0);
            case CLIP -> Math.min(Math.max(x, p), q);
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case IDENTITY -> x;
            case SQUARE -> x * x;
            case TAN -> Math.tan(x);
            case ASIN -> Math.asin(x);
            case ACOS -> Math.acos(x);
            case ATAN -> Math.atan(x);
            case SINH -> Math.sinh(x);
            case COSH -> Math.cosh(x);
            case ASINH -> Math.copySign(Math.log1p(Math.abs(x) + x * x / (1 + Math.sqrt(1 + x * x))), x);
            case ACOSH -> Math.log(x + Math.sqrt(x * x - 1));
            case ATANH -> 0.5 * Math.log1p(2 * x / (1 - x));
            case BIT_NOT -> throw new IllegalStateException("BitwiseNot has no float form");
        };
    }

    /** Exact integer form for the ops where {@link #allowsIntegers()}; p and q are already integral. */
    long applyLong(long x, long p, long q) {
        return switch (this) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SIGN -> Long.signum(x);
            case RELU -> Math.max(x, 0);
            case LEAKY_RELU -> x < 0 ? p * x : x;
            case THRESHOLDED_RELU -> x > p ? x : 0;
            case SHRINK -> x < -p ? x + q : (x > p ? x - q : 0);
            case CLIP -> Math.min(Math.max(x, p), q);
            case IDENTITY -> x;
            case SQUARE -> x * x;
            case BIT_NOT -> ~x;
            default -> throw new IllegalStateException(this + " has no integer form");
        };
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    /**
     * erfc for x >= 0 as t * exp(-x^2 + P(t)), t = 1/(1 + x/2): a Chebyshev fit with relative error
     * below 1.2e-7 over the whole half-line, so erfc stays accurate where it is tiny (Gelu's tail).
     */
    static double erfc(double x) {
        if (x < 0) {
            return 2 - erfc(-x);
        }
        double t = 1 / (1 + 0.5 * x);
        double poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        return t * Math.exp(-x * x + poly);
    }

    /** erf: Taylor series near zero (where 1 - erfc would lose relative precision), 1 - erfc elsewhere. */
    static double erf(double x) {
        double a = Math.abs(x);
        if (a < 0.5) {
            double x2 = x * x;
            return x * (1.1283791670955126 + x2 * (-0.37612638903183754 + x2 * (0.11283791670955126
                    + x2 * (-0.026866170645131252 + x2 * (0.005223977625442188 + x2 * -8.548327023450852e-4)))));
        }
        double r = 1 - erfc(a);
        return x < 0 ? -r : r;
    }
}
