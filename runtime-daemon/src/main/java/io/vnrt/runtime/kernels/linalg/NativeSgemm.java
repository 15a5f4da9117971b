package io.vnrt.runtime.kernels.linalg;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import io.vnrt.runtime.kernels.NativeCode;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import jdk.incubator.vector.FloatVector;

/**
 * AVX-512 SGEMM micro-kernels in machine code, called through the FFM linker: the same tiles as
 * the Vector API kernels (R rows × one packed 32-column panel, R = 12, 8 or 4), the same order of
 * operations (so the same results, bit for bit), at MLAS's speed. C2 cannot unroll the Vector API
 * kernel's k loop or prefetch, and its loop runs at about 80% of the FMA rate where these run at
 * about 90% (bench/README.md, "Where the time goes").
 *
 * <p>The code comes from {@code dev/native-kernels/sgemm_avx512.s} (generated, readable), assembled
 * into the {@code sgemm_avx512.hex} resource; {@code NativeSgemmTest} checks the two agree.
 * {@link NativeCode} loads it. The kernels are used when the CPU has AVX-512F, the JVM
 * uses 512-bit vectors, the system is Linux on x86-64 and {@code -Dvnrt.nativeKernels=false} is not
 * set; otherwise, or if anything in loading fails, {@link #AVAILABLE} is false, {@link #STATUS}
 * says why, and the Vector API kernels run.
 *
 * <p>Native code does not check bounds: {@link #tile} takes addresses only from
 * {@link #address}, which checks each operand's whole extent against its segment and the
 * segment's liveness first.
 */
final class NativeSgemm {
    static final int FLAG_ACCUMULATE = 1;
    static final int FLAG_BIAS = 2;
    static final int FLAG_RELU = 4;

    static final boolean AVAILABLE;
    /** "AVX-512 machine-code kernels" or why the Vector API kernels run instead. */
    static final String STATUS;
    private static final MethodHandle R12;
    private static final MethodHandle R8;
    private static final MethodHandle R4;

    static {
        Map<Integer, MethodHandle> handles = new HashMap<>();
        String status;
        try {
            String why = unsupportedReason();
            if (why == null) {
                load(handles);
                status = "AVX-512 machine-code kernels";
            } else {
                status = "Vector API kernels (" + why + ")";
            }
        } catch (RuntimeException | Error e) {
            handles.clear();
            status = "Vector API kernels (loading the AVX-512 kernels failed: " + e + ")";
        }
        AVAILABLE = handles.size() == 3;
        STATUS = status;
        R12 = handles.get(12);
        R8 = handles.get(8);
        R4 = handles.get(4);
    }

    private NativeSgemm() {}

    private static String unsupportedReason() {
        if (!Boolean.parseBoolean(System.getProperty("vnrt.nativeKernels", "true"))) {
            return "-Dvnrt.nativeKernels=false";
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "not Linux on x86-64";
        }
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() < 512) {
            return "the JVM does not use 512-bit vectors on this CPU";
        }
        try {
            String cpu = Files.readString(Path.of("/proc/cpuinfo"));
            if (!cpu.contains(" avx512f")) {
                return "the CPU has no AVX-512F";
            }
        } catch (IOException e) {
            return "cannot read /proc/cpuinfo: " + e.getMessage();
        }
        return null;
    }

    private static void load(Map<Integer, MethodHandle> handles) {
        NativeCode code = NativeCode.load(NativeSgemm.class, "sgemm_avx512.hex");
        FunctionDescriptor fd = FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_LONG);
        for (int rows : new int[] {12, 8, 4}) {
            handles.put(rows, code.downcall("vnrt_sgemm_r" + rows + "x32", fd));
        }
    }

    /** {@link NativeCode#address}: the checked address of an operand. */
    static long address(MemorySegment s, long offset, long extent) {
        return NativeCode.address(s, offset, extent);
    }

    /**
     * One rows×32 tile: C = A·B over k (plus C with {@link #FLAG_ACCUMULATE}, plus bias[0..31] per
     * row with {@link #FLAG_BIAS}, then Relu with {@link #FLAG_RELU}). Addresses from {@link #address}.
     */
    static void tile(int rows, long a, long lda, long b, long c, long ldc, long k, long bias, long flags) {
        try {
            switch (rows) {
                case 12 -> R12.invokeExact(a, lda, b, c, ldc, k, bias, flags);
                case 8 -> R8.invokeExact(a, lda, b, c, ldc, k, bias, flags);
                case 4 -> R4.invokeExact(a, lda, b, c, ldc, k, bias, flags);
                default -> throw new IllegalArgumentException("native GEMM tiles have 12, 8 or 4 rows, not " + rows);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
