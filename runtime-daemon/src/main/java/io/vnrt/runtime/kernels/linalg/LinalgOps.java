package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.kernels.OpRegistry;

/** MatMul, Gemm, convolution, pooling and unpooling, Einsum, Det, Attention and RotaryEmbedding. */
public final class LinalgOps {
    private LinalgOps() {}

    /**
     * Which GEMM micro-kernels this process runs: "AVX-512 machine-code kernels", or "Vector API
     * kernels (reason)" when those cannot or may not be used ({@code -Dvnrt.nativeKernels=false}).
     */
    public static String gemmKernels() {
        return NativeSgemm.STATUS;
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
    }
}
