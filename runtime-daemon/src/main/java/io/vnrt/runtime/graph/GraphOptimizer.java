package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpFactory;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Graph rewrites that pay at run time. BatchNormalization after a Conv with constant weights is
 * folded into the weights and bias; Gemm without C absorbs a following bias Add. When the linalg
 * kernels accept them (probed once per registry by running a tiny case), MatMul absorbs a bias Add
 * as a third input, and MatMul/Gemm/Conv absorb a following activation (Relu, Sigmoid, Tanh,
 * LeakyRelu, Gelu, or GELU written with Erf) through the attributes {@code vnrt_activation} and
 * {@code vnrt_alpha}, MatMul absorbs a Mul by a float scalar that directly follows it
 * ({@code vnrt_scale}, the GEMM's alpha), and MatMul absorbs Transposes of its operands and of its product that keep
 * the last axis last ({@code vnrt_permA}, {@code vnrt_permB}, {@code vnrt_permY}). Before those, {@link QuantizationFusion} turns quantize_dynamic's
 * DynamicQuantizeLinear/MatMulInteger/Cast/Mul chains into fused int8 GEMMs, and (before constant
 * folding, {@link #optimizeBeforeFolding}) the QDQ form's DequantizeLinear/MatMul-or-Conv/QuantizeLinear
 * chains. An Add read only by a LayerNormalization of its sum becomes one {@code AddLayerNormalization}.
 */
public final class GraphOptimizer {
    /** Attribute naming the activation fused into a MatMul/Gemm/Conv. */
    public static final String ACTIVATION = "vnrt_activation";
    /** LeakyRelu's alpha for a fused activation. */
    public static final String ALPHA = "vnrt_alpha";

    /** The fused int8 GEMM of {@link QuantizationFusion} (internal domain), which takes an activation too. */
    private static final String DQMM = "DynamicQuantizeMatMul";
    /** Add -> LayerNormalization as one kernel (internal domain). */
    private static final String ADD_LAYER_NORM = "AddLayerNormalization";

    /**
     * What each set of kernels supports, by the factories probed (by identity: the standard
     * registries' are the same method references, a test's own are new objects): registries made
     * alike (every engine's standard one) share one probe. The probe runs kernels on 2×2 inputs,
     * every fused activation on a scalar tail; run again at a model's load, after the kernel
     * warm-up's C2 code was compiled without such tails, it threw that code away (a ResNet-50's
     * first executions ran 1.5× slower while it was compiled again).
     */
    private static final Map<List<Object>, Support> SUPPORT = new ConcurrentHashMap<>();
    private static final AtomicInteger PROBES = new AtomicInteger();

    private GraphOptimizer() {}

    /** What the registry's kernels accept, found by running them on tiny inputs. */
    record Support(boolean matmulBias, Set<String> matmulActivations, boolean gemmActivation, boolean convActivation,
                   boolean matmulPerms, boolean matmulScale, boolean addLayerNorm) {}

    /** A MatMul's absorbed Mul by a scalar constant, applied to each sum before any bias. */
    public static final String SCALE = "vnrt_scale";

    /** Attributes of a MatMul that reads A or B, or writes Y, through the perm of a Transpose it absorbed. */
    public static final String PERM_A = "vnrt_permA";
    public static final String PERM_B = "vnrt_permB";
    public static final String PERM_Y = "vnrt_permY";

    /**
     * The rewrites that must see the graph before constant folding: {@link QuantizationFusion}'s
     * QDQ chains (folding would turn their weights' DequantizeLinear into float weights).
     */
    public static void optimizeBeforeFolding(Graph g, OpRegistry registry) {
        QuantizationFusion.runQdq(g, registry);
    }

    /** Rewrites {@code g} in place. */
    public static void optimize(Graph g, OpRegistry registry) {
        Support s = SUPPORT.computeIfAbsent(probedKernels(registry), k -> probe(registry));
        QuantizationFusion.run(g, registry);
        new Rewriter(g, s).run();
    }

    // ---- probing the kernels ------------------------------------------------------------------

    /** The factories {@link #probe} runs (an absent one as its name): what its result depends on. */
    private static List<Object> probedKernels(OpRegistry r) {
        List<Object> key = new ArrayList<>();
        for (String op : List.of("MatMul", "Gemm", "Conv")) {
            OpFactory f = r.find("", op);
            key.add(f == null ? "no " + op : f);
        }
        OpFactory addLn = r.find(OpRegistry.VNRT_DOMAIN, ADD_LAYER_NORM);
        key.add(addLn == null ? "no " + ADD_LAYER_NORM : addLn);
        return key;
    }

    /** Probes run so far in this JVM (for tests: registries made alike share one). */
    static int probesRun() {
        return PROBES.get();
    }

    static Support probe(OpRegistry r) {
        PROBES.incrementAndGet();
        Tensor a = Tensor.ofFloats(new long[] {2, 2}, 1, 0, 0, 1);
        Tensor w = Tensor.ofFloats(new long[] {2, 2}, 1, -2, -3, 4);
        Tensor bias = Tensor.ofFloats(new long[] {2}, 0.5f, 10);
        float[] biasRelu = {1.5f, 8, 0, 14};
        boolean matmulBias = matches(run(r, "MatMul", 13, new Tensor[] {a, w, bias}, Map.of(ACTIVATION, Attribute.ofString(ACTIVATION, "Relu"))), biasRelu);
        Set<String> acts = new HashSet<>();
        float[] x = {1, -2, -3, 4};
        for (String act : List.of("Relu", "Sigmoid", "Tanh", "Gelu", "LeakyRelu")) {
            Map<String, Attribute> attrs = new HashMap<>();
            attrs.put(ACTIVATION, Attribute.ofString(ACTIVATION, act));
            attrs.put(ALPHA, Attribute.ofFloat(ALPHA, 0.25f));
            float[] expected = new float[4];
            for (int i = 0; i < 4; i++) {
                expected[i] = activate(act, x[i], 0.25f);
            }
            if (matches(run(r, "MatMul", 13, new Tensor[] {a, w}, attrs), expected)) {
                acts.add(act);
            }
        }
        boolean gemm = matches(run(r, "Gemm", 13, new Tensor[] {a, w}, Map.of(ACTIVATION, Attribute.ofString(ACTIVATION, "Relu"))),
                new float[] {1, 0, 0, 4});
        Tensor cx = Tensor.ofFloats(new long[] {1, 1, 1, 2}, 1, -1);
        Tensor cw = Tensor.ofFloats(new long[] {1, 1, 1, 1}, 2);
        boolean conv = matches(run(r, "Conv", 11, new Tensor[] {cx, cw}, Map.of(ACTIVATION, Attribute.ofString(ACTIVATION, "Relu"))),
                new float[] {2, 0});
        // A [2,2,2] read as perm (1,0,2), B as (0,2,1), the product written through (1,0,2)
        Tensor pa = Tensor.ofFloats(new long[] {2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8);
        Tensor pb = Tensor.ofFloats(new long[] {2, 2, 2}, 1, 0, 0, 1, 0, 2, 1, 0);
        boolean perms = matches(run(r, "MatMul", 13, new Tensor[] {pa, pb},
                Map.of(PERM_A, Attribute.ofInts(PERM_A, new long[] {1, 0, 2}), PERM_B, Attribute.ofInts(PERM_B, new long[] {0, 2, 1}),
                        PERM_Y, Attribute.ofInts(PERM_Y, new long[] {1, 0, 2}))),
                new float[] {1, 2, 8, 3, 5, 6, 16, 7});
        boolean scale = matches(run(r, "MatMul", 13, new Tensor[] {a, w}, Map.of(SCALE, Attribute.ofFloat(SCALE, 0.5f))),
                new float[] {0.5f, -1, -1.5f, 2});
        return new Support(matmulBias, acts, gemm, conv, perms, scale, r.find(OpRegistry.VNRT_DOMAIN, ADD_LAYER_NORM) != null);
    }

    private static float activate(String act, float v, float alpha) {
        return switch (act) {
            case "Relu" -> Math.max(0, v);
            case "Sigmoid" -> (float) (1 / (1 + Math.exp(-v)));
            case "Tanh" -> (float) Math.tanh(v);
            case "LeakyRelu" -> v < 0 ? alpha * v : v;
            default -> (float) (0.5 * v * (1 + erf(v / Math.sqrt(2))));
        };
    }

    /** Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): enough to recognise a GELU kernel. */
    private static double erf(double x) {
        double t = 1 / (1 + 0.3275911 * Math.abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
        return x < 0 ? -y : y;
    }

    private static boolean matches(Tensor out, float[] expected) {
        if (out == null || out.elementCount() != expected.length || out.dtype() != DType.FLOAT32) {
            return false;
        }
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(out.getFloat(i) - expected[i]) > 1e-4 + 1e-3 * Math.abs(expected[i])) {
                return false;
            }
        }
        return true;
    }

    private static Tensor run(OpRegistry r, String op, int opset, Tensor[] inputs, Map<String, Attribute> attrs) {
        OpFactory f = r.find("", op);
        if (f == null) {
            return null;
        }
        try {
            List<String> names = new ArrayList<>();
            TensorType[] types = new TensorType[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                names.add("in" + i);
                types[i] = inputs[i].type();
            }
            Node n = new Node("probe", op, "", names, List.of("out"), attrs);
            Kernel k = f.create(new CompileContext(n, opset, types, inputs, new boolean[] {true}, 1, null, Map.of(),
                    (node, input) -> { }));
            TensorType t = k.outputTypes()[0];
            Tensor out = Tensor.allocate(t.dtype(), t.shape());
            long ws = k.workspaceBytes();
            k.run(inputs, new Tensor[] {out}, ExecContext.inline(ws > 0 ? java.lang.foreign.Arena.ofAuto().allocate(ws, 64) : MemorySegment.NULL));
            return out;
        } catch (RuntimeException | Error e) {
            return null;
        }
    }

    // ---- rewriting ----------------------------------------------------------------------------

    private static final class Rewriter {
        private final Graph g;
        private final Support s;
        private final List<Node> nodes;
        private final Map<String, Node> producer = new HashMap<>();
        /**
         * Each value's consumers, in the order they were indexed; nodes taken out of the graph stay in the lists,
         * marked in {@link #unindexed}, and are dropped when a list is read. Removing them from the list at once
         * made every fusion scan the consumers of the weights it reads, which a whole graph of fusions shares.
         */
        private final Map<String, List<Node>> consumers = new HashMap<>();
        private final Set<Node> unindexed = Collections.newSetFromMap(new IdentityHashMap<>());
        private final Set<String> outputs = new HashSet<>();
        private final Set<Node> removed = Collections.newSetFromMap(new IdentityHashMap<>());

        Rewriter(Graph g, Support s) {
            this.g = g;
            this.s = s;
            this.nodes = new ArrayList<>(g.nodes());
            g.outputs().forEach(o -> outputs.add(o.name()));
            index();
        }

        private void index() {
            producer.clear();
            consumers.clear();
            nodes.forEach(this::index);
        }

        void run() {
            // nodes absorbed by earlier fusions: skipped here, dropped from the list once at the end (dropping them
            // and re-indexing the graph after every fusion made a graph of many fusions quadratic to load)
            Set<Node> gone = Collections.newSetFromMap(new IdentityHashMap<>());
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                if (gone.contains(n)) {
                    continue;
                }
                if (!n.isDefaultDomain()) {
                    // the fused int8 GEMM of quantize_dynamic's chains absorbs a following activation
                    Node fusedQ = n.domain().equals(OpRegistry.VNRT_DOMAIN) && n.opType().equals(DQMM)
                            && n.outputs().size() == 1 && !n.attributes().containsKey(ACTIVATION) ? activation(n, onlyConsumer(n.outputs().get(0))) : null;
                    if (fusedQ != null) {
                        nodes.set(i, fusedQ);
                        unindex(n);
                        removed.forEach(this::unindex);
                        index(fusedQ);
                        gone.addAll(removed);
                        removed.clear();
                    }
                    continue;
                }
                Node fused = switch (n.opType()) {
                    case "Conv" -> fuseConv(n);
                    case "MatMul" -> {
                        Node folded = foldTransposes(n);
                        Node linear = fuseLinear(folded == null ? n : folded);
                        yield linear != null ? linear : folded;
                    }
                    case "Gemm" -> fuseLinear(n);
                    case "Add" -> fuseAddLayerNorm(n);
                    default -> null;
                };
                if (fused != null) {
                    // absorbed nodes all come after their producer, so position i stays the fused node's
                    nodes.set(i, fused);
                    unindex(n);
                    removed.forEach(this::unindex);
                    index(fused);
                    gone.addAll(removed);
                    removed.clear();
                }
            }
            nodes.removeIf(gone::contains);
            g.setNodes(nodes);
        }

        private void index(Node n) {
            n.outputs().forEach(o -> producer.put(o, n));
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }

        private void unindex(Node n) {
            n.outputs().forEach(o -> producer.remove(o, n));
            unindexed.add(n);
        }

        /** The nodes that read value v now, in the order they were indexed. */
        private List<Node> consumersOf(String v) {
            List<Node> c = consumers.get(v);
            if (c == null) {
                return List.of();
            }
            c.removeIf(unindexed::contains);
            return c;
        }

        /** The single consumer of value v, when v is not a graph output; else null. */
        private Node onlyConsumer(String v) {
            List<Node> c = consumersOf(v);
            return c.size() == 1 && !outputs.contains(v) && !removed.contains(c.get(0)) ? c.get(0) : null;
        }

        private Tensor constant(String name) {
            return name.isEmpty() ? null : g.constants().get(name);
        }

        private int opset() {
            return g.opsetOf("");
        }

        private Node fuseConv(Node conv) {
            Node cur = conv;
            Node next = onlyConsumer(cur.outputs().get(0));
            if (next != null && next.opType().equals("BatchNormalization") && next.inputs().get(0).equals(cur.outputs().get(0))) {
                Node folded = foldBatchNorm(cur, next);
                if (folded != null) {
                    cur = folded;
                    next = onlyConsumer(cur.outputs().get(0));
                }
            }
            if (s.convActivation) {
                Node act = activation(cur, next);
                if (act != null) {
                    cur = act;
                }
            }
            return cur == conv ? null : cur;
        }

        private Node foldBatchNorm(Node conv, Node bn) {
            if (bn.outputs().stream().skip(1).anyMatch(o -> !o.isEmpty())) {
                return null;
            }
            Attribute training = bn.attribute("training_mode");
            if (training != null && training.kind() == Attribute.Kind.INT && (Long) training.value() != 0) {
                return null;
            }
            Tensor w = constant(conv.inputs().get(1));
            Tensor b = conv.inputs().size() > 2 ? constant(conv.inputs().get(2)) : null;
            if (conv.inputs().size() > 2 && !conv.inputs().get(2).isEmpty() && b == null) {
                return null;
            }
            if (bn.inputs().size() < 5) {
                return null;
            }
            Tensor scale = constant(bn.inputs().get(1));
            Tensor shift = constant(bn.inputs().get(2));
            Tensor mean = constant(bn.inputs().get(3));
            Tensor var = constant(bn.inputs().get(4));
            if (w == null || scale == null || shift == null || mean == null || var == null || w.dtype() != DType.FLOAT32 || w.rank() < 3) {
                return null;
            }
            long oc = w.dim(0);
            for (Tensor t : new Tensor[] {scale, shift, mean, var, b}) {
                if (t != null && (t.elementCount() != oc || !t.dtype().isFloatingPoint())) {
                    return null;
                }
            }
            float eps = 1e-5f;
            Attribute e = bn.attribute("epsilon");
            if (e != null && e.kind() == Attribute.Kind.FLOAT) {
                eps = (Float) e.value();
            }
            Tensor nw = Tensor.allocate(DType.FLOAT32, w.shape());
            Tensor nb = Tensor.allocate(DType.FLOAT32, oc);
            long per = w.elementCount() / oc;
            for (long o = 0; o < oc; o++) {
                double k = scale.getDouble(o) / Math.sqrt(var.getDouble(o) + eps);
                for (long j = 0; j < per; j++) {
                    nw.setFloat(o * per + j, (float) (w.getFloat(o * per + j) * k));
                }
                double bias = b == null ? 0 : b.getDouble(o);
                nb.setFloat(o, (float) ((bias - mean.getDouble(o)) * k + shift.getDouble(o)));
            }
            String wName = unique(conv.name() + "_bn_weight");
            String bName = unique(conv.name() + "_bn_bias");
            g.constants().put(wName, nw);
            g.constants().put(bName, nb);
            removed.add(bn);
            return conv.with(List.of(conv.inputs().get(0), wName, bName), List.of(bn.outputs().get(0)), conv.attributes());
        }

        private String unique(String base) {
            String n = base;
            int i = 1;
            while (g.constants().containsKey(n) || producer.containsKey(n)) {
                n = base + "_" + i++;
            }
            return n;
        }

        /**
         * Folds Transposes that keep the last axis last into a MatMul: one feeding A (its rows stay
         * contiguous for the GEMM tiles), one feeding B (packed per run anyway, then still a row
         * copy), and the product's only reader (C is written a row at a time). The MatMul then
         * reads the Transposes' inputs in place and writes the final layout: attention's head split
         * of Q and V and its head merge. A Transpose that moves the last axis (K's, to [.., D, S])
         * stays: packing B through it would be an element-by-element gather, no faster than the
         * Transpose's copy. Null if none folds.
         */
        private Node foldTransposes(Node mm) {
            if (!s.matmulPerms || mm.inputs().size() != 2 || !mm.attributes().isEmpty()) {
                return null;
            }
            List<String> ins = new ArrayList<>(mm.inputs());
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            List<Node> folded = new ArrayList<>();
            for (int j = 0; j < 2; j++) {
                Node t = producer.get(ins.get(j));
                long[] perm = transposePerm(t);
                if (perm == null || onlyConsumer(t.outputs().get(0)) != mm || constant(t.inputs().get(0)) != null
                        || ins.get(0).equals(ins.get(1)) || perm[perm.length - 1] != perm.length - 1) {
                    continue;
                }
                ins.set(j, t.inputs().get(0));
                attrs.put(j == 0 ? PERM_A : PERM_B, Attribute.ofInts(j == 0 ? PERM_A : PERM_B, perm));
                folded.add(t);
            }
            List<String> outs = mm.outputs();
            Node y = onlyConsumer(outs.get(0));
            long[] permY = transposePerm(y);
            if (permY != null && permY[permY.length - 1] == permY.length - 1) {
                attrs.put(PERM_Y, Attribute.ofInts(PERM_Y, permY));
                outs = y.outputs();
                folded.add(y);
            }
            if (folded.isEmpty()) {
                return null;
            }
            removed.addAll(folded);
            return mm.with(ins, outs, attrs);
        }

        /** The explicit perm of a Transpose (of rank 2 or more), or null for any other node. */
        private static long[] transposePerm(Node t) {
            if (t == null || !t.isDefaultDomain() || !t.opType().equals("Transpose") || t.inputs().size() != 1) {
                return null;
            }
            Attribute a = t.attribute("perm");
            if (a == null || a.kind() != Attribute.Kind.INTS || ((long[]) a.value()).length < 2) {
                return null;
            }
            return (long[]) a.value();
        }

        /**
         * An Add whose only reader is a LayerNormalization of its sum (a residual connection and
         * the norm after it) becomes one {@code AddLayerNormalization}, when the norm asks for Y
         * alone and its Scale and B are initializers or graph inputs (the fused node takes the
         * Add's place in the order).
         */
        private Node fuseAddLayerNorm(Node add) {
            if (!s.addLayerNorm || add.inputs().size() != 2 || add.inputs().contains("")) {
                return null;
            }
            String sum = add.outputs().get(0);
            Node ln = onlyConsumer(sum);
            if (ln == null || !ln.isDefaultDomain() || !ln.opType().equals("LayerNormalization") || ln.inputs().size() < 2
                    || !ln.inputs().get(0).equals(sum)) {
                return null;
            }
            for (int i = 1; i < ln.outputs().size(); i++) {
                if (!ln.outputs().get(i).isEmpty()) {
                    return null;
                }
            }
            List<String> ins = new ArrayList<>(add.inputs());
            for (int i = 1; i < ln.inputs().size(); i++) {
                String p = ln.inputs().get(i);
                if (p.equals(sum) || producer.containsKey(p)) {
                    return null;
                }
                ins.add(p);
            }
            removed.add(ln);
            return new Node(ln.name(), ADD_LAYER_NORM, OpRegistry.VNRT_DOMAIN, ins, List.of(ln.outputs().get(0)),
                    ln.attributes());
        }

        private Node fuseLinear(Node mm) {
            Node cur = mm;
            String out = cur.outputs().get(0);
            Node next = onlyConsumer(out);
            if (next != null && mm.opType().equals("MatMul") && s.matmulScale && next.opType().equals("Mul")
                    && next.inputs().size() == 2) {
                // attention's 1/sqrt(d) after Q·Kᵀ: Mul by a float scalar becomes the GEMM's alpha
                Tensor c = constant(other(next, out));
                if (c != null && c.dtype() == DType.FLOAT32 && c.elementCount() == 1 && c.rank() <= 1
                        && !mm.attributes().containsKey(SCALE) && !mm.attributes().containsKey(ACTIVATION)
                        && mm.inputs().size() == 2) {
                    Map<String, Attribute> attrs = new LinkedHashMap<>(mm.attributes());
                    attrs.put(SCALE, Attribute.ofFloat(SCALE, c.getFloat(0)));
                    removed.add(next);
                    cur = mm.with(mm.inputs(), next.outputs(), attrs);
                    out = cur.outputs().get(0);
                    next = onlyConsumer(out);
                }
            }
            if (next != null && next.opType().equals("Add") && next.inputs().size() == 2) {
                String other = next.inputs().get(0).equals(out) ? next.inputs().get(1) : next.inputs().get(0);
                Node withBias = absorbBias(cur, next, other);
                if (withBias != null) {
                    cur = withBias;
                    next = onlyConsumer(cur.outputs().get(0));
                }
            }
            boolean canActivate = cur.opType().equals("Gemm") ? s.gemmActivation : !s.matmulActivations.isEmpty();
            if (canActivate) {
                Node act = activation(cur, next);
                if (act != null) {
                    cur = act;
                }
            }
            return cur == mm ? null : cur;
        }

        private Node absorbBias(Node mm, Node add, String biasName) {
            Tensor bias = constant(biasName);
            Tensor w = constant(mm.inputs().get(1));
            if (bias == null || bias.dtype() != DType.FLOAT32 || bias.rank() != 1 || mm.attributes().containsKey(ACTIVATION)) {
                return null;
            }
            if (mm.opType().equals("MatMul")) {
                if (!s.matmulBias || w == null || w.rank() != 2 || w.dim(1) != bias.dim(0) || w.dtype() != DType.FLOAT32) {
                    return null;
                }
                removed.add(add);
                return mm.with(List.of(mm.inputs().get(0), mm.inputs().get(1), biasName), add.outputs(), mm.attributes());
            }
            // Gemm without C: the bias becomes C (broadcast over rows), with beta 1
            if (mm.inputs().size() > 2 && !mm.inputs().get(2).isEmpty()) {
                return null;
            }
            if (w == null || w.rank() != 2) {
                return null;
            }
            Attribute tb = mm.attribute("transB");
            boolean transB = tb != null && tb.kind() == Attribute.Kind.INT && (Long) tb.value() != 0;
            long n = transB ? w.dim(0) : w.dim(1);
            if (bias.dim(0) != n) {
                return null;
            }
            Map<String, Attribute> attrs = new LinkedHashMap<>(mm.attributes());
            attrs.put("beta", Attribute.ofFloat("beta", 1f));
            removed.add(add);
            return mm.with(List.of(mm.inputs().get(0), mm.inputs().get(1), biasName), add.outputs(), attrs);
        }

        /** Fuses the activation node {@code next} (may be null) or an Erf-form GELU subgraph that follows {@code producerNode}. */
        private Node activation(Node producerNode, Node next) {
            String out = producerNode.outputs().get(0);
            if (next != null && !next.inputs().get(0).equals(out)) {
                return null;
            }
            String act = null;
            float alpha = 0.01f;
            List<Node> absorbed = new ArrayList<>();
            String result = null;
            switch (next == null ? "" : next.opType()) {
                case "Relu", "Sigmoid", "Tanh" -> {
                    act = next.opType();
                    absorbed.add(next);
                    result = next.outputs().get(0);
                }
                case "LeakyRelu" -> {
                    act = "LeakyRelu";
                    Attribute a = next.attribute("alpha");
                    if (a != null && a.kind() == Attribute.Kind.FLOAT) {
                        alpha = (Float) a.value();
                    }
                    absorbed.add(next);
                    result = next.outputs().get(0);
                }
                case "Gelu" -> {
                    Attribute approx = next.attribute("approximate");
                    if (approx == null || "none".equals(approx.value())) {
                        act = "Gelu";
                        absorbed.add(next);
                        result = next.outputs().get(0);
                    }
                }
                default -> {
                    result = matchErfGelu(out, absorbed);
                    if (result != null) {
                        act = "Gelu";
                    }
                }
            }
            if (act == null || result == null) {
                return null;
            }
            boolean supported = switch (producerNode.opType()) {
                case "Conv" -> s.convActivation && act.equals("Relu") || s.convActivation && s.matmulActivations.contains(act);
                case "Gemm" -> s.gemmActivation && (act.equals("Relu") || s.matmulActivations.contains(act));
                case DQMM -> producerNode.domain().equals(OpRegistry.VNRT_DOMAIN);
                default -> s.matmulActivations.contains(act);
            };
            if (!supported) {
                return null;
            }
            Map<String, Attribute> attrs = new LinkedHashMap<>(producerNode.attributes());
            attrs.put(ACTIVATION, Attribute.ofString(ACTIVATION, act));
            if (act.equals("LeakyRelu")) {
                attrs.put(ALPHA, Attribute.ofFloat(ALPHA, alpha));
            }
            removed.addAll(absorbed);
            return producerNode.with(producerNode.inputs(), List.of(result), attrs);
        }

        /**
         * Recognises 0.5 * x * (1 + erf(x / sqrt(2))) as exported by PyTorch (Div or Mul by the
         * constant, then Erf, Add 1, and the two Muls in either association). Returns the GELU's
         * output and fills {@code nodes} with the nodes it replaces, or returns null.
         */
        private String matchErfGelu(String x, List<Node> matched) {
            List<Node> xUsers = consumersOf(x);
            if (outputs.contains(x)) {
                return null;
            }
            Node scaleNode = null;
            for (Node u : xUsers) {
                if ((u.opType().equals("Div") && u.inputs().get(0).equals(x) && near(constant(u.inputs().get(1)), Math.sqrt(2)))
                        || (u.opType().equals("Mul") && near(constant(other(u, x)), Math.sqrt(0.5)))) {
                    scaleNode = u;
                }
            }
            if (scaleNode == null) {
                return null;
            }
            Node erf = onlyConsumer(scaleNode.outputs().get(0));
            if (erf == null || !erf.opType().equals("Erf")) {
                return null;
            }
            Node add = onlyConsumer(erf.outputs().get(0));
            if (add == null || !add.opType().equals("Add") || !near(constant(other(add, erf.outputs().get(0))), 1)) {
                return null;
            }
            Node m1 = onlyConsumer(add.outputs().get(0));
            if (m1 == null || !m1.opType().equals("Mul")) {
                return null;
            }
            String p = add.outputs().get(0);
            String m1Other = other(m1, p);
            List<Node> found = new ArrayList<>(List.of(scaleNode, erf, add, m1));
            String y;
            if (m1Other.equals(x)) {
                Node m2 = onlyConsumer(m1.outputs().get(0));
                if (m2 == null || !m2.opType().equals("Mul") || !near(constant(other(m2, m1.outputs().get(0))), 0.5)) {
                    return null;
                }
                found.add(m2);
                y = m2.outputs().get(0);
            } else if (near(constant(m1Other), 0.5)) {
                Node m2 = onlyConsumer(m1.outputs().get(0));
                if (m2 == null || !m2.opType().equals("Mul") || !other(m2, m1.outputs().get(0)).equals(x)) {
                    return null;
                }
                found.add(m2);
                y = m2.outputs().get(0);
            } else {
                Node half = producer.get(m1Other);
                if (half == null || !half.opType().equals("Mul") || !half.inputs().contains(x)
                        || !near(constant(other(half, x)), 0.5) || onlyConsumer(m1Other) != m1) {
                    return null;
                }
                found.add(half);
                y = m1.outputs().get(0);
            }
            // x's only users must be the GELU's own nodes, or the fused producer would lose a consumer
            for (Node u : xUsers) {
                if (!found.contains(u)) {
                    return null;
                }
            }
            matched.addAll(found);
            return y;
        }

        private static String other(Node binary, String one) {
            if (binary.inputs().size() != 2) {
                return "";
            }
            return binary.inputs().get(0).equals(one) ? binary.inputs().get(1) : binary.inputs().get(0);
        }

        private static boolean near(Tensor t, double v) {
            return t != null && t.elementCount() == 1 && t.dtype().isFloatingPoint() && Math.abs(t.getDouble(0) - v) < 1e-3 * Math.abs(v);
        }
    }
}
