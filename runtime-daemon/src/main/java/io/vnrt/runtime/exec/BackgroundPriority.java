package io.vnrt.runtime.exec;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * Makes the calling thread yield the CPU to every other thread of the machine, by giving it the
 * lowest scheduling priority Linux has (nice 19, which any thread may take for itself). Java's
 * thread priorities do nothing on Linux without root, so background work that must not slow real
 * work down (the start-up kernel warm-up) asks the kernel directly; elsewhere it is a no-op.
 */
final class BackgroundPriority {
    private static final int PRIO_PROCESS = 0;
    private static final int LOWEST = 19;
    private static final MethodHandle GETTID;
    private static final MethodHandle SETPRIORITY;

    static {
        MethodHandle gettid = null;
        MethodHandle setpriority = null;
        try {
            Linker linker = Linker.nativeLinker();
            var lookup = linker.defaultLookup();
            var tid = lookup.find("gettid");
            var prio = lookup.find("setpriority");
            if (tid.isPresent() && prio.isPresent()) {
                gettid = downcall(linker, tid.get(), FunctionDescriptor.of(JAVA_INT));
                setpriority = downcall(linker, prio.get(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            }
        } catch (RuntimeException | LinkageError e) {
            // not Linux/glibc, or native access refused: background threads keep the normal priority
        }
        GETTID = gettid;
        SETPRIORITY = setpriority;
    }

    private BackgroundPriority() {}

    @SuppressWarnings("restricted")
    private static MethodHandle downcall(Linker linker, java.lang.foreign.MemorySegment symbol,
            FunctionDescriptor descriptor) {
        return linker.downcallHandle(symbol, descriptor);
    }

    /** Lowers the calling thread's priority; false when the platform could not (it then runs as before). */
    static boolean lowerCurrentThread() {
        if (SETPRIORITY == null) {
            return false;
        }
        try {
            int tid = (int) GETTID.invokeExact();
            // on Linux, PRIO_PROCESS with a thread id sets that one thread's nice value
            return (int) SETPRIORITY.invokeExact(PRIO_PROCESS, tid, LOWEST) == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
