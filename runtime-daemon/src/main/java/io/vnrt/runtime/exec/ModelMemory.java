package io.vnrt.runtime.exec;

import java.lang.foreign.MemorySegment;

/**
 * Where a loaded model's device memory comes from: its weights block and its scratch block. The
 * device's HBM pool is the real implementation; {@link HostMemory} serves tests and tools.
 */
public interface ModelMemory {
    /** What an allocation holds, for the pool's accounting. */
    enum Purpose { WEIGHTS, SCRATCH }

    /** Allocates {@code bytes} (64-byte aligned); throws when the device cannot hold them. */
    Allocation allocate(long bytes, Purpose purpose, String what);

    /** The most this memory could ever hold (the device's HBM): values computed at execution are bounded by it. */
    default long capacityBytes() {
        return Long.MAX_VALUE;
    }

    /** Bytes currently allocated through this memory (for leak checks). */
    long usedBytes();

    /** One allocated block; close() returns it. */
    interface Allocation extends AutoCloseable {
        MemorySegment segment();

        @Override
        void close();
    }
}
