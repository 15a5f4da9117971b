package io.vnrt.runtime.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.vnrt.proto.onnx.AttributeProto;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.graph.Attribute;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.Graph;
import io.vnrt.runtime.graph.LoadProblem;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.Node;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX ModelProto into the engine's {@link Graph}: decodes initializers (external data
 * relative to the model's directory), turns Constant nodes into constants, and records every
 * problem it meets in a list instead of stopping at the first.
 */
public final class OnnxReader {
    /** Oldest default-domain opset the engine implements. */
    public static final int MIN_OPSET = 7;

    /** Operators whose opset-1 definition is the one in force at opset 7 (no legacy attributes). */
    private static final Set<String> UNCHANGED_SINCE_1 = Set.of("Not", "Identity", "Constant");

    private OnnxReader() {}

    /** Reads a model file; external data is looked up next to it. */
    public static Graph read(Path file, List<LoadProblem> problems) throws ModelLoadException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read model file " + file + ": " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        return read(bytes, dir, problems);
    }

    /** Reads a serialized model; {@code baseDir} (may be null) resolves external data. */
    public static Graph read(byte[] bytes, Path baseDir, List<LoadProblem> problems) throws ModelLoadException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelLoadException("not an ONNX model (protobuf parse failed: " + e.getMessage() + ")");
        }
        if (!model.hasGraph()) {
            throw new ModelLoadException("the model has no graph");
        }
        Map<String, Integer> opsets = new LinkedHashMap<>();
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            String d = o.getDomain().equals("ai.onnx") ? "" : o.getDomain();
            opsets.put(d, (int) o.getVersion());
        }
        if (!opsets.containsKey("")) {
            if (model.getOpsetImportCount() == 0 && model.getIrVersion() < 3) {
                opsets.put("", 1);
            }
            problems.add(LoadProblem.graph("the model imports no default ONNX opset (opset_import for domain \"\")"));
        } else if (opsets.get("") < MIN_OPSET) {
            List<String> changed = model.getGraph().getNodeList().stream()
                    .filter(n -> n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"))
                    .map(NodeProto::getOpType).filter(op -> !UNCHANGED_SINCE_1.contains(op)).distinct().toList();
            if (changed.isEmpty()) {
                // every operator used means the same at opset 7: run it as such
                opsets.put("", MIN_OPSET);
            } else {
                problems.add(LoadProblem.graph("the model uses default-domain opset " + opsets.get("")
                        + "; vnrt supports opset " + MIN_OPSET + " and later, and " + changed
                        + " changed since (convert the model with onnx.version_converter)"));
            }
        }
        Set<String> localFunctions = new HashSet<>();
        model.getFunctionsList().forEach(f -> localFunctions.add(f.getDomain() + ":" + f.getName()));
        return readGraph(model.getGraph(), new Scope(baseDir, opsets, localFunctions, problems, ""));
    }

    /**
     * The declared inputs (initializers left out) and outputs of a serialized model, read without
     * decoding its weights (the parse aliases {@code bytes}): what a configuration is checked
     * against before the model is loaded. Problems (string tensors, non-tensor values) are not
     * reported here; the load reports them.
     */
    public static Interface readInterface(byte[] bytes) throws ModelLoadException {
        ModelProto model;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            model = ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new ModelLoadException("not an ONNX model (protobuf parse failed: " + e.getMessage() + ")");
        }
        GraphProto g = model.getGraph();
        Set<String> initNames = new HashSet<>();
        g.getInitializerList().forEach(t -> initNames.add(t.getName()));
        List<ValueInfo> inputs = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!initNames.contains(v.getName())) {
                inputs.add(valueInfo(v, null, "graph input"));
            }
        }
        List<ValueInfo> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) {
            outputs.add(valueInfo(v, null, "graph output"));
        }
        return new Interface(inputs, outputs);
    }

    /**
     * A model's declared inputs and outputs.
     *
     * @param inputs graph inputs that are not initializers, in order
     * @param outputs graph outputs, in order
     */
    public record Interface(List<ValueInfo> inputs, List<ValueInfo> outputs) {
        /** Copies the lists. */
        public Interface {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    /**
     * What reading one graph needs; {@code prefix} qualifies the node names of a subgraph
     * ("loop1/body/") so that a problem says where it is.
     */
    private record Scope(Path baseDir, Map<String, Integer> opsets, Set<String> localFunctions,
            List<LoadProblem> problems, String prefix) {
        Scope nested(String node, String attribute) {
            return new Scope(baseDir, opsets, localFunctions, problems, node + "/" + attribute + "/");
        }

        Scope indexed(int i) {
            return new Scope(baseDir, opsets, localFunctions, problems, prefix + i + "/");
        }
    }

    private static Graph readGraph(GraphProto g, Scope scope) {
        Path baseDir = scope.baseDir();
        Map<String, Integer> opsets = scope.opsets();
        Set<String> localFunctions = scope.localFunctions();
        List<LoadProblem> problems = scope.problems();
        Map<String, Tensor> constants = new LinkedHashMap<>();
        for (TensorProto init : g.getInitializerList()) {
            try {
                constants.put(init.getName(), TensorProtos.decode(init, baseDir));
            } catch (IOException | RuntimeException e) {
                problems.add(LoadProblem.graph("initializer '" + init.getName() + "': " + e.getMessage()));
            }
        }
        if (g.getSparseInitializerCount() > 0) {
            problems.add(LoadProblem.graph("sparse initializers are not supported ("
                    + g.getSparseInitializerCount() + " in the model)"));
        }
        Set<String> initNames = new HashSet<>();
        g.getInitializerList().forEach(t -> initNames.add(t.getName()));
        List<ValueInfo> inputs = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!initNames.contains(v.getName())) {
                inputs.add(valueInfo(v, problems, "graph input"));
            }
        }
        List<ValueInfo> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) {
            outputs.add(valueInfo(v, problems, "graph output"));
        }
        Map<String, ValueInfo> infos = new LinkedHashMap<>();
        for (ValueInfoProto v : g.getValueInfoList()) {
            infos.put(v.getName(), valueInfo(v, null, "value"));
        }
        List<Node> nodes = new ArrayList<>();
        int index = 0;
        for (NodeProto np : g.getNodeList()) {
            String name = scope.prefix() + (np.getName().isEmpty() ? np.getOpType() + "_" + index : np.getName());
            index++;
            String domain = np.getDomain().equals("ai.onnx") ? "" : np.getDomain();
            int opset = opsets.getOrDefault(domain, -1);
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            for (AttributeProto a : np.getAttributeList()) {
                try {
                    attrs.put(a.getName(), attribute(a, scope.nested(name, a.getName())));
                } catch (IOException | RuntimeException e) {
                    problems.add(new LoadProblem(name, np.getOpType(), opset, "attribute '" + a.getName() + "': " + e.getMessage()));
                }
            }
            Node node = new Node(name, np.getOpType(), domain, np.getInputList(), np.getOutputList(), attrs);
            if (localFunctions.contains(np.getDomain() + ":" + np.getOpType())) {
                problems.add(LoadProblem.of(node, opset, "model-local functions are not supported (tier 2)"));
                continue;
            }
            if (node.isDefaultDomain() && node.opType().equals("Constant")) {
                Tensor value = constantValue(node, opset, problems);
                if (value != null && node.outputs().size() == 1) {
                    constants.put(node.outputs().get(0), value);
                    continue;
                }
            }
            nodes.add(node);
        }
        return new Graph(g.getName(), nodes, inputs, outputs, constants, infos, opsets);
    }

    private static Tensor constantValue(Node node, int opset, List<LoadProblem> problems) {
        if (node.attributes().size() != 1) {
            problems.add(LoadProblem.of(node, opset, "Constant needs exactly one value attribute, has "
                    + node.attributes().keySet()));
            return null;
        }
        Attribute a = node.attributes().values().iterator().next();
        Object v = a.value();
        Tensor t = switch (a.name()) {
            case "value" -> a.kind() == Attribute.Kind.TENSOR ? (Tensor) v : null;
            case "value_float" -> a.kind() == Attribute.Kind.FLOAT ? Tensor.ofFloats(new long[0], (Float) v) : null;
            case "value_floats" -> a.kind() == Attribute.Kind.FLOATS
                    ? Tensor.ofFloats(new long[] {((float[]) v).length}, (float[]) v) : null;
            case "value_int" -> a.kind() == Attribute.Kind.INT ? Tensor.ofLongs(new long[0], (Long) v) : null;
            case "value_ints" -> a.kind() == Attribute.Kind.INTS
                    ? Tensor.ofLongs(new long[] {((long[]) v).length}, (long[]) v) : null;
            default -> null;
        };
        if (t == null) {
            String why = switch (a.name()) {
                case "value", "value_float", "value_floats", "value_int", "value_ints" ->
                        "attribute '" + a.name() + "' has the wrong type " + a.kind().label();
                case "value_string", "value_strings" -> "string constants are not supported";
                case "sparse_value" -> "sparse constants are not supported";
                default -> "unknown Constant attribute '" + a.name() + "'";
            };
            problems.add(LoadProblem.of(node, opset, why));
        }
        return t;
    }

    private static Attribute attribute(AttributeProto a, Scope scope) throws IOException {
        Path baseDir = scope.baseDir();
        AttributeProto.AttributeType type = a.hasType() ? a.getType() : inferType(a);
        return switch (type) {
            case FLOAT -> Attribute.ofFloat(a.getName(), a.getF());
            case INT -> Attribute.ofInt(a.getName(), a.getI());
            case STRING -> Attribute.ofString(a.getName(), a.getS().toStringUtf8());
            case TENSOR -> Attribute.ofTensor(a.getName(), TensorProtos.decode(a.getT(), baseDir));
            case FLOATS -> {
                float[] f = new float[a.getFloatsCount()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = a.getFloats(i);
                }
                yield Attribute.ofFloats(a.getName(), f);
            }
            case INTS -> Attribute.ofInts(a.getName(), a.getIntsList().stream().mapToLong(Long::longValue).toArray());
            case STRINGS -> new Attribute(a.getName(), Attribute.Kind.STRINGS,
                    a.getStringsList().stream().map(s -> s.toStringUtf8()).toArray(String[]::new));
            case GRAPH -> Attribute.ofGraph(a.getName(), readGraph(a.getG(), scope));
            case GRAPHS -> {
                List<Graph> graphs = new ArrayList<>();
                for (int i = 0; i < a.getGraphsCount(); i++) {
                    graphs.add(readGraph(a.getGraphs(i), scope.indexed(i)));
                }
                yield new Attribute(a.getName(), Attribute.Kind.GRAPHS, List.copyOf(graphs));
            }
            case TENSORS -> new Attribute(a.getName(), Attribute.Kind.TENSORS, null);
            case SPARSE_TENSOR, SPARSE_TENSORS -> new Attribute(a.getName(), Attribute.Kind.SPARSE_TENSOR, null);
            default -> new Attribute(a.getName(), Attribute.Kind.OTHER, null);
        };
    }

    /** Very old files omit the type field; the populated field tells. */
    private static AttributeProto.AttributeType inferType(AttributeProto a) {
        if (a.hasF()) return AttributeProto.AttributeType.FLOAT;
        if (a.hasI()) return AttributeProto.AttributeType.INT;
        if (a.hasS()) return AttributeProto.AttributeType.STRING;
        if (a.hasT()) return AttributeProto.AttributeType.TENSOR;
        if (a.hasG()) return AttributeProto.AttributeType.GRAPH;
        if (a.getFloatsCount() > 0) return AttributeProto.AttributeType.FLOATS;
        if (a.getIntsCount() > 0) return AttributeProto.AttributeType.INTS;
        if (a.getStringsCount() > 0) return AttributeProto.AttributeType.STRINGS;
        if (a.getGraphsCount() > 0) return AttributeProto.AttributeType.GRAPHS;
        if (a.getTensorsCount() > 0) return AttributeProto.AttributeType.TENSORS;
        return AttributeProto.AttributeType.UNDEFINED;
    }

    private static ValueInfo valueInfo(ValueInfoProto v, List<LoadProblem> problems, String what) {
        if (!v.hasType() || !v.getType().hasTensorType()) {
            if (problems != null && v.hasType() && v.getType().getValueCase() != TypeProto.ValueCase.VALUE_NOT_SET) {
                problems.add(LoadProblem.graph(what + " '" + v.getName() + "' is not a tensor ("
                        + v.getType().getValueCase().name().toLowerCase() + " values are not supported)"));
            }
            return new ValueInfo(v.getName(), null, null);
        }
        TypeProto.Tensor tt = v.getType().getTensorType();
        DType dtype = null;
        if (tt.getElemType() != 0) {
            try {
                dtype = DType.fromOnnx(tt.getElemType());
            } catch (IllegalArgumentException e) {
                if (problems != null) {
                    problems.add(LoadProblem.graph(what + " '" + v.getName() + "': " + e.getMessage()));
                }
            }
            if (dtype == DType.STRING && problems != null) {
                problems.add(LoadProblem.graph(what + " '" + v.getName() + "': string tensors are not supported"));
            }
        }
        List<Dim> dims = null;
        if (tt.hasShape()) {
            dims = new ArrayList<>();
            for (TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
                dims.add(d.hasDimValue() && d.getDimValue() >= 0 ? Dim.of(d.getDimValue()) : Dim.symbolic(d.getDimParam()));
            }
        }
        return new ValueInfo(v.getName(), dtype, dims);
    }
}
