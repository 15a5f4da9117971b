package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's IR of a model: nodes (in file order until {@link GraphValidator} sorts them), the
 * graph inputs that callers feed (initializers excluded), outputs, constant values (initializers
 * and Constant nodes, host memory), declared value infos and the opset imported per domain.
 * Mutable only while loading; passes replace the node list.
 */
public final class Graph {
    private final String name;
    private List<Node> nodes;
    private final List<ValueInfo> inputs;
    private List<ValueInfo> outputs;
    private final Map<String, Tensor> constants;
    private final Map<String, ValueInfo> valueInfos;
    private final Map<String, Integer> opsets;
    /** For a subgraph: the enclosing scopes' values it reads, in first-use order (set by {@link Subgraphs}). */
    private List<String> outerNames = List.of();

    public Graph(String name, List<Node> nodes, List<ValueInfo> inputs, List<ValueInfo> outputs,
            Map<String, Tensor> constants, Map<String, ValueInfo> valueInfos, Map<String, Integer> opsets) {
        this.name = name;
        this.nodes = new ArrayList<>(nodes);
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.constants = new LinkedHashMap<>(constants);
        this.valueInfos = new LinkedHashMap<>(valueInfos);
        this.opsets = new LinkedHashMap<>(opsets);
    }

    public String name() {
        return name;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public void setNodes(List<Node> newNodes) {
        nodes = new ArrayList<>(newNodes);
    }

    /** Inputs the caller must feed (initializers that are also listed as inputs are excluded). */
    public List<ValueInfo> inputs() {
        return inputs;
    }

    public List<ValueInfo> outputs() {
        return outputs;
    }

    /** Replaces the outputs (a subgraph's output may be renamed when its constants are hoisted). */
    void setOutputs(List<ValueInfo> newOutputs) {
        outputs = List.copyOf(newOutputs);
    }

    /**
     * For a subgraph (a Loop body, an If branch): the values of enclosing scopes it reads, which
     * its node receives as extra inputs after its own. Empty for the model's graph.
     */
    public List<String> outerNames() {
        return outerNames;
    }

    void setOuterNames(List<String> names) {
        outerNames = List.copyOf(names);
    }

    /** Constant values by name: initializers, Constant nodes and values folded at load. */
    public Map<String, Tensor> constants() {
        return constants;
    }

    public Map<String, ValueInfo> valueInfos() {
        return valueInfos;
    }

    /** Opset version per domain ("" is the default ONNX domain). */
    public Map<String, Integer> opsets() {
        return opsets;
    }

    /** The opset a node of this domain runs under ("ai.onnx" maps to ""), or -1 if not imported. */
    public int opsetOf(String domain) {
        String d = domain.equals("ai.onnx") ? "" : domain;
        Integer v = opsets.get(d);
        if (v == null && d.isEmpty()) {
            v = opsets.get("ai.onnx");
        }
        return v == null ? -1 : v;
    }
}
