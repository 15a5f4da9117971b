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
    BFLOAT16(16, 2);

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

    /** float16, bfloat16, float32 or float64. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
    }

    /** Any signed or unsigned integer type (not BOOL). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64 -> true;
            default -> false;
        };
    }

    /** Unsigned integer types. */
    public boolean isUnsigned() {
        return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64;
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
