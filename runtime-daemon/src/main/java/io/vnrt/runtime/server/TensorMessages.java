package io.vnrt.runtime.server;

import io.vnrt.proto.v1.AllocateTensorRequest;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.Placement;
import io.vnrt.proto.v1.TensorInfo;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.session.DType;
import io.vnrt.runtime.session.Tensor;
import io.vnrt.runtime.session.TensorRequest;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Translation between the contract's tensor messages and the runtime's values, validating on the way in. */
final class TensorMessages {
  private static final String PREFIX = "DATA_TYPE_";
  private static final String KNOWN_TYPES = Arrays.stream(DType.values()).map(DType::name)
      .collect(Collectors.joining(", "));

  private TensorMessages() {
  }

  /** The runtime type of a contract dtype; INVALID_ARGUMENT for an unset or unknown one. */
  static DType dtype(DataType type, int number) {
    if (type == DataType.UNRECOGNIZED) {
      throw VnrtRuntimeException.invalid("unknown dtype " + number + ": expected one of " + KNOWN_TYPES,
          "dtype", number);
    }
    if (type == DataType.DATA_TYPE_UNSPECIFIED) {
      throw VnrtRuntimeException.invalid("dtype is required: one of " + KNOWN_TYPES, "dtype", 0);
    }
    return DType.valueOf(type.name().substring(PREFIX.length()));
  }

  /** The contract value of a runtime type. */
  static DataType dataType(DType type) {
    return DataType.valueOf(PREFIX + type.name());
  }

  /** Validates an allocation request and turns it into the runtime's form. */
  static TensorRequest toRequest(AllocateTensorRequest r) {
    DType dtype = dtype(r.getDtype(), r.getDtypeValue());
    boolean host = switch (r.getPlacement()) {
      case PLACEMENT_UNSPECIFIED, PLACEMENT_DEVICE -> false;
      case PLACEMENT_HOST -> true;
      case UNRECOGNIZED -> throw VnrtRuntimeException.invalid("unknown placement " + r.getPlacementValue()
          + ": expected PLACEMENT_DEVICE or PLACEMENT_HOST", "placement", r.getPlacementValue());
    };
    int core = r.getHasCore() ? r.getCoreId() : -1;
    if (r.getHasCore() && core < 0) {
      throw VnrtRuntimeException.invalid("core_id " + core + " is not a core: global core ids are >= 0 (or leave "
          + "has_core false for the device as a whole)", "core_id", core);
    }
    TensorRequest request = new TensorRequest(r.getDeviceId(), core, host, dtype, r.getShapeList(),
        dtype == DType.RAW ? r.getSizeBytes() : 0, r.getName());
    long size = request.sizeBytes();
    if (dtype != DType.RAW && r.getSizeBytes() != 0 && r.getSizeBytes() != size) {
      throw VnrtRuntimeException.invalid("size_bytes " + Long.toUnsignedString(r.getSizeBytes())
          + " does not match " + dtype + r.getShapeList() + ", which is " + size + " bytes (leave size_bytes 0 for "
          + "typed tensors)", "size_bytes", Long.toUnsignedString(r.getSizeBytes()), "expected_size_bytes", size);
    }
    return request;
  }

  /** The contract's description of a tensor. */
  static TensorInfo info(Tensor t) {
    return TensorInfo.newBuilder()
        .setHandle(t.handle())
        .setName(t.name())
        .setDeviceId(t.deviceId())
        .setCoreId(t.coreId())
        .setPlacement(t.isHost() ? Placement.PLACEMENT_HOST : Placement.PLACEMENT_DEVICE)
        .setDtype(dataType(t.dtype()))
        .addAllShape(t.shape())
        .setSizeBytes(t.sizeBytes())
        .setParentHandle(t.parentHandle())
        .setParentOffsetBytes(t.parentOffset())
        .build();
  }
}
