package io.vnrt.runtime.kernels.reduce;

/**
 * The Reduce* operators: each is an initial value, a per-element accumulation and a final step,
 * in double for floating types and (where exact results are expected) in long for integers.
 */
enum ReduceKind {
    SUM("ReduceSum", 13),
    MEAN("ReduceMean", 18),
    MAX("ReduceMax", 18),
    MIN("ReduceMin", 18),
    PROD("ReduceProd", 18),
    L1("ReduceL1", 18),
    L2("ReduceL2", 18),
    SUM_SQUARE("ReduceSumSquare", 18),
    LOG_SUM("ReduceLogSum", 18),
    LOG_SUM_EXP("ReduceLogSumExp", 18);

    private final String opType;
    private final int axesInputSince;

    ReduceKind(String opType, int axesInputSince) {
        this.opType = opType;
        this.axesInputSince = axesInputSince;
    }

    String opType() {
        return opType;
    }

    /** The opset from which axes is the optional second input rather than an attribute. */
    int axesInputSince() {
        return axesInputSince;
    }

    /** True when integer inputs are reduced exactly in long (the others go through double). */
    boolean exactInLong() {
        return switch (this) {
            case SUM, MAX, MIN, PROD, L1, SUM_SQUARE -> true;
            default -> false;
        };
    }

    double initDouble() {
        return switch (this) {
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
            case PROD -> 1.0;
            default -> 0.0;
        };
    }

    /** One accumulation step; LOG_SUM_EXP is given exp(x - max) by the caller. */
    double accumulate(double acc, double x) {
        return switch (this) {
            case SUM, MEAN, LOG_SUM, LOG_SUM_EXP -> acc + x;
            case MAX -> Math.max(acc, x);
            case MIN -> Math.min(acc, x);
            case PROD -> acc * x;
            case L1 -> acc + Math.abs(x);
            case L2, SUM_SQUARE -> acc + x * x;
        };
    }

    /** The result from the accumulator; {@code shift} is what LOG_SUM_EXP subtracted before exp
     *  (the finite max of the set, else 0). */
    double finish(double acc, long count, double shift) {
        return switch (this) {
            case MEAN -> acc / count;
            case L2 -> Math.sqrt(acc);
            case LOG_SUM -> Math.log(acc);
            case LOG_SUM_EXP -> shift + Math.log(acc);
            default -> acc;
        };
    }

    long accumulate(long acc, long x, boolean unsigned) {
        return switch (this) {
            case SUM -> acc + x;
            case MAX -> (unsigned ? Long.compareUnsigned(x, acc) > 0 : x > acc) ? x : acc;
            case MIN -> (unsigned ? Long.compareUnsigned(x, acc) < 0 : x < acc) ? x : acc;
            case PROD -> acc * x;
            case L1 -> acc + (unsigned ? x : Math.abs(x));
            case SUM_SQUARE -> acc + x * x;
            default -> throw new IllegalStateException(opType + " is not reduced in long");
        };
    }
}
