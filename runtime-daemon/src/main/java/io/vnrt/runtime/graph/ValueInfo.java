package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.DType;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

/**
 * A named value's declared type: dtype (null when the model does not say) and dims (null when even
 * the rank is unknown), dims possibly symbolic.
 */
public record ValueInfo(String name, DType dtype, List<Dim> dims) {

    public ValueInfo {
        dims = dims == null ? null : List.copyOf(dims);
    }

    /** Rank, or -1 when unknown. */
    public int rank() {
        return dims == null ? -1 : dims.size();
    }

    /** True when every dimension is a fixed number. */
    public boolean isStatic() {
        return dims != null && dims.stream().allMatch(Dim::isFixed);
    }

    /** The fixed shape (only when {@link #isStatic()}). */
    public long[] fixedShape() {
        return dims.stream().mapToLong(Dim::value).toArray();
    }

    /** The shape with each symbolic dim sized by {@code symbolSize} (which may throw for an unbound one). */
    public long[] shape(ToLongFunction<String> symbolSize) {
        return dims.stream().mapToLong(d -> d.isFixed() ? d.value() : symbolSize.applyAsLong(d.symbol())).toArray();
    }

    /** Like "float32[batch,3,224,224]". */
    public String typeString() {
        String t = dtype == null ? "?" : dtype.displayName();
        return t + (dims == null ? "[*]" : "[" + dims.stream().map(Dim::toString).collect(Collectors.joining(",")) + "]");
    }

    /** Builds a fully fixed value info. */
    public static ValueInfo fixed(String name, DType dtype, long... shape) {
        return new ValueInfo(name, dtype, Arrays.stream(shape).mapToObj(Dim::of).toList());
    }

    @Override
    public String toString() {
        return name + ": " + typeString();
    }
}
