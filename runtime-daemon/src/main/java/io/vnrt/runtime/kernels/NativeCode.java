package io.vnrt.runtime.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Machine-code kernels loaded from a checked-in hex resource (written by {@code dev/native-kernels/build}:
 * {@code entry NAME OFFSET} lines, then the .text bytes in hex) into a private anonymous mapping
 * that is made read+execute once filled (never writable and executable at once), and called through
 * FFM critical downcalls. The mapping lives as long as the JVM.
 *
 * <p>Native code does not check bounds: callers pass only addresses from {@link #address}, which
 * checks each operand's whole extent against its segment and the segment's liveness first.
 */
public final class NativeCode {
    private final String resource;
    private final MemorySegment text;
    private final Map<String, Long> entries;

    private NativeCode(String resource, MemorySegment text, Map<String, Long> entries) {
        this.resource = resource;
        this.text = text;
        this.entries = entries;
    }

    /**
     * Loads {@code resource} (relative to {@code anchor}'s package) into executable memory.
     * Throws an unchecked exception saying what failed; callers fall back to Java kernels.
     */
    // Running generated code is this class's purpose; the JVMs we start pass --enable-native-access.
    @SuppressWarnings("restricted")
    public static NativeCode load(Class<?> anchor, String resource) {
        Map<String, Long> entries = new HashMap<>();
        StringBuilder hex = new StringBuilder();
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource + " is missing");
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith("entry ")) {
                    String[] f = line.split(" ");
                    entries.put(f[1], Long.parseLong(f[2]));
                } else if (!line.isBlank() && !line.startsWith("#")) {
                    hex.append(line.strip());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] code = HexFormat.of().parseHex(hex);
        if (code.length == 0) {
            throw new IllegalStateException("resource " + resource + " holds no code");
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle mmap = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        MethodHandle mprotect = linker.downcallHandle(linker.defaultLookup().find("mprotect").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        long length = (code.length + 4095L) & ~4095L;
        MemorySegment text;
        try {
            // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS; never unmapped (the code lives as long as the JVM).
            text = ((MemorySegment) mmap.invokeExact(MemorySegment.NULL, length, 0x3, 0x22, -1, 0L)).reinterpret(length);
            if (text.address() == -1L) {
                throw new IllegalStateException("mmap of " + length + " bytes for " + resource + " failed");
            }
            MemorySegment.copy(MemorySegment.ofArray(code), 0, text, 0, code.length);
            int rc = (int) mprotect.invokeExact(text, length, 0x5); // PROT_READ|PROT_EXEC
            if (rc != 0) {
                throw new IllegalStateException("mprotect(PROT_READ|PROT_EXEC) failed: executable memory refused");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return new NativeCode(resource, text.asSlice(0, code.length), Map.copyOf(entries));
    }

    /** A critical downcall to the function the resource names {@code entry}. */
    @SuppressWarnings("restricted")
    public MethodHandle downcall(String entry, FunctionDescriptor fd) {
        Long at = entries.get(entry);
        if (at == null || at < 0 || at >= text.byteSize()) {
            throw new IllegalStateException(resource + " has no valid entry " + entry);
        }
        return Linker.nativeLinker().downcallHandle(text.asSlice(at), fd, Linker.Option.critical(false));
    }

    /**
     * The address of {@code extent} bytes at {@code offset} in {@code s}, after checking they lie
     * inside it and it is still alive: native code must never see an address Java has not checked.
     */
    public static long address(MemorySegment s, long offset, long extent) {
        if (offset < 0 || extent < 0 || offset > s.byteSize() - extent) {
            throw new IndexOutOfBoundsException("native kernel operand of " + extent + " bytes at offset " + offset
                    + " outside a segment of " + s.byteSize() + " bytes");
        }
        if (!s.scope().isAlive()) {
            throw new IllegalStateException("native kernel operand in a closed segment");
        }
        return s.address() + offset;
    }
}
