package io.vnrt.runtime.kernels.linalg;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.vnrt.runtime.kernels.NativeCode;
import io.vnrt.runtime.kernels.VectorShape;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * SGEMM micro-kernels in machine code, called through the FFM linker: the same tiles as the Vector
 * API kernels (R rows × one packed panel of {@link Sgemm#NR} columns), the same order of operations
 * (so the same results, bit for bit), at MLAS's speed. C2 cannot unroll the Vector API kernel's k
 * loop or prefetch, and its loop runs at about 80% of the FMA rate where these run at about 90%
 * (bench/README.md, "Where the time goes").
 *
 * <p>Two instruction sets have tiles, chosen once at start-up from the vector width
 * ({@link VectorShape#BITS}) and the CPU: AVX-512F on zmm registers (12, 8 and 4 rows × 32 columns)
 * at 512 bits, and AVX2 with FMA on ymm registers (6 and 4 rows × 16 columns, the 6×16 tile of
 * BLIS's and MLAS's Haswell kernels) at 256 bits, where the JVM also runs {@code -XX:UseAVX=2} or
 * more. At 128 bits, on other CPUs (aarch64 included), on other systems than Linux on x86-64, with
 * {@code -Dvnrt.nativeKernels=false}, or if anything in loading fails, {@link #AVAILABLE} is false,
 * {@link #STATUS} says why, and the Vector API kernels run.
 *
 * <p>The code comes from {@code dev/native-kernels/sgemm_avx512.s} and {@code sgemm_avx2.s}
 * (generated, readable), assembled into the {@code .hex} resources {@link NativeCode} loads;
 * {@code NativeSgemmTest} checks each resource still matches its source. Native code does not check
 * bounds: {@link #tile} takes addresses only from {@link #address}, which checks each operand's
 * whole extent against its segment and the segment's liveness first.
 */
final class NativeSgemm {
    static final int FLAG_ACCUMULATE = 1;
    static final int FLAG_BIAS = 2;
    static final int FLAG_RELU = 4;

    /**
     * An instruction set with machine-code tiles: its name, resource, vector width, the rows a
     * thread's share of M is a multiple of, and tile heights, largest first.
     */
    enum Isa {
        AVX512("AVX-512", "sgemm_avx512.hex", 512, 8, 12, 8, 4),
        AVX2("AVX2", "sgemm_avx2.hex", 256, 6, 6, 4);

        final String label;
        final String resource;
        final int bits;
        final int rowGrain;
        final int[] heights;

        Isa(String label, String resource, int bits, int rowGrain, int... heights) {
            this.label = label;
            this.resource = resource;
            this.bits = bits;
            this.rowGrain = rowGrain;
            this.heights = heights;
        }

        /** Columns of a tile: two vectors of this width. */
        int columns() {
            return 2 * bits / 32;
        }

        String entry(int rows) {
            return "vnrt_sgemm_r" + rows + "x" + columns();
        }
    }

    /** What start-up found: the tiles' downcalls (one per height of {@code isa}), or none and why. */
    record Loaded(Isa isa, MethodHandle[] handles, String status) {
        boolean available() {
            return handles != null;
        }
    }

    /** Whether full panels go to machine-code tiles. */
    static final boolean AVAILABLE;
    /** What GEMM runs, for people: "AVX2 machine-code kernels (6x16), 256-bit Vector API for edges". */
    static final String STATUS;
    /** The instruction set of the tiles in use, or null. */
    static final Isa ISA;
    /** Fewest rows a machine-code tile takes; fewer go to the Vector API kernels. */
    static final int MIN_ROWS;
    /** Rows a thread's share of M is a multiple of when the tiles run ({@link Isa#rowGrain}). */
    static final int ROW_GRAIN;
    private static final int H0;
    private static final int H1;
    private static final int H2;
    private static final MethodHandle T0;
    private static final MethodHandle T1;
    private static final MethodHandle T2;

    static {
        Isa isa = null;
        String why;
        try {
            why = unsupportedReason();
            isa = why == null ? (VectorShape.BITS == 512 ? Isa.AVX512 : Isa.AVX2) : null;
        } catch (RuntimeException e) {
            why = "cannot tell what the CPU supports: " + e;
        }
        Loaded loaded = isa == null ? new Loaded(null, null, vectorApiStatus(why)) : load(isa, isa.resource);
        AVAILABLE = loaded.available();
        STATUS = loaded.status();
        ISA = AVAILABLE ? isa : null;
        int[] h = AVAILABLE ? isa.heights : new int[0];
        MethodHandle[] m = AVAILABLE ? loaded.handles() : new MethodHandle[0];
        H0 = h.length > 0 ? h[0] : 0;
        H1 = h.length > 1 ? h[1] : 0;
        H2 = h.length > 2 ? h[2] : 0;
        T0 = m.length > 0 ? m[0] : null;
        T1 = m.length > 1 ? m[1] : null;
        T2 = m.length > 2 ? m[2] : null;
        MIN_ROWS = h.length > 0 ? h[h.length - 1] : Integer.MAX_VALUE;
        ROW_GRAIN = AVAILABLE ? isa.rowGrain : VectorShape.GEMM_ROWS;
    }

    private NativeSgemm() {}

    /** Why no machine-code tiles fit this process, or null when the ones for {@link VectorShape#BITS} do. */
    private static String unsupportedReason() {
        if (!Boolean.parseBoolean(System.getProperty("vnrt.nativeKernels", "true"))) {
            return "-Dvnrt.nativeKernels=false";
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "no machine-code kernels for " + arch + " on " + System.getProperty("os.name");
        }
        if (VectorShape.CPU_FEATURES.isEmpty()) {
            return "cannot read the CPU's features from /proc/cpuinfo";
        }
        return switch (VectorShape.BITS) {
            case 512 -> VectorShape.cpuHas("avx512f") ? null : "the CPU has no AVX-512F";
            case 256 -> !VectorShape.cpuHas("avx2") || !VectorShape.cpuHas("fma") ? "the CPU has no AVX2 and FMA"
                    : VectorShape.useAvx() < 2 ? "the JVM runs -XX:UseAVX=" + VectorShape.useAvx() : null;
            default -> "no machine-code kernels for " + VectorShape.BITS + "-bit vectors";
        };
    }

    /** "512-bit Vector API kernels (8x32 tiles; why)" (from VectorShape: Sgemm's initialisation reads this class's). */
    private static String vectorApiStatus(String why) {
        return VectorShape.BITS + "-bit Vector API kernels (" + VectorShape.GEMM_ROWS + "x" + VectorShape.GEMM_COLUMNS
                + " tiles; " + why + ")";
    }

    /**
     * Loads {@code isa}'s tiles from {@code resource}. Never throws: a resource that is missing,
     * corrupt or lacks an entry gives a {@link Loaded} without tiles whose status says what failed.
     * Package-private so tests can load a broken resource.
     */
    static Loaded load(Isa isa, String resource) {
        try {
            NativeCode code = NativeCode.load(NativeSgemm.class, resource);
            FunctionDescriptor fd = FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG);
            MethodHandle[] handles = new MethodHandle[isa.heights.length];
            for (int i = 0; i < handles.length; i++) {
                handles[i] = code.downcall(isa.entry(isa.heights[i]), fd);
            }
            String heights = Arrays.stream(isa.heights).mapToObj(Integer::toString).collect(Collectors.joining(", "));
            return new Loaded(isa, handles, isa.label + " machine-code kernels (" + isa.heights[0] + "x"
                    + isa.columns() + "; tiles of " + heights + " rows), " + VectorShape.BITS
                    + "-bit Vector API for edges");
        } catch (RuntimeException | Error e) {
            return new Loaded(isa, null, vectorApiStatus("loading the " + isa.label + " kernels from " + resource
                    + " failed: " + e.getMessage()));
        }
    }

    /** Rows of the tallest tile (at least 1, so a scratch tile sized by it is never empty). */
    static int maxRows() {
        return Math.max(1, H0);
    }

    /** {@link NativeCode#address}: the checked address of an operand. */
    static long address(MemorySegment s, long offset, long extent) {
        return NativeCode.address(s, offset, extent);
    }

    /**
     * The height of the next tile over {@code left >= MIN_ROWS} rows of a panel: the largest,
     * except that twice the second largest goes as two of those (16 rows as 8 + 8 rather than 12 + 4:
     * a small tile reads the whole panel for a fraction of the work).
     */
    static int rowsFor(int left) {
        if (left >= H0 && left != 2 * H1) {
            return H0;
        }
        return left >= H1 ? H1 : H2;
    }

    /**
     * One rows×NR tile: C = A·B summed over k from zero (then plus what C held with
     * {@link #FLAG_ACCUMULATE}, plus bias[0..NR) per row with {@link #FLAG_BIAS}, then Relu with
     * {@link #FLAG_RELU}). Addresses from {@link #address}.
     */
    static void tile(int rows, long a, long lda, long b, long c, long ldc, long k, long bias, long flags) {
        try {
            if (rows == H0 && T0 != null) {
                T0.invokeExact(a, lda, b, c, ldc, k, bias, flags);
            } else if (rows == H1 && T1 != null) {
                T1.invokeExact(a, lda, b, c, ldc, k, bias, flags);
            } else if (rows == H2 && T2 != null) {
                T2.invokeExact(a, lda, b, c, ldc, k, bias, flags);
            } else {
                throw new IllegalArgumentException("no machine-code GEMM tile of " + rows + " rows ("
                        + (ISA == null ? "none loaded" : ISA.label + " tiles have " + Arrays.toString(ISA.heights)) + ")");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
