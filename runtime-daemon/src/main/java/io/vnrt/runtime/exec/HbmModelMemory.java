package io.vnrt.runtime.exec;

import io.vnrt.runtime.DeviceMemoryExhaustedException;
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
    private final HbmPool pool;
    private final String ownerId;
    private final String ownerLabel;
    private final int coreId;
    private final String modelId;
    private final AtomicLong used = new AtomicLong();

    public HbmModelMemory(HbmPool pool, String ownerId, String ownerLabel, int coreId, String modelId) {
        this.pool = pool;
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
            block = pool.allocate(bytes, category, ownerId, ownerLabel, coreId, modelId, what);
        } catch (HbmExhaustedException e) {
            throw DeviceMemoryExhaustedException.of(e);
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
                }
            }
        };
    }

    @Override
    public long usedBytes() {
        return used.get();
    }
}
