package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.Tensor;

/** One node attribute: its ONNX kind and its value (boxed; arrays for the list kinds). */
public record Attribute(String name, Kind kind, Object value) {

    /** ONNX attribute kinds; the ones the engine cannot use carry a null value. */
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
}
