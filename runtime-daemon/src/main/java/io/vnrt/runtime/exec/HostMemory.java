package io.vnrt.runtime.exec;

import io.vnrt.runtime.DeviceMemoryExhaustedException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/** Model memory in plain host memory with an optional byte limit: for tests, tools and the conformance runner. */
public final class HostMemory implements ModelMemory {
    private final long limit;
    private final AtomicLong used = new AtomicLong();

    /** Unlimited host memory. */
    public HostMemory() {
        this(Long.MAX_VALUE);
    }

    public HostMemory(long limitBytes) {
        this.limit = limitBytes;
    }

    @Override
    public Allocation allocate(long bytes, Purpose purpose, String what) {
        long now = used.addAndGet(bytes);
        if (now > limit || now < 0) {
            used.addAndGet(-bytes);
            throw DeviceMemoryExhaustedException.host(purpose.name().toLowerCase() + " for " + what, bytes, now - bytes,
                    limit, null);
        }
        Arena arena = Arena.ofShared();
        MemorySegment seg;
        try {
            seg = arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
        } catch (OutOfMemoryError e) {
            arena.close();
            used.addAndGet(-bytes);
            throw DeviceMemoryExhaustedException.host(what, bytes, -1, -1, e);
        }
        return new Allocation() {
            private boolean closed;

            @Override
            public MemorySegment segment() {
                return seg;
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    arena.close();
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
