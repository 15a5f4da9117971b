package io.vnrt.runtime.kernels.quant;

import io.vnrt.runtime.kernels.OpRegistry;

/**
 * QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear. The integer products
 * (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) are with the linear algebra.
 */
public final class QuantOps {
    private QuantOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("QuantizeLinear", QuantizeLinearOp::create);
        registry.register("DequantizeLinear", DequantizeLinearOp::create);
        registry.register("DynamicQuantizeLinear", DynamicQuantizeLinearOp::create);
    }
}
