package io.vnrt.runtime.kernels;

/**
 * Conversions for the 8-bit and 4-bit float formats (float8 E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ,
 * E8M0, float4 E2M1), each element stored in one byte. Decoding is a table lookup; encoding picks
 * the nearest representable value (ties to even), then applies ONNX Cast's overflow rules: with
 * saturate, out-of-range values clamp to the largest finite value; without, they become NaN (or
 * infinity where the format has one).
 */
public final class MiniFloats {
    private MiniFloats() {}

    /** One format: its decode table, largest positive finite code, sign bit and NaN / infinity codes. */
    private record Format(float[] values, int maxCode, int signBit, int nanCode, int infCode, boolean negativeZero) {}

    private static final Format E4M3FN = build(4, 3, 7, Kind.FN);
    private static final Format E4M3FNUZ = build(4, 3, 8, Kind.FNUZ);
    private static final Format E5M2 = build(5, 2, 15, Kind.IEEE);
    private static final Format E5M2FNUZ = build(5, 2, 16, Kind.FNUZ);
    private static final Format E2M1 = build(2, 1, 1, Kind.FINITE);
    private static final float[] E8M0 = new float[256];

    static {
        for (int c = 0; c < 255; c++) {
            E8M0[c] = (float) Math.scalb(1.0, c - 127);
        }
        E8M0[255] = Float.NaN;
    }

    private enum Kind { FN, FNUZ, IEEE, FINITE }

    private static Format build(int expBits, int manBits, int bias, Kind kind) {
        int bits = 1 + expBits + manBits;
        int codes = 1 << bits;
        int signBit = 1 << (bits - 1);
        int expMax = (1 << expBits) - 1;
        float[] v = new float[codes];
        for (int c = 0; c < codes; c++) {
            int mag = c & (signBit - 1);
            int e = mag >> manBits;
            int m = mag & ((1 << manBits) - 1);
            double x = e == 0 ? Math.scalb((double) m, 1 - bias - manBits) : Math.scalb(1.0 + Math.scalb((double) m, -manBits), e - bias);
            v[c] = (float) ((c & signBit) != 0 ? -x : x);
        }
        int maxCode;
        int nan;
        int inf = -1;
        switch (kind) {
            case FN -> {
                maxCode = signBit - 2;
                nan = signBit - 1;
                v[nan] = Float.NaN;
                v[nan | signBit] = Float.NaN;
            }
            case FNUZ -> {
                maxCode = signBit - 1;
                nan = signBit;
                v[signBit] = Float.NaN;
            }
            case IEEE -> {
                inf = expMax << manBits;
                maxCode = inf - 1;
                nan = signBit - 1;
                v[inf] = Float.POSITIVE_INFINITY;
                v[inf | signBit] = Float.NEGATIVE_INFINITY;
                for (int m = 1; m < (1 << manBits); m++) {
                    v[inf | m] = Float.NaN;
                    v[inf | m | signBit] = Float.NaN;
                }
            }
            default -> {
                // float4 has no NaN: ONNX maps NaN to the negative-zero code
                maxCode = signBit - 1;
                nan = signBit;
            }
        }
        return new Format(v, maxCode, signBit, nan, inf, kind != Kind.FNUZ);
    }

    private static Format format(DType t) {
        return switch (t) {
            case FLOAT8E4M3FN -> E4M3FN;
            case FLOAT8E4M3FNUZ -> E4M3FNUZ;
            case FLOAT8E5M2 -> E5M2;
            case FLOAT8E5M2FNUZ -> E5M2FNUZ;
            case FLOAT4E2M1 -> E2M1;
            default -> throw new IllegalArgumentException(t + " is not a small float format");
        };
    }

    /** The value of {@code code} (the element's byte) in format {@code t}. */
    public static float decode(DType t, int code) {
        if (t == DType.FLOAT8E8M0) {
            return E8M0[code & 0xFF];
        }
        Format f = format(t);
        return f.values[code & (f.values.length - 1)];
    }

    /** Encodes {@code v} in format {@code t} (round to nearest even; E8M0 rounds up), ONNX Cast rules. */
    public static int encode(DType t, double v, boolean saturate) {
        if (t == DType.FLOAT8E8M0) {
            return encodeE8M0(v, saturate);
        }
        Format f = format(t);
        boolean negative = v < 0 || (v == 0 && 1 / v < 0);
        int sign = negative ? f.signBit : 0;
        if (Double.isNaN(v)) {
            return f.nanCode >= 0 ? f.nanCode : f.maxCode;
        }
        double a = Math.abs(v);
        if (Double.isInfinite(a)) {
            return overflow(f, sign, saturate, true);
        }
        float[] vals = f.values;
        double max = vals[f.maxCode];
        if (a > max) {
            // between max and the next value the format would have: round to nearest, ties to even
            double next = max + (max - vals[f.maxCode - 1]);
            double mid = (max + next) / 2;
            boolean toMax = a < mid || (a == mid && (f.maxCode & 1) == 0);
            return toMax ? sign | f.maxCode : overflow(f, sign, saturate, false);
        }
        int lo = 0;
        int hi = f.maxCode;
        while (lo < hi) {
            // smallest code whose value >= a
            int mid = (lo + hi) >>> 1;
            if (vals[mid] < a) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        int code = lo;
        if (vals[code] != a && code > 0) {
            double below = vals[code - 1];
            double above = vals[code];
            double dBelow = a - below;
            double dAbove = above - a;
            if (dBelow < dAbove || (dBelow == dAbove && ((code - 1) & 1) == 0)) {
                code = code - 1;
            }
        }
        if (code == 0 && !f.negativeZero) {
            return 0;
        }
        return sign | code;
    }

    private static int overflow(Format f, int sign, boolean saturate, boolean infinite) {
        if (saturate) {
            return sign | f.maxCode;
        }
        if (f.infCode >= 0) {
            return sign | f.infCode;
        }
        return f.nanCode >= 0 ? f.nanCode : sign | f.maxCode;
    }

    private static int encodeE8M0(double v, boolean saturate) {
        if (Double.isNaN(v)) {
            return 0xFF;
        }
        if (Double.isInfinite(v)) {
            return saturate ? 0xFE : 0xFF;
        }
        double a = Math.abs(v);
        if (a == 0) {
            return 0;
        }
        int e = Math.getExponent(a);
        if (a != Math.scalb(1.0, e)) {
            e++; // round up to the next power of two
        }
        int code = e + 127;
        if (code < 0) {
            return 0;
        }
        if (code > 254) {
            return saturate ? 0xFE : 0xFF;
        }
        return code;
    }
}
