package io.vnrt.runtime.kernels.elementwise;

/**
 * Binary elementwise operators with their scalar definitions: the reference for the vectorised
 * float32 loops and the compute path for other dtypes. Comparisons return 1 or 0 (stored as bool).
 */
enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MIN, MAX, PRELU,
    /** C fmod: the result has the dividend's sign (Mod with fmod=1). */
    FMOD,
    /** Python-style modulo: the result has the divisor's sign (Mod with fmod=0). */
    MOD,
    EQ, LT, LE, GT, GE, AND, OR, XOR,
    /** BitwiseAnd, BitwiseOr, BitwiseXor and BitShift: integer types only. */
    BIT_AND, BIT_OR, BIT_XOR, SHIFT_LEFT, SHIFT_RIGHT;

    boolean isComparison() {
        return this == EQ || this == LT || this == LE || this == GT || this == GE;
    }

    boolean isLogical() {
        return this == AND || this == OR || this == XOR;
    }

    /** Bit operations, defined on integers only. */
    boolean isBitwise() {
        return this == BIT_AND || this == BIT_OR || this == BIT_XOR || this == SHIFT_LEFT || this == SHIFT_RIGHT;
    }

    /** The definition on real numbers (float dtypes). */
    double apply(double a, double b) {
        return switch (this) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
            case PRELU -> a < 0 ? a * b : a;
            case FMOD -> a % b;
            case MOD -> {
                double r = a % b;
                yield r != 0 && (r < 0) != (b < 0) ? r + b : r;
            }
            case EQ -> a == b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
            case AND -> (a != 0 && b != 0) ? 1 : 0;
            case OR -> (a != 0 || b != 0) ? 1 : 0;
            case XOR -> ((a != 0) != (b != 0)) ? 1 : 0;
            case BIT_AND, BIT_OR, BIT_XOR, SHIFT_LEFT, SHIFT_RIGHT ->
                    throw new IllegalStateException(this + " is defined on integers only");
        };
    }

    /**
     * The exact integer definition; {@code unsigned} for uint64, whose values do not fit a signed
     * long (narrower unsigned types arrive zero-extended, so signed arithmetic is exact for them).
     * Integer division and modulo by zero yield 0 rather than trapping: ONNX leaves them undefined.
     */
    long applyLong(long a, long b, boolean unsigned) {
        return switch (this) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> b == 0 ? 0 : (unsigned ? Long.divideUnsigned(a, b) : a / b);
            case POW -> powLong(a, b);
            case MIN -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) <= 0 ? a : b;
            case MAX -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) >= 0 ? a : b;
            case PRELU -> a < 0 ? a * b : a;
            case FMOD -> b == 0 ? 0 : (unsigned ? Long.remainderUnsigned(a, b) : a % b);
            case MOD -> b == 0 ? 0 : (unsigned ? Long.remainderUnsigned(a, b) : Math.floorMod(a, b));
            case EQ -> a == b ? 1 : 0;
            case LT -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) < 0 ? 1 : 0;
            case LE -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) <= 0 ? 1 : 0;
            case GT -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) > 0 ? 1 : 0;
            case GE -> (unsigned ? Long.compareUnsigned(a, b) : Long.compare(a, b)) >= 0 ? 1 : 0;
            case AND -> (a != 0 && b != 0) ? 1 : 0;
            case OR -> (a != 0 || b != 0) ? 1 : 0;
            case XOR -> ((a != 0) != (b != 0)) ? 1 : 0;
            case BIT_AND -> a & b;
            case BIT_OR -> a | b;
            case BIT_XOR -> a ^ b;
            // BitShift is on unsigned types, which arrive zero-extended: shifting by the width or
            // more leaves nothing, where Java would take the count modulo 64
            case SHIFT_LEFT -> Long.compareUnsigned(b, 64) >= 0 ? 0 : a << b;
            case SHIFT_RIGHT -> Long.compareUnsigned(b, 64) >= 0 ? 0 : a >>> b;
        };
    }

    /** Integer power by squaring (wrapping like the C type); negative exponents truncate 1/base^-e. */
    static long powLong(long base, long exp) {
        if (exp < 0) {
            if (base == 1) {
                return 1;
            }
            if (base == -1) {
                return (exp & 1) == 0 ? 1 : -1;
            }
            return 0;
        }
        long result = 1;
        long b = base;
        long e = exp;
        while (e != 0) {
            if ((e & 1) != 0) {
                result *= b;
            }
            b *= b;
            e >>>= 1;
        }
        return result;
    }
}
