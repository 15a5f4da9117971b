package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException.Kind;
import io.vnrt.runtime.exec.InputMismatchException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.SharedMemoryRegion;
import io.vnrt.runtime.session.Session;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * An execution request resolved against its model and session before it is queued: every input
 * a typed view of its bytes (device tensors and shared-memory ranges pinned until {@link #close()}),
 * and every wanted output with its destination pinned.
 */
final class BoundExecution implements AutoCloseable {
  /** Where one wanted output goes, resolved. */
  record Destination(String name, OutputTarget target, MemorySegment memory, DType dtype) {
  }

  private final Map<String, Tensor> inputs;
  private final List<Destination> destinations;
  private final List<AutoCloseable> pins;
  private final AtomicBoolean closed = new AtomicBoolean();

  private BoundExecution(Map<String, Tensor> inputs, List<Destination> destinations, List<AutoCloseable> pins) {
    this.inputs = inputs;
    this.destinations = destinations;
    this.pins = pins;
  }

  /** Resolves and validates; EXEC_BAD_INPUT (INVALID_ARGUMENT), NOT_FOUND as fits. Nothing stays pinned on failure. */
  static BoundExecution bind(Session session, ModelEntry model, ExecutionRequest request) {
    List<AutoCloseable> pins = new ArrayList<>();
    try {
      Map<String, Tensor> inputs = new LinkedHashMap<>();
      for (Map.Entry<String, TensorSource> e : request.inputs().entrySet()) {
        inputs.put(e.getKey(), input(session, e.getKey(), e.getValue(), pins));
      }
      try {
        model.model().checkInputs(inputs);
      } catch (InputMismatchException e) {
        throw VnrtRuntimeException.of(Kind.EXEC_BAD_INPUT, "model '" + model.name() + "': " + e.getMessage(),
            "model", model.name(), "expected_inputs", describe(model.inputs()));
      }
      List<Destination> destinations = new ArrayList<>();
      if (request.outputs().isEmpty()) {
        for (ValueInfo v : model.outputs()) {
          destinations.add(new Destination(v.name(), OutputTarget.INLINE, null, null));
        }
      } else {
        for (Map.Entry<String, OutputTarget> e : request.outputs().entrySet()) {
          destinations.add(output(session, model, e.getKey(), e.getValue(), pins));
        }
      }
      return new BoundExecution(inputs, destinations, pins);
    } catch (RuntimeException e) {
      closeAll(pins);
      throw e;
    }
  }

  static String describe(List<ValueInfo> values) {
    return values.stream().map(ValueInfo::toString).collect(Collectors.joining(", "));
  }

  /** The parts, one after the other, in native memory of {@link InputMemory} held until the execution ends. */
  private static MemorySegment copied(List<MemorySegment> parts, long bytes, List<AutoCloseable> pins) {
    // given back with the other pins when the execution ends, whichever way
    InputMemory.Lease lease = InputMemory.SHARED.take(bytes);
    pins.add(lease);
    MemorySegment data = lease.segment();
    long at = 0;
    for (MemorySegment part : parts) {
      MemorySegment.copy(part, 0, data, at, part.byteSize());
      at += part.byteSize();
    }
    return data;
  }

  private static Tensor input(Session session, String name, TensorSource source, List<AutoCloseable> pins) {
    return switch (source) {
      case TensorSource.Inline in -> {
        checkType(name, in.dtype(), in.shape());
        long want = TensorTypes.byteSize(in.dtype(), in.shape());
        if (in.data().byteSize() != want) {
          throw badInput("input '" + name + "' is " + in.dtype().displayName() + Arrays.toString(in.shape())
              + ", which takes " + want + " bytes, but " + in.data().byteSize() + " bytes were given", name);
        }
        // Heap bytes are copied into native memory: a kernel that has read both heap and native
        // segments is compiled for both, and C2 then cannot intrinsify its vector loads (they
        // run boxed: a ResNet-50 ran 40 ms against 28 in a daemon whose warm-up had fed the GEMM
        // heap inputs). Every execution input is native memory, as every weight and activation is.
        MemorySegment data = in.data().isNative() ? in.data() : copied(List.of(in.data()), want, pins);
        yield new Tensor(in.dtype(), in.shape(), data);
      }
      case TensorSource.Pieces in -> {
        checkType(name, in.dtype(), in.shape());
        long want = TensorTypes.byteSize(in.dtype(), in.shape());
        if (in.byteSize() != want) {
          throw badInput("input '" + name + "' is " + in.dtype().displayName() + Arrays.toString(in.shape())
              + ", which takes " + want + " bytes, but " + in.byteSize() + " bytes were given", name);
        }
        yield new Tensor(in.dtype(), in.shape(), copied(in.parts(), want, pins));
      }
      case TensorSource.DeviceTensor h -> {
        io.vnrt.runtime.session.Tensor t = session.tensor(h.handle());
        DType dtype = h.dtype() != null ? h.dtype() : TensorTypes.toEngine(t.dtype());
        if (dtype == null) {
          throw badInput("input '" + name + "' comes from " + t.describe() + ", which is untyped: give its dtype "
              + "and shape", name);
        }
        long[] shape = h.shape() != null ? h.shape() : t.shape().stream().mapToLong(Long::longValue).toArray();
        checkType(name, dtype, shape);
        long want = TensorTypes.byteSize(dtype, shape);
        if (want != t.sizeBytes()) {
          throw badInput("input '" + name + "' as " + dtype.displayName() + Arrays.toString(shape) + " takes " + want
              + " bytes, but " + t.describe() + " holds " + t.sizeBytes(), name);
        }
        io.vnrt.runtime.session.Tensor.Pin pin = t.pin();
        pins.add(pin);
        yield new Tensor(dtype, shape, pin.segment());
      }
      case TensorSource.SharedMemory s -> {
        checkType(name, s.dtype(), s.shape());
        long want = TensorTypes.byteSize(s.dtype(), s.shape());
        if (s.lengthBytes() != want) {
          throw badInput("input '" + name + "' is " + s.dtype().displayName() + Arrays.toString(s.shape())
              + ", which takes " + want + " bytes, but the shared-memory reference gives "
              + Long.toUnsignedString(s.lengthBytes()), name);
        }
        SharedMemoryRegion.Pin pin = session.sharedMemory().pin(s.region(), s.offsetBytes(), s.lengthBytes());
        pins.add(pin);
        yield new Tensor(s.dtype(), s.shape(), pin.segment());
      }
    };
  }

  private static void checkType(String name, DType dtype, long[] shape) {
    if (dtype == null) {
      throw badInput("input '" + name + "' needs a dtype", name);
    }
    if (shape == null || TensorTypes.byteSize(dtype, shape) < 0) {
      throw badInput("input '" + name + "' has an invalid shape " + Arrays.toString(shape)
          + ": dims must be >= 0 and the size must fit in 63 bits", name);
    }
  }

  private static Destination output(Session session, ModelEntry model, String name, OutputTarget target,
      List<AutoCloseable> pins) {
    ValueInfo declared = model.outputs().stream().filter(v -> v.name().equals(name)).findFirst()
        .orElseThrow(() -> badInput("model '" + model.name() + "' has no output '" + name + "'; its outputs are "
            + describe(model.outputs()), name));
    return switch (target) {
      case OutputTarget.Inline in -> new Destination(name, in, null, null);
      case OutputTarget.DeviceTensor h -> {
        io.vnrt.runtime.session.Tensor t = session.tensor(h.handle());
        DType tensorType = TensorTypes.toEngine(t.dtype());
        if (tensorType != null && declared.dtype() != null && tensorType != declared.dtype()) {
          throw badInput("output '" + name + "' is " + declared.typeString() + " but tensor '" + shortHandle(h.handle())
              + "' is " + t.describe(), name);
        }
        io.vnrt.runtime.session.Tensor.Pin pin = t.pin();
        pins.add(pin);
        yield new Destination(name, h, pin.segment(), TensorTypes.toEngine(t.dtype()));
      }
      case OutputTarget.SharedMemory s -> {
        SharedMemoryRegion.Pin pin = session.sharedMemory().pin(s.region(), s.offsetBytes(), s.lengthBytes());
        pins.add(pin);
        yield new Destination(name, s, pin.segment(), null);
      }
    };
  }

  private static String shortHandle(String handle) {
    return handle.length() <= 12 ? handle : handle.substring(0, 12) + "…";
  }

  static VnrtRuntimeException badInput(String message, String name) {
    return VnrtRuntimeException.of(Kind.EXEC_BAD_INPUT, message, "name", name);
  }

  Map<String, Tensor> inputs() {
    return inputs;
  }

  List<Destination> destinations() {
    return destinations;
  }

  /** Rows along dimension 0 (the batch), from the first input. */
  long rows() {
    return inputs.values().iterator().next().dim(0);
  }

  /**
   * Writes one output where it was asked to go, returning what the result reports. A device
   * tensor must have the output's dtype (or be untyped) and byte size; a shared-memory range must
   * have room for it.
   */
  static ExecutionResult.OutputValue deliver(Destination d, DType dtype, long[] shape, MemorySegment bytes) {
    long size = bytes.byteSize();
    return switch (d.target()) {
      case OutputTarget.Inline in -> {
        byte[] data = new byte[Math.toIntExact(size)];
        MemorySegment.copy(bytes, 0, MemorySegment.ofArray(data), 0, size);
        yield new ExecutionResult.OutputValue(d.name(), dtype, shape, in, data);
      }
      case OutputTarget.DeviceTensor h -> {
        if ((d.dtype() != null && d.dtype() != dtype) || d.memory().byteSize() != size) {
          throw badInput("output '" + d.name() + "' is " + dtype.displayName() + Arrays.toString(shape) + " (" + size
              + " bytes) but tensor '" + shortHandle(h.handle()) + "' is "
              + (d.dtype() == null ? "untyped" : d.dtype().displayName()) + " of " + d.memory().byteSize()
              + " bytes", d.name());
        }
        MemorySegment.copy(bytes, 0, d.memory(), 0, size);
        yield new ExecutionResult.OutputValue(d.name(), dtype, shape, h, null);
      }
      case OutputTarget.SharedMemory s -> {
        if (d.memory().byteSize() < size) {
          throw badInput("output '" + d.name() + "' is " + dtype.displayName() + Arrays.toString(shape) + " (" + size
              + " bytes) but the shared-memory reference leaves room for " + d.memory().byteSize(), d.name());
        }
        MemorySegment.copy(bytes, 0, d.memory(), 0, size);
        yield new ExecutionResult.OutputValue(d.name(), dtype, shape,
            new OutputTarget.SharedMemory(s.region(), s.offsetBytes(), size), null);
      }
    };
  }

  /** Unpins everything; idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeAll(pins);
    }
  }

  private static void closeAll(List<AutoCloseable> pins) {
    for (AutoCloseable p : pins) {
      try {
        p.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
