package io.vnrt.runtime.kernels.norm;

import io.vnrt.runtime.kernels.OpRegistry;

/** Normalisations and the Softmax family. */
public final class NormOps {
    private NormOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("Softmax", node -> Softmax.create(node, Softmax.Mode.SOFTMAX));
        registry.register("LogSoftmax", node -> Softmax.create(node, Softmax.Mode.LOG_SOFTMAX));
        registry.register("Hardmax", node -> Softmax.create(node, Softmax.Mode.HARDMAX));
        registry.register("LayerNormalization", node -> LayerNorm.create(node, false));
        registry.register("RMSNormalization", node -> LayerNorm.create(node, true));
        registry.registerInternal(AddLayerNorm.OP, AddLayerNorm::create);
        registry.register("BatchNormalization", BatchNorm::create);
        registry.register("InstanceNormalization", node -> GroupNorm.create(node, true));
        registry.register("GroupNormalization", node -> GroupNorm.create(node, false));
        registry.register("LRN", Lrn::create);
        // issue 11 (tier 2)
        registry.register("LpNormalization", LpNorm::create);
        registry.register("MeanVarianceNormalization", MeanVarianceNorm::create);
    }
}
