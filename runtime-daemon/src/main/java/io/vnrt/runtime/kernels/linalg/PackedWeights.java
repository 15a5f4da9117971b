package io.vnrt.runtime.kernels.linalg;

/**
 * Implemented by kernels that keep a pre-packed copy of a constant weight input for the life of
 * the plan, so the compiler can account those bytes as the model's weights.
 */
public interface PackedWeights {
    /** Bytes of packed weights this kernel holds (0 when its weights are packed per run). */
    long packedWeightBytes();
}
