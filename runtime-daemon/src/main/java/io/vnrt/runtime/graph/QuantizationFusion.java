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
 *
 * <p>{@link #runQdq} rewrites the QDQ form of ORT's static quantizer,
 * <pre>
 *   y_q = QuantizeLinear([Relu](MatMul(DequantizeLinear(x_q), DequantizeLinear(W_q)) [+ bias]), y_scale, y_zp)
 *   y_q = QuantizeLinear([Relu](Conv(DequantizeLinear(x_q), DequantizeLinear(W_q), B)), y_scale, y_zp)
 * </pre>
 * into one {@code QdqMatMul} / {@code QdqConv} node ({@link io.vnrt.runtime.kernels.linalg.QdqLinearOp}).
 * It runs before constant folding (which would turn the weight's DequantizeLinear into float
 * weights) and fuses only when every scale and zero point and W_q are initializers, the scales
 * float32 and per tensor (W's per tensor or along the output column/channel), the DequantizeLinear
 * and QuantizeLinear forms plain (no blocks, no other output or precision type), the bias a
 * float32 initializer of one value per output (for Conv, or the DequantizeLinear of an int32 one),
 * and every float value inside the chain feeds only the next node (not a graph output). The
 * DequantizeLinear nodes stay for any other reader; those left with none are removed.
 */
final class QuantizationFusion {
    private static final String DQMM = "DynamicQuantizeMatMul";
    /** {@link io.vnrt.runtime.kernels.linalg.DynamicQuantizeMatMulOp#SPLITS}. */
    private static final String SPLITS = "vnrt_splits";
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
        if (registry.find(OpRegistry.VNRT_DOMAIN, DQMM) == null
                || g.nodes().stream().noneMatch(n -> n.isDefaultDomain() && n.opType().equals("MatMulInteger"))) {
            return 0; // indexing the graph costs more than this scan
        }
        return new QuantizationFusion(g).fuseDynamic();
    }

    /** Rewrites the QDQ chains of {@code g} in place when {@code registry} has the fused operators; returns their number. */
    static int runQdq(Graph g, OpRegistry registry) {
        if (registry.find(OpRegistry.VNRT_DOMAIN, "QdqMatMul") == null || registry.find(OpRegistry.VNRT_DOMAIN, "QdqConv") == null) {
            return 0;
        }
        return new QuantizationFusion(g).fuseQdq();
    }

    private int fuseQdq() {
        Set<Node> gone = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Node> dequantizers = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        int fused = 0;
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!n.isDefaultDomain() || !n.opType().equals("QuantizeLinear") || gone.contains(n)) {
                continue;
            }
            List<Node> absorbed = new ArrayList<>();
            Node f = matchQdq(n, absorbed, dequantizers);
            if (f == null) {
                absorbed.clear();
                f = matchQdqMaxPool(n, absorbed, dequantizers);
            }
            if (f != null) {
                nodes.set(i, f);
                gone.addAll(absorbed);
                fused++;
            }
        }
        if (fused == 0) {
            return 0;
        }
        nodes.removeIf(gone::contains);
        // a DequantizeLinear whose every reader was fused is dead (a weight's would otherwise be folded for nothing)
        Set<String> read = new HashSet<>(outputs);
        for (Node n : nodes) {
            read.addAll(n.inputs());
        }
        nodes.removeIf(n -> dequantizers.contains(n) && n.outputs().stream().noneMatch(read::contains));
        g.setNodes(nodes);
        return fused;
    }

    /** The QDQ chain ending at QuantizeLinear {@code q} as one fused node, or null; fills the nodes it replaces. */
    private Node matchQdq(Node q, List<Node> absorbed, Set<Node> dequantizers) {
        List<String> qin = q.inputs();
        if (qin.size() < 2 || !scalarOf(constant(qin.get(1)), DType.FLOAT32) || !plainQuantizer(q)) {
            return null;
        }
        String yZero = qin.size() > 2 ? qin.get(2) : "";
        if (!yZero.isEmpty() ? !byteScalar(constant(yZero)) : q.attribute("output_dtype") != null) {
            return null;
        }
        absorbed.add(q);
        String v = qin.get(0);
        Node p = producerFeeding(v, q);
        boolean relu = false;
        if (p != null && p.opType().equals("Relu") && p.inputs().size() == 1) {
            relu = true;
            absorbed.add(p);
            v = p.inputs().get(0);
            p = producerFeeding(v, p);
        }
        String bias = "";
        if (p != null && p.opType().equals("Add") && p.inputs().size() == 2) {
            Node add = p;
            for (String operand : add.inputs()) {
                Node mm = producerFeeding(operand, add);
                String b = other(add, operand);
                if (mm != null && mm.opType().equals("MatMul") && constant(b) != null) {
                    bias = b;
                    absorbed.add(add);
                    p = mm;
                    break;
                }
            }
            if (bias.isEmpty()) {
                return null;
            }
        }
        if (p == null || p.inputs().size() < 2) {
            return null;
        }
        boolean conv = p.opType().equals("Conv");
        if (!conv && !p.opType().equals("MatMul")) {
            return null;
        }
        Node dqx = dequantizer(p.inputs().get(0));
        Node dqw = dequantizer(p.inputs().get(1));
        if (dqx == null || dqw == null || dqx == dqw || dqx.inputs().size() < 3
                || !scalarOf(constant(dqx.inputs().get(1)), DType.FLOAT32) || !byteScalar(constant(dqx.inputs().get(2)))) {
            return null;
        }
        Tensor w = constant(dqw.inputs().get(0));
        if (w == null || !(w.dtype() == DType.INT8 || w.dtype() == DType.UINT8) || (conv ? w.rank() < 3 : w.rank() != 2)) {
            return null;
        }
        int outAxis = conv ? 0 : 1;
        long channels = w.dim(outAxis);
        Tensor ws = constant(dqw.inputs().get(1));
        String wZero = dqw.inputs().size() > 2 ? dqw.inputs().get(2) : "";
        Tensor wz = wZero.isEmpty() ? null : constant(wZero);
        if (ws == null || ws.dtype() != DType.FLOAT32 || !vectorOf(ws, channels)
                || (!wZero.isEmpty() && (wz == null || wz.dtype() != w.dtype() || wz.rank() != ws.rank()
                        || wz.elementCount() != ws.elementCount()))) {
            return null;
        }
        if (ws.rank() == 1 && ws.dim(0) == channels && ws.elementCount() > 1) {
            Attribute axis = dqw.attribute("axis");
            long a = axis == null ? 1 : (Long) axis.value();
            if (a != outAxis && a != outAxis - w.rank()) {
                return null;
            }
        }
        Map<String, Attribute> attrs = new HashMap<>();
        if (conv) {
            if (p.inputs().size() > 2 && !p.inputs().get(2).isEmpty()) {
                bias = p.inputs().get(2);
                if (!constantBias(bias, channels)) {
                    return null;
                }
            }
            attrs.putAll(p.attributes());
        } else if (!bias.isEmpty()) {
            Tensor b = constant(bias);
            if (b.dtype() != DType.FLOAT32 || b.rank() != 1 || b.dim(0) != channels) {
                return null;
            }
        }
        attrs.put("relu", Attribute.ofInt("relu", relu ? 1 : 0));
        absorbed.add(p);
        dequantizers.add(dqx);
        dequantizers.add(dqw);
        List<String> inputs = List.of(dqx.inputs().get(0), dqx.inputs().get(1), dqx.inputs().get(2),
                dqw.inputs().get(0), dqw.inputs().get(1), wZero, qin.get(1), yZero, bias);
        return new Node(q.name(), conv ? "QdqConv" : "QdqMatMul", OpRegistry.VNRT_DOMAIN, inputs, q.outputs(), attrs);
    }

    /**
     * {@code QuantizeLinear(MaxPool(DequantizeLinear(x_q, s, z)), s, z)} as {@code MaxPool(x_q)}
     * on the integers, or null. Exact: with s a positive normal float, DequantizeLinear's
     * {@code (q − z)·s} is nondecreasing in q, so the window's float maximum is the dequantized
     * integer maximum, and QuantizeLinear with the same s and z gives that integer back
     * ({@code rint(fl(fl(n·s)/s)) = n} for |n| ≤ 255: the two roundings move n by under 2^-15).
     * Only where every window has an element (no pads, no ceil_mode, no auto_pad SAME) and the
     * MaxPool has no Indices output; the float values must feed only the next node.
     */
    private Node matchQdqMaxPool(Node q, List<Node> absorbed, Set<Node> dequantizers) {
        List<String> qin = q.inputs();
        if (qin.size() < 3 || !plainQuantizer(q) || q.attribute("output_dtype") != null) {
            return null;
        }
        Tensor qs = constant(qin.get(1));
        Tensor qz = constant(qin.get(2));
        if (!scalarOf(qs, DType.FLOAT32) || !byteScalar(qz)) {
            return null;
        }
        Node pool = producerFeeding(qin.get(0), q);
        if (pool == null || !pool.opType().equals("MaxPool") || pool.inputs().size() != 1 || pool.outputs().size() != 1
                || !intAttr(pool, "ceil_mode", 0) || !zeroPads(pool)) {
            return null;
        }
        Attribute autoPad = pool.attribute("auto_pad");
        if (autoPad != null && !(autoPad.value() instanceof String ap && (ap.equals("NOTSET") || ap.equals("VALID")))) {
            return null;
        }
        Node dq = dequantizer(pool.inputs().get(0));
        if (dq == null || producerFeeding(pool.inputs().get(0), pool) == null || dq.inputs().size() < 3
                || dq.attribute("output_dtype") != null) {
            return null;
        }
        Tensor ds = constant(dq.inputs().get(1));
        Tensor dz = constant(dq.inputs().get(2));
        if (!scalarOf(ds, DType.FLOAT32) || !byteScalar(dz) || dz.dtype() != qz.dtype() || dz.getLong(0) != qz.getLong(0)) {
            return null;
        }
        float scale = ds.getFloat(0);
        if (Float.floatToIntBits(scale) != Float.floatToIntBits(qs.getFloat(0)) || !(scale >= Float.MIN_NORMAL)
                || scale > Float.MAX_VALUE / 512) {
            return null;
        }
        absorbed.add(q);
        absorbed.add(pool);
        dequantizers.add(dq);
        return new Node(pool.name(), "MaxPool", pool.domain(), List.of(dq.inputs().get(0)), q.outputs(), pool.attributes());
    }

    private static boolean zeroPads(Node n) {
        Attribute pads = n.attribute("pads");
        if (pads == null) {
            return true;
        }
        if (!(pads.value() instanceof long[] v)) {
            return false;
        }
        for (long x : v) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** The producer of v when v feeds only {@code reader} and is not a graph output; else null. */
    private Node producerFeeding(String v, Node reader) {
        Node p = producer.get(v);
        return p != null && p.isDefaultDomain() && onlyConsumer(v) == reader ? p : null;
    }

    /** The plain DequantizeLinear (float32 out, no blocks) producing v, or null. */
    private Node dequantizer(String v) {
        Node d = producer.get(v);
        if (d == null || !d.isDefaultDomain() || !d.opType().equals("DequantizeLinear") || d.inputs().size() < 2
                || d.outputs().size() != 1 || !intAttr(d, "block_size", 0) || !intAttr(d, "output_dtype", 0, 1)) {
            return null;
        }
        return d;
    }

    /** A QuantizeLinear with no blocks, float32 division (precision) and, if given, output_dtype its zero point's type. */
    private boolean plainQuantizer(Node q) {
        if (!intAttr(q, "block_size", 0) || !intAttr(q, "precision", 0, DType.FLOAT32.onnxCode())) {
            return false;
        }
        Attribute out = q.attribute("output_dtype");
        if (out == null || (Long) out.value() == 0) {
            return true;
        }
        Tensor z = q.inputs().size() > 2 ? constant(q.inputs().get(2)) : null;
        return z != null && (Long) out.value() == z.dtype().onnxCode();
    }

    /** A Conv bias the fused node can read as a constant once folded: float32 [channels], or a DequantizeLinear of constants. */
    private boolean constantBias(String b, long channels) {
        Tensor t = constant(b);
        if (t != null) {
            return t.dtype() == DType.FLOAT32 && t.rank() == 1 && t.dim(0) == channels;
        }
        Node d = dequantizer(b);
        if (d == null) {
            return false;
        }
        Tensor bq = constant(d.inputs().get(0));
        Tensor bs = constant(d.inputs().get(1));
        String bz = d.inputs().size() > 2 ? d.inputs().get(2) : "";
        return bq != null && bq.rank() == 1 && bq.dim(0) == channels && bs != null && bs.dtype() == DType.FLOAT32
                && (bz.isEmpty() || constant(bz) != null);
    }

    private static boolean intAttr(Node n, String name, long... allowed) {
        Attribute a = n.attribute(name);
        if (a == null) {
            return true;
        }
        if (a.kind() != Attribute.Kind.INT) {
            return false;
        }
        for (long v : allowed) {
            if ((Long) a.value() == v) {
                return true;
            }
        }
        return false;
    }

    private static boolean scalarOf(Tensor t, DType type) {
        return t != null && t.dtype() == type && t.elementCount() == 1 && t.rank() <= 1;
    }

    private static boolean byteScalar(Tensor t) {
        return t != null && (t.dtype() == DType.INT8 || t.dtype() == DType.UINT8) && t.elementCount() == 1 && t.rank() <= 1;
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
            mergeSharedActivations();
            g.setNodes(nodes);
        }
        return fused;
    }

    /**
     * Fused GEMMs that read one activation (attention's Q, K and V projections) become one, their
     * weights side by side: A's range and quantization run once instead of once each, and the
     * wider GEMM splits better over the cores. Each output is the same as before bit for bit (the
     * same quantized A, the same integer sums and per-column epilogue). They merge when every one
     * has no activation yet, a constant weight of the same type and row count, and all or none a
     * bias; the merged node takes the first one's place (the others' inputs are the same).
     */
    private void mergeSharedActivations() {
        Map<String, List<Integer>> byActivation = new java.util.LinkedHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (n.domain().equals(OpRegistry.VNRT_DOMAIN) && n.opType().equals(DQMM) && n.attributes().isEmpty()
                    && n.outputs().size() == 1 && n.inputs().size() == 5) {
                byActivation.computeIfAbsent(n.inputs().get(0), k -> new ArrayList<>()).add(i);
            }
        }
        Set<Node> merged = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (List<Integer> group : byActivation.values()) {
            if (group.size() < 2) {
                continue;
            }
            Node first = nodes.get(group.get(0));
            List<Node> members = new ArrayList<>();
            group.forEach(i -> members.add(nodes.get(i)));
            Node m = merge(members);
            if (m != null) {
                nodes.set(group.get(0), m);
                merged.addAll(members.subList(1, members.size()));
                merged.remove(first);
            }
        }
        nodes.removeIf(merged::contains);
    }

    /** One DynamicQuantizeMatMul computing all of {@code members}, or null when they cannot merge. */
    private Node merge(List<Node> members) {
        Tensor w0 = constant(members.get(0).inputs().get(1));
        boolean bias = !members.get(0).inputs().get(4).isEmpty();
        boolean zeros = false;
        long n = 0;
        for (Node d : members) {
            Tensor w = constant(d.inputs().get(1));
            Tensor scale = constant(d.inputs().get(2));
            if (w == null || w0 == null || w.dtype() != w0.dtype() || w.rank() != 2 || w.dim(0) != w0.dim(0)
                    || scale == null || scale.dtype() != DType.FLOAT32 || !vectorOf(scale, w.dim(1))
                    || (!d.inputs().get(3).isEmpty() && constant(d.inputs().get(3)) == null)
                    || d.inputs().get(4).isEmpty() == bias || (bias && constant(d.inputs().get(4)) == null)) {
                return null;
            }
            zeros |= !d.inputs().get(3).isEmpty();
            n += w.dim(1);
        }
        long k = w0.dim(0);
        Tensor w = Tensor.allocate(w0.dtype(), k, n);
        Tensor scale = Tensor.allocate(DType.FLOAT32, n);
        Tensor zero = zeros ? Tensor.allocate(w0.dtype(), n) : null;
        Tensor b = bias ? Tensor.allocate(DType.FLOAT32, n) : null;
        long[] splits = new long[members.size()];
        List<String> outs = new ArrayList<>();
        long j0 = 0;
        for (int i = 0; i < members.size(); i++) {
            Node d = members.get(i);
            Tensor wi = constant(d.inputs().get(1));
            long ni = wi.dim(1);
            for (long r = 0; r < k; r++) {
                java.lang.foreign.MemorySegment.copy(wi.data(), r * ni, w.data(), r * n + j0, ni);
            }
            Tensor si = constant(d.inputs().get(2));
            Tensor zi = d.inputs().get(3).isEmpty() ? null : constant(d.inputs().get(3));
            for (long j = 0; j < ni; j++) {
                scale.setFloat(j0 + j, si.getFloat(si.elementCount() == 1 ? 0 : j));
                if (zero != null) {
                    zero.setDouble(j0 + j, zi == null ? 0 : zi.getDouble(zi.elementCount() == 1 ? 0 : j));
                }
                if (b != null) {
                    b.setFloat(j0 + j, constant(d.inputs().get(4)).getFloat(j));
                }
            }
            splits[i] = ni;
            outs.add(d.outputs().get(0));
            j0 += ni;
        }
        Node first = members.get(0);
        String base = "vnrt_merged_" + first.name();
        List<String> ins = new ArrayList<>(List.of(first.inputs().get(0), fresh(base + "_w", w), fresh(base + "_scale", scale),
                zero == null ? "" : fresh(base + "_zero_point", zero), b == null ? "" : fresh(base + "_bias", b)));
        return new Node(first.name(), DQMM, OpRegistry.VNRT_DOMAIN, ins, outs,
                Map.of(SPLITS, Attribute.ofInts(SPLITS, splits)));
    }

    /** Adds constant {@code t} under a name not yet taken, starting from {@code base}; returns the name. */
    private String fresh(String base, Tensor t) {
        String name = base;
        for (int i = 1; g.constants().containsKey(name) || producer.containsKey(name); i++) {
            name = base + "_" + i;
        }
        g.constants().put(name, t);
        return name;
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
        return new Node(mmi.name(), DQMM, OpRegistry.VNRT_DOMAIN,
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
