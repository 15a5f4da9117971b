package io.vnrt.runtime.server;

import io.vnrt.runtime.kernels.DType;
import java.util.Map;

/** KServe v2 datatype strings ("FP32", "INT64"...) for the engine's element types, and back. */
final class KServeTypes {
  private static final Map<DType, String> NAMES = Map.ofEntries(
      Map.entry(DType.BOOL, "BOOL"),
      Map.entry(DType.UINT8, "UINT8"),
      Map.entry(DType.UINT16, "UINT16"),
      Map.entry(DType.UINT32, "UINT32"),
      Map.entry(DType.UINT64, "UINT64"),
      Map.entry(DType.INT8, "INT8"),
      Map.entry(DType.INT16, "INT16"),
      Map.entry(DType.INT32, "INT32"),
      Map.entry(DType.INT64, "INT64"),
      Map.entry(DType.FLOAT16, "FP16"),
      Map.entry(DType.FLOAT32, "FP32"),
      Map.entry(DType.FLOAT64, "FP64"),
      Map.entry(DType.BFLOAT16, "BF16"));

  private KServeTypes() {
  }

  /** The KServe name of an engine type; "BYTES" for strings, else the engine's own name. */
  static String name(DType t) {
    String n = NAMES.get(t);
    return n != null ? n : t == DType.STRING ? "BYTES" : t.name();
  }

  /** The engine type for a KServe name, or null when there is none. */
  static DType fromName(String name) {
    for (Map.Entry<DType, String> e : NAMES.entrySet()) {
      if (e.getValue().equals(name)) {
        return e.getKey();
      }
    }
    return null;
  }

  /** The datatypes accepted, for error messages. */
  static String accepted() {
    return "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16";
  }
}
