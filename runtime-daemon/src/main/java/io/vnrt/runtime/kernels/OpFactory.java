package io.vnrt.runtime.kernels;

/** Creates kernels for one operator type, honouring the node's opset version. */
@FunctionalInterface
public interface OpFactory {
    /**
     * Validates the node (attributes, input types and ranks) and returns a kernel for it. Throws
     * {@link OpException} with a message naming what is wrong and what was expected.
     */
    Kernel create(NodeContext node);
}
