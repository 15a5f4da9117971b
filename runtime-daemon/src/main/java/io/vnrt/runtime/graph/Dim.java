package io.vnrt.runtime.graph;

/**
 * One dimension of a declared tensor shape: a fixed size, a named symbol bound at execution
 * (batch, sequence), or unknown (neither given in the model).
 */
public record Dim(long value, String symbol) {

    /** A fixed dimension. */
    public static Dim of(long value) {
        return new Dim(value, null);
    }

    /** A symbolic dimension; an empty or null name means "any size". */
    public static Dim symbolic(String name) {
        return new Dim(-1, name == null ? "" : name);
    }

    public boolean isFixed() {
        return symbol == null;
    }

    @Override
    public String toString() {
        return isFixed() ? Long.toString(value) : (symbol.isEmpty() ? "?" : symbol);
    }
}
