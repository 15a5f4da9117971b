package io.vnrt.runtime.graph;

/**
 * One thing wrong with a model, found at load. Node fields are null for graph-level problems
 * (a missing opset import, an undefined graph output, a bad initializer).
 */
public record LoadProblem(String nodeName, String opType, int opset, String message) {

    /** A problem that belongs to no node. */
    public static LoadProblem graph(String message) {
        return new LoadProblem(null, null, -1, message);
    }

    /** A problem of the given node. */
    public static LoadProblem of(Node node, int opset, String message) {
        return new LoadProblem(node.name(), node.opType(), opset, message);
    }

    @Override
    public String toString() {
        if (opType == null) {
            return message;
        }
        return "node '" + nodeName + "' (" + opType + ", opset " + opset + "): " + message;
    }
}
