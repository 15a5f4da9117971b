package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.TensorType;
import java.util.List;

/**
 * What the factory of a control-flow operator (If, Loop, Scan) sees besides {@link NodeContext}:
 * its subgraphs, compiled by the model's compiler like any graph, once per input signature.
 */
public interface SubgraphContext extends NodeContext {
    /** The subgraph in graph attribute {@code name}, or null. */
    Graph graphAttribute(String name);

    /** The node's own inputs; the ones after them are the outer values its subgraphs read. */
    int explicitInputCount();

    /**
     * {@code sub} compiled for its formal inputs of {@code formalTypes}, the outer values it reads
     * bound to this node's inputs: those the compiler knows (model constants, values folded for
     * this plan) as constants, the others as extra plan inputs (see {@link SubgraphPlan#outerInputs}).
     * Throws OpException naming the subgraph when it does not compile.
     */
    SubgraphPlan compile(Graph sub, String label, List<TensorType> formalTypes);
}
