package io.vnrt.runtime.kernels;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one decision of vector width for every kernel, made once at class initialisation from the
 * hardware and the JVM: {@code FloatVector.SPECIES_PREFERRED} (which honours {@code -XX:UseAVX}
 * and {@code -XX:MaxVectorSize}), or {@code -Dvnrt.vectorBits=128|256|512} for testing. A width the
 * JVM cannot compile to SIMD instructions (wider than its preferred shape) is not used: the Vector
 * API would run its boxed Java fallback, tens to hundreds of times slower, so such a request falls
 * back to the preferred width and {@link #WARNING} says why (the daemon prints it at start-up).
 *
 * <p>Kernels take their species from the {@code static final} fields here (C2 only intrinsifies a
 * constant species) and never assume a lane count.
 */
public final class VectorShape {
    /** Vector width in bits every kernel uses: 128, 256 or 512 (64 only on a JVM that has no more). */
    public static final int BITS;
    /** Float species of {@link #BITS}. */
    public static final VectorSpecies<Float> FLOAT;
    /** Int species of {@link #BITS}. */
    public static final VectorSpecies<Integer> INT;
    /** Short species of {@link #BITS}. */
    public static final VectorSpecies<Short> SHORT;
    /** Byte species of {@link #BITS}. */
    public static final VectorSpecies<Byte> BYTE;
    /** Float lanes per vector. */
    public static final int FLOAT_LANES;
    /** The widest vector the JVM compiles on this machine, in bits. */
    public static final int JVM_PREFERRED_BITS;
    /** Why the width differs from what was asked, or null when it does not. */
    public static final String WARNING;
    /** CPU feature flags that matter to the kernels, as the OS reports them (empty where unknown). */
    public static final Set<String> CPU_FEATURES;
    /**
     * Vector registers compiled code has at {@link #BITS}: 32 on AArch64 (NEON, SVE) and on x86
     * with AVX-512 (whose EVEX encoding reaches 32 registers at every width), 16 on other x86.
     */
    public static final int VECTOR_REGISTERS;
    /**
     * Rows of the Vector API's float GEMM register tile: GEMM_ROWS × {@link #GEMM_VECTORS}
     * accumulators, the B vectors and the broadcasts C2 keeps in flight must fit the register
     * file. Two vectors a row: 8 rows (19 registers) where there are 32; 3 where there are 16
     * (x86 without AVX-512). With 6 rows there (the 6×16 of MLAS's and BLIS's hand-written Haswell
     * kernels) C2 schedules a third broadcast early and spills an accumulator to the stack every
     * k step, a store-to-load chain that halves the tile's speed; with 4 it unrolls the loop by
     * two into exactly 16 registers, fast until a recompilation parks one object pointer in a
     * vector register and the spill is back. 3 rows leave room even unrolled (6 accumulators, 4
     * B vectors, 3 broadcasts). Measured on a Zen 3 at 128 bits (peak 52 GFLOP/s), 1024³ on one
     * thread: 6 rows 22 GFLOP/s, 4 rows 35–43 alone but 22 in ModelBench after other models, 3
     * rows 32–34 and 37 there. At 128 bits with 32 registers, four vectors a row and 6 rows (24
     * accumulators, 4 B vectors and a broadcast: 29 registers), the 6×16 tile of BLIS's NEON
     * kernels.
     */
    public static final int GEMM_ROWS;
    /**
     * Float vectors in a row of the GEMM register tile: 2, or 4 at 128 bits where there are 32
     * registers (a 4-lane vector's 8-column panel leaves too few FMAs per broadcast and per k step's
     * loop overhead).
     */
    public static final int GEMM_VECTORS;
    /** Columns of the float GEMM register tile, which is also the width of a packed B panel. */
    public static final int GEMM_COLUMNS;

    private static final Set<String> INTERESTING = Set.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f",
            "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx_vnni", "avx512_bf16", "asimd", "asimddp", "sve",
            "sve2", "i8mm", "bf16");

    static {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        JVM_PREFERRED_BITS = preferred;
        String asked = System.getProperty("vnrt.vectorBits");
        int bits = preferred;
        String warning = null;
        if (asked != null && !asked.isBlank()) {
            String a = asked.strip();
            int v;
            try {
                v = Integer.parseInt(a);
            } catch (NumberFormatException e) {
                v = -1;
            }
            if (v != 128 && v != 256 && v != 512) {
                warning = "-Dvnrt.vectorBits=" + a + " is not a vector width (expected 128, 256 or 512); using "
                        + preferred + " bits, the JVM's preferred width";
            } else if (v > preferred) {
                warning = "-Dvnrt.vectorBits=" + v + " is wider than this JVM compiles on this CPU (" + preferred
                        + " bits; see -XX:UseAVX and -XX:MaxVectorSize): the Vector API would run its slow Java "
                        + "fallback, so using " + preferred + " bits";
            } else {
                bits = v;
            }
        }
        BITS = bits;
        FLOAT = VectorSpeciesOf.of(Float.class, bits);
        INT = VectorSpeciesOf.of(Integer.class, bits);
        SHORT = VectorSpeciesOf.of(Short.class, bits);
        BYTE = VectorSpeciesOf.of(Byte.class, bits);
        FLOAT_LANES = FLOAT.length();
        WARNING = warning;
        CPU_FEATURES = readCpuFeatures();
        String arch = System.getProperty("os.arch", "");
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        VECTOR_REGISTERS = !x86 || useAvx() >= 3 ? 32 : 16;
        GEMM_VECTORS = bits == 128 && VECTOR_REGISTERS >= 32 ? 4 : 2;
        GEMM_ROWS = GEMM_VECTORS == 4 ? 6 : VECTOR_REGISTERS >= 32 ? 8 : 3;
        GEMM_COLUMNS = GEMM_VECTORS * FLOAT_LANES;
    }

    private VectorShape() {}

    /** Species of the given element type at the chosen width, by the fixed-shape constants. */
    private static final class VectorSpeciesOf {
        @SuppressWarnings("unchecked")
        static <E> VectorSpecies<E> of(Class<E> type, int bits) {
            Object s;
            if (type == Float.class) {
                s = switch (bits) {
                    case 64 -> FloatVector.SPECIES_64;
                    case 128 -> FloatVector.SPECIES_128;
                    case 256 -> FloatVector.SPECIES_256;
                    default -> FloatVector.SPECIES_512;
                };
            } else if (type == Integer.class) {
                s = switch (bits) {
                    case 64 -> IntVector.SPECIES_64;
                    case 128 -> IntVector.SPECIES_128;
                    case 256 -> IntVector.SPECIES_256;
                    default -> IntVector.SPECIES_512;
                };
            } else if (type == Short.class) {
                s = switch (bits) {
                    case 64 -> ShortVector.SPECIES_64;
                    case 128 -> ShortVector.SPECIES_128;
                    case 256 -> ShortVector.SPECIES_256;
                    default -> ShortVector.SPECIES_512;
                };
            } else {
                s = switch (bits) {
                    case 64 -> ByteVector.SPECIES_64;
                    case 128 -> ByteVector.SPECIES_128;
                    case 256 -> ByteVector.SPECIES_256;
                    default -> ByteVector.SPECIES_512;
                };
            }
            return (VectorSpecies<E>) s;
        }
    }

    /** The JVM's value of a HotSpot flag such as UseAVX or MaxVectorSize, or null where it has none. */
    public static String jvmFlag(String name) {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean == null ? null : bean.getVMOption(name).getValue();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The JVM's -XX:UseAVX level (0 to 3), or -1 where it has none (not x86). */
    public static int useAvx() {
        String v = jvmFlag("UseAVX");
        try {
            return v == null ? -1 : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether the OS reports this CPU feature flag (as /proc/cpuinfo spells it). */
    public static boolean cpuHas(String flag) {
        return CPU_FEATURES.contains(flag);
    }

    private static Set<String> readCpuFeatures() {
        TreeSet<String> out = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                String l = line.toLowerCase(Locale.ROOT);
                if (l.startsWith("flags") || l.startsWith("features")) {
                    int colon = l.indexOf(':');
                    Arrays.stream(l.substring(colon + 1).trim().split("\\s+")).filter(INTERESTING::contains)
                            .forEach(out::add);
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or no /proc: features stay unknown and only the Vector API kernels run.
        }
        return Collections.unmodifiableSortedSet(out);
    }

    /**
     * One line for start-up banners: "512-bit vectors (16 floats; JVM preferred 512, UseAVX=3,
     * MaxVectorSize=64), CPU features: avx avx2 avx512f fma ...".
     */
    public static String describe() {
        String avx = useAvx() >= 0 ? ", UseAVX=" + useAvx() : "";
        return BITS + "-bit vectors (" + FLOAT_LANES + " floats; JVM preferred " + JVM_PREFERRED_BITS + avx
                + ", MaxVectorSize=" + jvmFlag("MaxVectorSize") + "), CPU features: "
                + (CPU_FEATURES.isEmpty() ? "unknown" : String.join(" ", CPU_FEATURES));
    }
}
