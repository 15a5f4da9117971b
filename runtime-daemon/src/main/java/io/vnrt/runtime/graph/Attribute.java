package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.Tensor;

/** One node attribute: its ONNX kind and its value (boxed; arrays for the list kinds). */
public record Attribute(String name, Kind kind, Object value) {

    /**
     * ONNX attribute kinds; the ones the engine cannot use carry a null value. A GRAPH holds its
     * {@link Graph}, GRAPHS a {@code List<Graph>}.
     */
    public enum Kind {
        FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS, GRAPH, GRAPHS, TENSORS, SPARSE_TENSOR, OTHER;

        /** Lower-case name for messages. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static Attribute ofInt(String name, long v) {
        return new Attribute(name, Kind.INT, v);
    }

    public static Attribute ofFloat(String name, float v) {
        return new Attribute(name, Kind.FLOAT, v);
    }

    public static Attribute ofString(String name, String v) {
        return new Attribute(name, Kind.STRING, v);
    }

    public static Attribute ofInts(String name, long[] v) {
        return new Attribute(name, Kind.INTS, v);
    }

    public static Attribute ofFloats(String name, float[] v) {
        return new Attribute(name, Kind.FLOATS, v);
    }

    public static Attribute ofTensor(String name, Tensor v) {
        return new Attribute(name, Kind.TENSOR, v);
    }

    public static Attribute ofGraph(String name, Graph g) {
        return new Attribute(name, Kind.GRAPH, g);
    }

    /** The subgraphs this attribute holds (none for other kinds). */
    @SuppressWarnings("unchecked")
    public java.util.List<Graph> graphs() {
        return switch (kind) {
            case GRAPH -> value == null ? java.util.List.of() : java.util.List.of((Graph) value);
            case GRAPHS -> value == null ? java.util.List.of() : (java.util.List<Graph>) value;
            default -> java.util.List.of();
        };
    }
}
