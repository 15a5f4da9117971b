package io.vnrt.runtime.graph;

/**
 * A subgraph compiled for one signature: its plan, the compiler that runs the plan's dynamic tail,
 * for each plan input after the formal ones the index of the node input that feeds it, and the
 * subgraph's output names.
 */
public record SubgraphPlan(Compiler compiler, ExecutionPlan plan, int[] outerInputs, String[] outputNames) {

    /** Type of subgraph output k, or null when only running the plan tells (its dynamic tail makes it). */
    public io.vnrt.runtime.kernels.TensorType outputType(int k) {
        int s = plan.outputSlot(k);
        return s < 0 ? null : plan.slotType(s);
    }
}
