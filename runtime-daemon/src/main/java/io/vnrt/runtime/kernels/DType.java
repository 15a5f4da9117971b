package io.vnrt.runtime.kernels;

/**
 * Element types the engine stores. Codes are ONNX's TensorProto.DataType numbers, so a model's
 * type travels through the engine unchanged; float16 and bfloat16 are stored as such and computed
 * in float32.
 */
public enum DType {
    FLOAT32(1, 4),
    UINT8(2, 1),
    INT8(3, 1),
    UINT16(4, 2),
    INT16(5, 2),
    INT32(6, 4),
    INT64(7, 8),
    STRING(8, 0),
    BOOL(9, 1),
    FLOAT16(10, 2),
    FLOAT64(11, 8),
    UINT32(12, 4),
    UINT64(13, 8),
    BFLOAT16(16, 2),
    // 8- and 4-bit floats and 4/2-bit integers are stored one element per byte in the engine;
    // the sub-byte ones are packed only in TensorProtos (see packedBits()).
    FLOAT8E4M3FN(17, 1),
    FLOAT8E4M3FNUZ(18, 1),
    FLOAT8E5M2(19, 1),
    FLOAT8E5M2FNUZ(20, 1),
    UINT4(21, 1),
    INT4(22, 1),
    FLOAT4E2M1(23, 1),
    FLOAT8E8M0(24, 1),
    UINT2(25, 1),
    INT2(26, 1);

    private final int onnxCode;
    private final int byteSize;

    DType(int onnxCode, int byteSize) {
        this.onnxCode = onnxCode;
        this.byteSize = byteSize;
    }

    /** The ONNX TensorProto.DataType number. */
    public int onnxCode() {
        return onnxCode;
    }

    /** Bytes per element (0 for STRING, which the engine does not compute on). */
    public int byteSize() {
        return byteSize;
    }

    /** float16, bfloat16, float32, float64, and the 8/4-bit float formats. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16 || isSmallFloat();
    }

    /** The 8-bit and 4-bit float formats (computed through {@link MiniFloats}). */
    public boolean isSmallFloat() {
        return switch (this) {
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1 -> true;
            default -> false;
        };
    }

    /** Bits per element in a TensorProto: 4 for int4/uint4/float4, 2 for int2/uint2, else 8 * byteSize. */
    public int packedBits() {
        return switch (this) {
            case UINT4, INT4, FLOAT4E2M1 -> 4;
            case UINT2, INT2 -> 2;
            default -> 8 * byteSize;
        };
    }

    /** Any signed or unsigned integer type (not BOOL). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64, UINT4, INT4, UINT2, INT2 -> true;
            default -> false;
        };
    }

    /** Unsigned integer types. */
    public boolean isUnsigned() {
        return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64 || this == UINT4 || this == UINT2;
    }

    /** The type with this ONNX code. */
    public static DType fromOnnx(int code) {
        for (DType t : values()) {
            if (t.onnxCode == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported ONNX data type " + code
                + " (supported: float32, float16, bfloat16, float64, int8/16/32/64, uint8/16/32/64, bool)");
    }

    /** Lower-case name as ONNX prints it, e.g. "float32". */
    public String displayName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
