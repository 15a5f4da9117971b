package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.OpRegistry;

/** MatMul, Gemm, convolution, pooling and unpooling, Einsum, Det, Attention and RotaryEmbedding. */
public final class LinalgOps {
    private LinalgOps() {}

    /**
     * Which GEMM micro-kernels this process runs, for people: "AVX-512 machine-code kernels (12x32;
     * tiles of 12, 8, 4 rows), 512-bit Vector API for edges", "AVX2 machine-code kernels (6x16; ...),
     * 256-bit Vector API for edges", or "128-bit Vector API kernels (6x16 tiles; why)" when no
     * machine code fits the width or CPU, may be used ({@code -Dvnrt.nativeKernels=false}) or loaded.
     */
    public static String gemmKernels() {
        return NativeSgemm.STATUS;
    }

    /**
     * Which int8 GEMM the quantized MatMuls run, for people: "AVX-512 VNNI machine-code int8 tiles
     * (vpdpbusd, 12x32; ...)", "AVX2 machine-code int8 tiles (vpmaddwd, 6x32; ...)", or "Vector API
     * int8 GEMM (why)".
     */
    public static String int8GemmKernels() {
        return NativeQgemm.STATUS;
    }

    /** The instruction set of the machine-code GEMM tiles in use, "AVX-512" or "AVX2", or "Vector API" when none. */
    public static String gemmIsa() {
        return NativeSgemm.ISA == null ? "Vector API" : NativeSgemm.ISA.label;
    }

    /** The main GEMM register tile, rows x columns: "12x32" (AVX-512), "6x16" (AVX2), else the Vector API's. */
    public static String gemmTile() {
        return NativeSgemm.ISA == null ? Sgemm.MR + "x" + Sgemm.NR : NativeSgemm.ISA.heights[0] + "x" + Sgemm.NR;
    }

    /**
     * Makes the calling thread's per-thread kernel scratch, before it runs kernels: a thread's
     * first {@code ThreadLocal.get} takes the lookup's miss path, which the warm-up's compiled
     * kernels never saw (their threads' scratch existed by then); taken inside a compiled GEMM it
     * is an uncommon trap that throws that code away (the first executions of a model on a new
     * core group ran 1.5× slower while C2 compiled it again).
     */
    public static void prepareThread() {
        Sgemm.prepareThread();
        Igemm.prepareThread();
        NativeQgemm.prepareThread();
        AttentionOp.prepareThread();
        PoolOps.prepareThread();
    }

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("MatMul", MatMulOp::create);
        registry.register("Gemm", GemmOp::create);
        registry.register("Conv", ConvOp::create);
        registry.register("Einsum", EinsumOp::create);
        registry.register("ConvTranspose", ConvTransposeOp::create);
        registry.register("MaxPool", PoolOps::maxPool);
        registry.register("AveragePool", PoolOps::averagePool);
        registry.register("GlobalAveragePool", PoolOps::globalAverage);
        registry.register("GlobalMaxPool", PoolOps::globalMax);
        // issue 11 (tier 2)
        registry.register("Attention", AttentionOp::create);
        registry.register("RotaryEmbedding", RotaryEmbeddingOp::create);
        registry.register("LpPool", PoolOps::lpPool);
        registry.register("MaxUnpool", MaxUnpoolOp::create);
        registry.register("Det", DetOp::create);
        // the optimizer's fusion of quantize_dynamic's chains (QuantizationFusion)
        registry.registerInternal(DynamicQuantizeMatMulOp.OP, DynamicQuantizeMatMulOp::create);
        registry.registerInternal(QdqLinearOp.MATMUL, QdqLinearOp::matMul);
        registry.registerInternal(QdqLinearOp.CONV, QdqLinearOp::conv);
        // quantized linear algebra (issue 11)
        registry.register("MatMulInteger", IntegerMatMulOp::matMulInteger);
        registry.register("QLinearMatMul", IntegerMatMulOp::qlinearMatMul);
        registry.register("ConvInteger", IntegerConvOp::convInteger);
        registry.register("QLinearConv", IntegerConvOp::qlinearConv);
    }
}
