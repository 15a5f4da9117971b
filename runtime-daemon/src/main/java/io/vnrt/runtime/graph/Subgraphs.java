package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Scopes of subgraphs (the bodies of If, Loop and Scan). A subgraph may read any value of the
 * scopes around it; the engine makes those reads explicit: every constant of a subgraph moves to
 * the model's constants under a unique name (so it is placed in device memory like any weight),
 * and each control-flow node gets, after its own inputs, the outer values its subgraphs read
 * ({@link Graph#outerNames()}). Topological order, liveness and the memory plan of the enclosing
 * graph then see those reads as ordinary uses.
 */
public final class Subgraphs {
    private Subgraphs() {}

    /** True when the node carries subgraphs. */
    public static boolean hasSubgraphs(Node n) {
        return n.attributes().values().stream().anyMatch(a -> !a.graphs().isEmpty());
    }

    /** The outer values the node's subgraphs read: its inputs after {@link #explicitInputCount}. */
    public static List<String> outerInputs(Node n) {
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (Attribute a : n.attributes().values()) {
            for (Graph g : a.graphs()) {
                names.addAll(g.outerNames());
            }
        }
        return List.copyOf(names);
    }

    /** Number of the node's own inputs (those the model wrote), before the outer-scope ones. */
    public static int explicitInputCount(Node n) {
        return n.inputs().size() - outerInputs(n).size();
    }

    /** Hoists subgraph constants and appends the outer-scope inputs of every control-flow node. */
    static void resolve(Graph top) {
        hoist(top, top);
        bind(top);
    }

    private static void hoist(Graph top, Graph g) {
        for (Node n : g.nodes()) {
            for (Attribute a : n.attributes().values()) {
                for (Graph sub : a.graphs()) {
                    hoist(top, sub);
                    Map<String, String> renames = new HashMap<>();
                    for (var e : sub.constants().entrySet()) {
                        String unique = n.name() + "/" + a.name() + "/" + e.getKey();
                        while (top.constants().containsKey(unique)) {
                            unique += "'";
                        }
                        top.constants().put(unique, e.getValue());
                        renames.put(e.getKey(), unique);
                    }
                    sub.constants().clear();
                    if (!renames.isEmpty()) {
                        rename(sub, renames, true);
                    }
                }
            }
        }
    }

    /**
     * Renames uses of the keys of {@code renames} in g, and in the subgraphs inside it those that they do not
     * define themselves; all names in one walk (one walk per name was quadratic in a body's constants).
     */
    private static void rename(Graph g, Map<String, String> renames, boolean owner) {
        Map<String, String> r = renames;
        if (!owner) {
            Set<String> defined = new HashSet<>(g.constants().keySet());
            g.inputs().forEach(v -> defined.add(v.name()));
            g.nodes().forEach(n -> defined.addAll(n.outputs()));
            if (renames.keySet().stream().anyMatch(defined::contains)) {
                r = new HashMap<>(renames);
                r.keySet().removeAll(defined);
            }
            if (r.isEmpty()) {
                return;
            }
        }
        Map<String, String> active = r;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            List<String> ins = n.inputs().stream().map(i -> active.getOrDefault(i, i)).toList();
            for (Attribute a : n.attributes().values()) {
                for (Graph sub : a.graphs()) {
                    rename(sub, active, false);
                }
            }
            nodes.add(ins.equals(n.inputs()) ? n : n.with(ins, n.outputs(), n.attributes()));
        }
        g.setNodes(nodes);
        g.setOutputs(g.outputs().stream()
                .map(v -> active.containsKey(v.name()) ? new ValueInfo(active.get(v.name()), v.dtype(), v.dims()) : v)
                .toList());
    }

    /** Innermost first: each subgraph's free values, then its node's extra inputs. */
    private static void bind(Graph g) {
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!hasSubgraphs(n)) {
                nodes.add(n);
                continue;
            }
            LinkedHashSet<String> outer = new LinkedHashSet<>();
            for (Attribute a : n.attributes().values()) {
                for (Graph sub : a.graphs()) {
                    bind(sub);
                    List<String> free = free(sub);
                    sub.setOuterNames(free);
                    outer.addAll(free);
                }
            }
            List<String> ins = new ArrayList<>(n.inputs());
            ins.addAll(outer);
            nodes.add(n.with(ins, n.outputs(), n.attributes()));
        }
        g.setNodes(nodes);
    }

    private static List<String> free(Graph sub) {
        Set<String> defined = new HashSet<>(sub.constants().keySet());
        sub.inputs().forEach(v -> defined.add(v.name()));
        sub.nodes().forEach(n -> defined.addAll(n.outputs()));
        LinkedHashSet<String> free = new LinkedHashSet<>();
        for (Node n : sub.nodes()) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    free.add(in);
                }
            }
        }
        for (ValueInfo v : sub.outputs()) {
            if (!defined.contains(v.name())) {
                free.add(v.name());
            }
        }
        return List.copyOf(free);
    }

    /**
     * What is wrong with a control-flow node's subgraphs whatever the shapes: missing bodies,
     * input and output counts that do not match the node, and carried values or branch outputs
     * whose declared types disagree.
     */
    static void checkStructure(Node n, int opset, List<LoadProblem> problems) {
        if (!n.isDefaultDomain()) {
            return;
        }
        int explicit = explicitInputCount(n);
        switch (n.opType()) {
            case "If" -> {
                Graph then = graph(n, "then_branch", opset, problems);
                Graph otherwise = graph(n, "else_branch", opset, problems);
                if (then == null || otherwise == null) {
                    return;
                }
                if (then.outputs().size() != otherwise.outputs().size()) {
                    problems.add(LoadProblem.of(n, opset, "then_branch has " + then.outputs().size()
                            + " outputs but else_branch has " + otherwise.outputs().size() + "; they must agree"));
                    return;
                }
                if (then.outputs().size() != n.outputs().size()) {
                    problems.add(LoadProblem.of(n, opset, "the node has " + n.outputs().size()
                            + " outputs but its branches have " + then.outputs().size()));
                }
                for (int i = 0; i < then.outputs().size(); i++) {
                    DType a = then.outputs().get(i).dtype();
                    DType b = otherwise.outputs().get(i).dtype();
                    if (a != null && b != null && a != b) {
                        problems.add(LoadProblem.of(n, opset, "output " + i + " is " + a.displayName()
                                + " in then_branch but " + b.displayName() + " in else_branch; they must agree"));
                    }
                }
            }
            case "Loop" -> {
                Graph body = graph(n, "body", opset, problems);
                if (body == null) {
                    return;
                }
                int carried = explicit - 2;
                if (carried < 0) {
                    problems.add(LoadProblem.of(n, opset, "Loop takes M, cond and the loop-carried values, got "
                            + explicit + " inputs"));
                    return;
                }
                int scans = n.outputs().size() - carried;
                if (body.inputs().size() != 2 + carried || scans < 0 || body.outputs().size() != 1 + carried + scans) {
                    problems.add(LoadProblem.of(n, opset, "with " + carried + " loop-carried values and "
                            + n.outputs().size() + " outputs the body must take " + (2 + carried) + " inputs (iteration"
                            + " number, condition, carried values) and give " + (1 + n.outputs().size())
                            + " outputs (condition, carried values, scan outputs); it takes " + body.inputs().size()
                            + " and gives " + body.outputs().size()));
                    return;
                }
                for (int i = 0; i < carried; i++) {
                    DType in = body.inputs().get(2 + i).dtype();
                    DType out = body.outputs().get(1 + i).dtype();
                    if (in != null && out != null && in != out) {
                        problems.add(LoadProblem.of(n, opset, "the body changes the type of loop-carried value " + i
                                + " ('" + body.inputs().get(2 + i).name() + "') from " + in.displayName() + " to "
                                + out.displayName() + " ('" + body.outputs().get(1 + i).name() + "')"));
                    }
                }
            }
            case "Scan" -> {
                Graph body = graph(n, "body", opset, problems);
                if (body == null) {
                    return;
                }
                Attribute m = n.attribute("num_scan_inputs");
                if (m == null || m.kind() != Attribute.Kind.INT || (Long) m.value() < 1) {
                    problems.add(LoadProblem.of(n, opset, "num_scan_inputs must be a positive int attribute"));
                    return;
                }
                int scanInputs = Math.toIntExact((Long) m.value());
                int states = explicit - (opset < 9 ? 1 : 0) - scanInputs;
                int scanOutputs = n.outputs().size() - states;
                if (states < 0 || scanOutputs < 0 || body.inputs().size() != states + scanInputs
                        || body.outputs().size() != states + scanOutputs) {
                    problems.add(LoadProblem.of(n, opset, "with " + scanInputs + " scan inputs and " + explicit
                            + " inputs the body must take " + (states + scanInputs) + " inputs and give "
                            + n.outputs().size() + " outputs; it takes " + body.inputs().size() + " and gives "
                            + body.outputs().size()));
                }
            }
            default -> { }
        }
    }

    private static Graph graph(Node n, String attr, int opset, List<LoadProblem> problems) {
        Attribute a = n.attribute(attr);
        if (a == null || a.kind() != Attribute.Kind.GRAPH || a.value() == null) {
            problems.add(LoadProblem.of(n, opset, "needs the graph attribute '" + attr + "'"));
            return null;
        }
        return (Graph) a.value();
    }
}
