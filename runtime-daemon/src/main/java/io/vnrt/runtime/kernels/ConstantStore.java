package io.vnrt.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * Where a model keeps transformed copies of its constants (pre-packed weights), one per key for
 * the model's lifetime, in the model's device memory. Thread-safe.
 */
public interface ConstantStore {
    /**
     * The copy of model constant {@code constant} in {@code layout}, or a new one of
     * {@code bytes} filled by {@code fill}. Throws DeviceMemoryExhaustedException when the device
     * cannot hold it.
     */
    MemorySegment get(String constant, String layout, long bytes, Consumer<MemorySegment> fill);
}
