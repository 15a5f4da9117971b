package io.vnrt.runtime.graph;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One operator invocation. Inputs and outputs are value names; an empty name is an absent
 * optional slot. Immutable: graph passes replace nodes rather than edit them.
 */
public record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
        Map<String, Attribute> attributes) {

    public Node {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** Default domain ("" or "ai.onnx"). */
    public boolean isDefaultDomain() {
        return domain.isEmpty() || domain.equals("ai.onnx");
    }

    public Attribute attribute(String attrName) {
        return attributes.get(attrName);
    }

    /** A copy with other inputs, outputs and attributes, same name and op. */
    public Node with(List<String> newInputs, List<String> newOutputs, Map<String, Attribute> newAttributes) {
        return new Node(name, opType, domain, newInputs, newOutputs, newAttributes);
    }

    /** "Conv 'conv1'" for messages. */
    public String label() {
        return opType + " '" + name + "'";
    }
}
