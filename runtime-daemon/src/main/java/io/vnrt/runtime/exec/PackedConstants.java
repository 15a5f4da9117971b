package io.vnrt.runtime.exec;

import io.vnrt.runtime.kernels.ConstantStore;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A model's pre-packed constants (GEMM panels and the like) in its device memory, charged as
 * weights: made once per constant and layout, shared by all of the model's plans, freed with it.
 */
final class PackedConstants implements ConstantStore, AutoCloseable {
    private final ModelMemory memory;
    private final String modelName;
    /** Constant name to its copies by layout. */
    private final Map<String, Map<String, MemorySegment>> copies = new HashMap<>();
    private final Set<String> withheld = new HashSet<>();
    private final List<ModelMemory.Allocation> allocations = new ArrayList<>();
    private long bytes;
    private boolean closed;

    PackedConstants(ModelMemory memory, String modelName) {
        this.memory = memory;
        this.modelName = modelName;
    }

    @Override
    public synchronized MemorySegment get(String constant, String layout, long size, Consumer<MemorySegment> fill) {
        Map<String, MemorySegment> layouts = copies.computeIfAbsent(constant, c -> new HashMap<>());
        MemorySegment seg = layouts.get(layout);
        if (seg != null) {
            if (seg.byteSize() != size) {
                throw new IllegalStateException("packed constant '" + constant + "' as " + layout + " requested with "
                        + size + " bytes, stored with " + seg.byteSize());
            }
            return seg;
        }
        if (closed) {
            throw new IllegalStateException("model '" + modelName + "' is closed");
        }
        if (withheld.contains(constant)) {
            // The loader placed only the packed copies of this constant; a kernel asking for a new
            // layout is an engine bug, and must not read the withheld original.
            throw new IllegalStateException("model '" + modelName + "': constant '" + constant
                    + "' is held only as " + String.join(", ", layouts.keySet()) + ", but a kernel asked for it as "
                    + layout);
        }
        ModelMemory.Allocation a = memory.allocate(Math.max(size, 1), ModelMemory.Purpose.WEIGHTS,
                "packed weights " + constant + " as " + layout + " of model '" + modelName + "'");
        seg = a.segment().asSlice(0, size);
        try {
            fill.accept(seg);
        } catch (RuntimeException | Error e) {
            a.close();
            throw e;
        }
        allocations.add(a);
        layouts.put(layout, seg);
        bytes += a.segment().byteSize();
        return seg;
    }

    /** Marks constants whose original the loader did not place: only their packed copies exist. */
    synchronized void withhold(Set<String> constants) {
        withheld.addAll(constants);
    }

    /** Bytes held. */
    synchronized long bytes() {
        return bytes;
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (ModelMemory.Allocation a : allocations) {
            a.close();
        }
        allocations.clear();
        copies.clear();
        bytes = 0;
    }
}
