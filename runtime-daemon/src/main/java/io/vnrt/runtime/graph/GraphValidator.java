package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.OpRegistry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Structural checks of a graph, all reported together: unsupported operators and subgraphs,
 * undefined inputs, values defined twice, missing graph outputs, cycles. Also sorts the nodes
 * topologically (stable: file order among ready nodes).
 */
public final class GraphValidator {
    private GraphValidator() {}

    /** The operators with subgraphs the engine runs. */
    private static final Set<String> CONTROL_FLOW = Set.of("If", "Loop", "Scan");

    private static final String CYCLE = "the graph has a cycle through ";

    /** True when one of the problems is a cycle (the graph cannot be ordered, so nothing compiles). */
    public static boolean hasCycle(List<LoadProblem> problems) {
        return problems.stream().anyMatch(p -> p.opType() == null && p.message().startsWith(CYCLE));
    }

    /**
     * Validates and sorts {@code g} in place, its subgraphs too (after making their outer-scope
     * reads explicit, see {@link Subgraphs}); appends problems.
     */
    public static void validate(Graph g, OpRegistry registry, List<LoadProblem> problems) {
        Subgraphs.resolve(g);
        validateScope(g, registry, problems, Set.of());
    }

    private static void validateScope(Graph g, OpRegistry registry, List<LoadProblem> problems, Set<String> outer) {
        for (Node n : g.nodes()) {
            for (Attribute a : n.attributes().values()) {
                for (Graph sub : a.graphs()) {
                    validateScope(sub, registry, problems, new HashSet<>(sub.outerNames()));
                }
            }
        }
        Set<String> defined = new HashSet<>(g.constants().keySet());
        defined.addAll(outer);
        for (ValueInfo in : g.inputs()) {
            if (!defined.add(in.name())) {
                problems.add(LoadProblem.graph("graph input '" + in.name() + "' is declared twice"));
            }
        }
        Map<String, Node> producer = new HashMap<>();
        for (Node n : g.nodes()) {
            int opset = g.opsetOf(n.domain());
            boolean controlFlow = n.isDefaultDomain() && CONTROL_FLOW.contains(n.opType());
            if (controlFlow) {
                Subgraphs.checkStructure(n, opset, problems);
            }
            if (!controlFlow && Subgraphs.hasSubgraphs(n)) {
                problems.add(LoadProblem.of(n, opset, n.opType() + " with subgraphs is not supported"
                        + (n.opType().equals("SequenceMap") ? " (sequence values are not supported)" : "")));
            } else if (registry.find(n.domain(), n.opType()) == null || n.domain().equals(OpRegistry.VNRT_DOMAIN)) {
                String where = n.isDefaultDomain() ? "" : " of domain '" + n.domain() + "'";
                problems.add(LoadProblem.of(n, opset, "unsupported operator " + n.opType() + where));
            }
            if (opset < 0) {
                problems.add(LoadProblem.of(n, opset, "the model imports no opset for domain '" + n.domain() + "'"));
            }
            for (String out : n.outputs()) {
                if (out.isEmpty()) {
                    continue;
                }
                if (defined.contains(out) || producer.containsKey(out)) {
                    problems.add(LoadProblem.of(n, opset, "output '" + out + "' is already defined elsewhere (graphs must be SSA)"));
                } else {
                    producer.put(out, n);
                }
            }
        }
        Set<String> all = new HashSet<>(defined);
        all.addAll(producer.keySet());
        for (Node n : g.nodes()) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !all.contains(in)) {
                    problems.add(LoadProblem.of(n, g.opsetOf(n.domain()), "input '" + in
                            + "' is not defined (not a graph input, initializer, or any node's output)"));
                }
            }
        }
        for (ValueInfo out : g.outputs()) {
            if (!all.contains(out.name())) {
                problems.add(LoadProblem.graph("graph output '" + out.name() + "' is not produced by any node"));
            }
        }
        sort(g, defined, producer, problems);
    }

    /**
     * Kahn's algorithm over node positions: a node is ready once every node-produced value it reads is produced.
     * Nodes are counted by position, not looked up by their (record) value, so identical nodes stay two.
     */
    private static void sort(Graph g, Set<String> available, Map<String, Node> producer, List<LoadProblem> problems) {
        List<Node> nodes = g.nodes();
        int[] missing = new int[nodes.size()];
        Map<String, List<Integer>> consumers = new HashMap<>();
        ArrayDeque<Integer> ready = new ArrayDeque<>();
        Set<String> waits = new LinkedHashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            waits.clear();
            for (String in : nodes.get(i).inputs()) {
                if (!in.isEmpty() && !available.contains(in) && producer.containsKey(in)) {
                    waits.add(in);
                }
            }
            missing[i] = waits.size();
            for (String w : waits) {
                consumers.computeIfAbsent(w, k -> new ArrayList<>(2)).add(i);
            }
            if (waits.isEmpty()) {
                ready.add(i);
            }
        }
        List<Node> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = nodes.get(ready.poll());
            order.add(n);
            for (String out : n.outputs()) {
                for (int c : consumers.getOrDefault(out, List.of())) {
                    if (--missing[c] == 0) {
                        ready.add(c);
                    }
                }
            }
        }
        if (order.size() < nodes.size()) {
            List<String> stuck = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (missing[i] > 0) {
                    stuck.add(nodes.get(i).label());
                }
            }
            problems.add(LoadProblem.graph(CYCLE + stuck.size() + " node(s): " + stuck));
            return;
        }
        g.setNodes(order);
    }
}
