package io.vnrt.runtime.kernels;

import io.vnrt.runtime.kernels.elementwise.ElementwiseOps;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.kernels.linalg.RecurrentOp;
import io.vnrt.runtime.kernels.norm.NormOps;
import io.vnrt.runtime.kernels.quant.QuantOps;
import io.vnrt.runtime.kernels.reduce.ReduceOps;
import io.vnrt.runtime.kernels.shape.ShapeOps;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Operator types of the ONNX default domain that the engine can compile, with their factories. */
public final class OpRegistry {
    /**
     * The domain of the engine's own operators, which only graph rewrites create (a fused
     * quantized MatMul, say); a model naming this domain itself is refused, as any unknown domain.
     */
    public static final String VNRT_DOMAIN = "io.vnrt.internal";

    private final Map<String, OpFactory> factories = new TreeMap<>();
    private final Map<String, OpFactory> internal = new TreeMap<>();

    /** The registry with every operator family of the engine. */
    public static OpRegistry standard() {
        OpRegistry r = new OpRegistry();
        ElementwiseOps.register(r);
        LinalgOps.register(r);
        ShapeOps.register(r);
        ReduceOps.register(r);
        NormOps.register(r);
        // recurrent operators (issue 11, i11b)
        RecurrentOp.register(r);
        // quantization (issue 11)
        QuantOps.register(r);
        return r;
    }

    /** Registers (or replaces) the factory of an operator type. */
    public void register(String opType, OpFactory factory) {
        factories.put(opType, factory);
    }

    /** Registers an operator of {@link #VNRT_DOMAIN}, for nodes the optimizer writes. */
    public void registerInternal(String opType, OpFactory factory) {
        internal.put(opType, factory);
    }

    /** The factory for opType in the default domain ("" or "ai.onnx") or {@link #VNRT_DOMAIN}, or null. */
    public OpFactory find(String domain, String opType) {
        if (domain.equals(VNRT_DOMAIN)) {
            return internal.get(opType);
        }
        if (!domain.isEmpty() && !domain.equals("ai.onnx")) {
            return null;
        }
        return factories.get(opType);
    }

    /** Every registered operator type, sorted. */
    public Set<String> opTypes() {
        return java.util.Collections.unmodifiableSet(factories.keySet());
    }
}
