package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/** IsNaN, IsInf and Not: a per-element test whose output is bool. */
final class PredicateKernel implements Kernel {
    /** The test applied. */
    enum Test { IS_NAN, IS_INF, NOT }

    private final Test test;
    private final TensorType outType;
    private final boolean positive;
    private final boolean negative;

    PredicateKernel(Test test, TensorType in, boolean positive, boolean negative) {
        this.test = test;
        this.outType = new TensorType(DType.BOOL, in.shape());
        this.positive = positive;
        this.negative = negative;
    }

    @Override
    public TensorType[] outputTypes() {
        return new TensorType[] {outType};
    }

    @Override
    public void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx) {
        Tensor in = inputs[0];
        Tensor out = outputs[0];
        long n = in.elementCount();
        for (long i = 0; i < n; i++) {
            boolean r = switch (test) {
                case NOT -> in.data().get(Tensor.I8, i) == 0;
                case IS_NAN -> Double.isNaN(in.getDouble(i));
                case IS_INF -> {
                    double v = in.getDouble(i);
                    yield (positive && v == Double.POSITIVE_INFINITY) || (negative && v == Double.NEGATIVE_INFINITY);
                }
            };
            out.data().set(Tensor.I8, i, (byte) (r ? 1 : 0));
        }
    }
}
