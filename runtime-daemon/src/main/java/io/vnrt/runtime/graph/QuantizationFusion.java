package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites the dynamic-quantization form {@code onnxruntime.quantization.quantize_dynamic} writes
 * for a MatMul with constant weights,
 * <pre>
 *   (x_q, x_scale, x_zp) = DynamicQuantizeLinear(x)
 *   y = Mul(Cast&lt;float&gt;(MatMulInteger(x_q, W, x_zp, W_zp)), Mul(x_scale, W_scale))  [+ bias]
 * </pre>
 * into one {@code DynamicQuantizeMatMul} node of {@link OpRegistry#VNRT_DOMAIN} reading x, W,
 * W_scale, W_zp and bias: an int8 GEMM with the scales and bias in its epilogue and W packed at
 * load. The chain fuses only when W, W_scale, W_zp and bias are constants, the MatMulInteger's
 * zero point is the DynamicQuantizeLinear's own, and the int32 and cast values feed nothing else
 * (not a graph output, no other consumer). The DynamicQuantizeLinear and the scale Mul stay; once
 * every MatMulInteger that read them is fused they are dead and the compiler drops them (when
 * something else still reads x_q, they keep running for it).
 */
final class QuantizationFusion {
    private final Graph g;
    private final List<Node> nodes;
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Set<String> outputs = new HashSet<>();

    private QuantizationFusion(Graph g) {
        this.g = g;
        this.nodes = new ArrayList<>(g.nodes());
        g.outputs().forEach(o -> outputs.add(o.name()));
        for (Node n : nodes) {
            n.outputs().forEach(o -> producer.put(o, n));
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }

    /** Rewrites {@code g} in place when {@code registry} has the fused operator; returns the number of fusions. */
    static int run(Graph g, OpRegistry registry) {
        if (registry.find(OpRegistry.VNRT_DOMAIN, "DynamicQuantizeMatMul") == null
                || g.nodes().stream().noneMatch(n -> n.isDefaultDomain() && n.opType().equals("MatMulInteger"))) {
            return 0; // indexing the graph costs more than this scan
        }
        return new QuantizationFusion(g).fuseDynamic();
    }

    private int fuseDynamic() {
        Set<Node> gone = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        int fused = 0;
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!n.isDefaultDomain() || !n.opType().equals("MatMulInteger") || gone.contains(n)) {
                continue;
            }
            List<Node> absorbed = new ArrayList<>();
            Node f = matchDynamic(n, absorbed);
            if (f != null) {
                nodes.set(i, f);
                gone.addAll(absorbed);
                fused++;
            }
        }
        if (fused > 0) {
            nodes.removeIf(gone::contains);
            g.setNodes(nodes);
        }
        return fused;
    }

    private Node matchDynamic(Node mmi, List<Node> absorbed) {
        List<String> in = mmi.inputs();
        if (in.size() < 3 || in.get(2).isEmpty()) {
            return null;
        }
        Node dql = producer.get(in.get(0));
        if (dql == null || !dql.isDefaultDomain() || !dql.opType().equals("DynamicQuantizeLinear")
                || dql.outputs().size() < 3 || !dql.outputs().get(0).equals(in.get(0))
                || !dql.outputs().get(2).equals(in.get(2))) {
            return null;
        }
        Tensor w = constant(in.get(1));
        if (w == null || w.rank() != 2 || (w.dtype() != DType.INT8 && w.dtype() != DType.UINT8)) {
            return null;
        }
        String wZero = in.size() > 3 ? in.get(3) : "";
        Tensor wz = wZero.isEmpty() ? null : constant(wZero);
        if (!wZero.isEmpty() && (wz == null || wz.dtype() != w.dtype() || !vectorOf(wz, w.dim(1)))) {
            return null;
        }
        Node cast = onlyConsumer(mmi.outputs().get(0));
        if (cast == null || !cast.opType().equals("Cast") || !isFloatCast(cast)) {
            return null;
        }
        String castOut = cast.outputs().get(0);
        Node mul = onlyConsumer(castOut);
        if (mul == null || !mul.opType().equals("Mul") || mul.inputs().size() != 2) {
            return null;
        }
        String multiplier = other(mul, castOut);
        Node scales = producer.get(multiplier);
        if (scales == null || !scales.isDefaultDomain() || !scales.opType().equals("Mul") || scales.inputs().size() != 2
                || !scales.inputs().contains(dql.outputs().get(1))) {
            return null;
        }
        String wScale = other(scales, dql.outputs().get(1));
        Tensor ws = constant(wScale);
        if (ws == null || ws.dtype() != DType.FLOAT32 || !vectorOf(ws, w.dim(1))
                || (wz != null && wz.elementCount() != ws.elementCount())) {
            return null;
        }
        String out = mul.outputs().get(0);
        String bias = "";
        absorbed.add(cast);
        absorbed.add(mul);
        Node add = onlyConsumer(out);
        if (add != null && add.opType().equals("Add") && add.inputs().size() == 2) {
            String b = other(add, out);
            Tensor bt = constant(b);
            if (bt != null && bt.dtype() == DType.FLOAT32 && bt.rank() == 1 && bt.dim(0) == w.dim(1)) {
                bias = b;
                out = add.outputs().get(0);
                absorbed.add(add);
            }
        }
        return new Node(mmi.name(), "DynamicQuantizeMatMul", OpRegistry.VNRT_DOMAIN,
                List.of(dql.inputs().get(0), in.get(1), wScale, wZero, bias), List.of(out), Map.of());
    }

    private static boolean isFloatCast(Node cast) {
        Attribute to = cast.attribute("to");
        return to != null && to.kind() == Attribute.Kind.INT && (Long) to.value() == DType.FLOAT32.onnxCode();
    }

    /** One element, or a 1-D tensor of n (a per-column parameter). */
    private static boolean vectorOf(Tensor t, long n) {
        return (t.elementCount() == 1 && t.rank() <= 1) || (t.rank() == 1 && t.dim(0) == n);
    }

    private Tensor constant(String name) {
        return name.isEmpty() ? null : g.constants().get(name);
    }

    /** The single consumer of v, when v is not a graph output; else null. */
    private Node onlyConsumer(String v) {
        List<Node> c = consumers.getOrDefault(v, List.of());
        return c.size() == 1 && !outputs.contains(v) && c.get(0).isDefaultDomain() ? c.get(0) : null;
    }

    private static String other(Node binary, String one) {
        return binary.inputs().get(0).equals(one) ? binary.inputs().get(1) : binary.inputs().get(0);
    }
}
