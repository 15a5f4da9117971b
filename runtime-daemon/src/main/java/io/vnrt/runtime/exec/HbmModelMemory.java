package io.vnrt.runtime.exec;

import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.DeviceMemoryExhaustedException;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.memory.HbmBlock;
import io.vnrt.runtime.memory.HbmExhaustedException;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.memory.MemoryCategory;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A model's memory in a device's HBM pool, charged to one owner (session), core and model id.
 * Exhaustion surfaces as {@link DeviceMemoryExhaustedException} carrying the pool's explanation
 * of who holds what.
 */
public final class HbmModelMemory implements ModelMemory {
    /** What a model's device memory is charged to besides the pool: its session's HBM quota. */
    public interface Quota {
        /** Takes bytes, or throws (RESOURCE_EXHAUSTED) when they would pass the limit. */
        void acquireHbm(long bytes);

        /** Gives back bytes taken by {@link #acquireHbm}. */
        void releaseHbm(long bytes);
    }

    /** Charges nothing: the runtime's own models and tests. */
    public static final Quota UNLIMITED = new Quota() {
        @Override
        public void acquireHbm(long bytes) {
        }

        @Override
        public void releaseHbm(long bytes) {
        }
    };

    private final HbmPool pool;
    private final Quota quota;
    private final String ownerId;
    private final String ownerLabel;
    private final int coreId;
    private final String modelId;
    private final AtomicLong used = new AtomicLong();

    public HbmModelMemory(HbmPool pool, String ownerId, String ownerLabel, int coreId, String modelId) {
        this(pool, ownerId, ownerLabel, coreId, modelId, UNLIMITED);
    }

    /** Memory also charged to {@code quota}: weights, packed weights and scratch count against the session's HBM. */
    public HbmModelMemory(HbmPool pool, String ownerId, String ownerLabel, int coreId, String modelId, Quota quota) {
        this.pool = pool;
        this.quota = quota;
        this.ownerId = ownerId;
        this.ownerLabel = ownerLabel;
        this.coreId = coreId;
        this.modelId = modelId;
    }

    public HbmPool pool() {
        return pool;
    }

    @Override
    public Allocation allocate(long bytes, Purpose purpose, String what) {
        if (bytes == 0) {
            // the pool refuses empty blocks; a model without weights (or scratch) needs none
            return new Allocation() {
                @Override
                public MemorySegment segment() {
                    return MemorySegment.NULL.reinterpret(0);
                }

                @Override
                public void close() {
                }
            };
        }
        MemoryCategory category = purpose == Purpose.WEIGHTS ? MemoryCategory.WEIGHTS : MemoryCategory.SCRATCH;
        HbmBlock block;
        try {
            quota.acquireHbm(bytes);
        } catch (VnrtRuntimeException e) {
            throw DeviceMemoryExhaustedException.overLimit(what + " (" + ByteSize.format(bytes) + ") is refused: "
                + e.getMessage(), pool.deviceId(), bytes, e.context(), e);
        }
        try {
            block = pool.allocate(bytes, category, ownerId, ownerLabel, coreId, modelId, what);
        } catch (HbmExhaustedException e) {
            quota.releaseHbm(bytes);
            throw DeviceMemoryExhaustedException.of(e);
        } catch (RuntimeException e) {
            quota.releaseHbm(bytes);
            throw e;
        }
        used.addAndGet(bytes);
        return new Allocation() {
            private boolean closed;

            @Override
            public MemorySegment segment() {
                return block.segment();
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    block.close();
                    used.addAndGet(-bytes);
                    quota.releaseHbm(bytes);
                }
            }
        };
    }

    @Override
    public long capacityBytes() {
        return pool.capacityBytes();
    }

    @Override
    public long usedBytes() {
        return used.get();
    }
}
