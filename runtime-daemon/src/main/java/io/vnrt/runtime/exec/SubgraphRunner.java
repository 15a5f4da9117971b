package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.SubgraphPlan;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A subgraph plan bound to a slice of its control-flow node's workspace, run by the node's kernel
 * as many times as it needs (a Loop body once per iteration) without allocating. Its steps split
 * their work over the core group of the node's own context.
 */
final class SubgraphRunner {
    private final SubgraphPlan sub;
    private final BoundPlan bound;
    /** The plan's inputs: the formal ones (set by the caller before each run), then the outer values. */
    final Tensor[] inputs;
    private final int formal;
    private ExecContext outer;

    SubgraphRunner(SubgraphPlan sub, MemorySegment scratch) {
        this.sub = sub;
        // a body's values computed at execution are not bounded yet (the top-level plan's are, by the device)
        this.bound = new BoundPlan(sub.plan(), scratch, this::context, Long.MAX_VALUE);
        bound.setOutputNames(sub.outputNames());
        this.inputs = new Tensor[sub.plan().signature().size()];
        this.formal = inputs.length - sub.outerInputs().length;
    }

    ExecutionPlan plan() {
        return sub.plan();
    }

    /** Takes the outer values from the node's inputs (once per node execution). */
    void bindOuter(Tensor[] nodeInputs) {
        int[] from = sub.outerInputs();
        for (int k = 0; k < from.length; k++) {
            inputs[formal + k] = nodeInputs[from[k]];
        }
    }

    /** Runs the plan on {@link #inputs}; direct (may be null) as in {@link BoundPlan#run}. */
    void run(ExecContext ctx, Tensor[] direct, BoundPlan.OutputSink sink) {
        outer = ctx;
        bound.run(inputs, direct, sub.compiler(), sink);
    }

    boolean canWriteDirect(int k, Tensor target) {
        return bound.canWriteDirect(k, target);
    }

    /** A step's context: the node's core group, the step's own slice of the scratch. */
    private ExecContext context(MemorySegment workspace) {
        return new ExecContext() {
            @Override
            public int parallelism() {
                return outer.parallelism();
            }

            @Override
            public void parallelFor(int tasks, TaskBody body) {
                outer.parallelFor(tasks, body);
            }

            @Override
            public MemorySegment workspace() {
                return workspace;
            }
        };
    }
}
