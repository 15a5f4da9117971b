package io.vnrt.runtime.exec;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Deliberately simple kernels so engine tests do not depend on the op families: TAdd (same
 * shapes or a scalar second operand), TRelu, TScale (float attribute "alpha", int "offset"),
 * TReshape (shape input required constant, output aliases input), TShape, TWorkspace (uses
 * workspace), TOneConst (no inputs: tensor attribute "value"), TRendezvous (copies its input once
 * every party of {@link #RENDEZVOUS} is inside a run).
 */
final class TestKernels {
    static final AtomicInteger RUNS = new AtomicInteger();
    /** What TRendezvous kernels wait on: set a latch of N parties before N executions. */
    static final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CountDownLatch> RENDEZVOUS =
            new java.util.concurrent.atomic.AtomicReference<>(new java.util.concurrent.CountDownLatch(0));

    private TestKernels() {}

    static OpRegistry registry() {
        OpRegistry r = new OpRegistry();
        r.register("TAdd", n -> {
            TensorType a = n.inputType(0);
            TensorType b = n.inputType(1);
            if (b.elementCount() != 1 && !a.equals(b)) {
                throw n.error("shapes " + a + " and " + b + " differ");
            }
            return new Kernel() {
                public TensorType[] outputTypes() {
                    return new TensorType[] {a};
                }

                public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
                    RUNS.incrementAndGet();
                    long nb = in[1].elementCount();
                    for (long i = 0; i < in[0].elementCount(); i++) {
                        out[0].setDouble(i, in[0].getDouble(i) + in[1].getDouble(nb == 1 ? 0 : i));
                    }
                }
            };
        });
        r.register("TRelu", n -> simple(n.inputType(0), v -> Math.max(0, v)));
        r.register("TRendezvous", n -> {
            TensorType t = n.inputType(0);
            return new Kernel() {
                public TensorType[] outputTypes() {
                    return new TensorType[] {t};
                }

                public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
                    // Returns only once every party is inside a run at the same time.
                    java.util.concurrent.CountDownLatch latch = RENDEZVOUS.get();
                    latch.countDown();
                    try {
                        if (!latch.await(20, java.util.concurrent.TimeUnit.SECONDS)) {
                            throw new IllegalStateException("the other executions never ran at the same time as this one");
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                    MemorySegment.copy(in[0].data(), 0, out[0].data(), 0, in[0].byteSize());
                }
            };
        });
        r.register("TScale", n -> {
            float alpha = n.attrFloat("alpha", 1f);
            long offset = n.attrInt("offset", 0);
            return simple(n.inputType(0), v -> v * alpha + offset);
        });
        r.register("TReshape", n -> {
            long[] shape = n.requireConstant(1).toLongArray();
            TensorType in = n.inputType(0);
            if (Arrays.stream(shape).reduce(1, (x, y) -> x * y) != in.elementCount()) {
                throw n.error("cannot reshape " + in + " to " + Arrays.toString(shape));
            }
            TensorType out = new TensorType(in.dtype(), shape);
            return new Kernel() {
                public TensorType[] outputTypes() {
                    return new TensorType[] {out};
                }

                public void run(Tensor[] i, Tensor[] o, ExecContext ctx) {
                    MemorySegment.copy(i[0].data(), 0, o[0].data(), 0, i[0].byteSize());
                }

                public int aliasOfInput(int output) {
                    return 0;
                }
            };
        });
        r.register("TShape", n -> {
            long[] shape = n.inputType(0).shape();
            return new Kernel() {
                public TensorType[] outputTypes() {
                    return new TensorType[] {new TensorType(DType.INT64, new long[] {shape.length})};
                }

                public void run(Tensor[] i, Tensor[] o, ExecContext ctx) {
                    for (int d = 0; d < shape.length; d++) {
                        o[0].setLong(d, shape[d]);
                    }
                }

                public boolean readsInput(int input) {
                    return false;
                }
            };
        });
        r.register("TWorkspace", n -> {
            TensorType t = n.inputType(0);
            return new Kernel() {
                public TensorType[] outputTypes() {
                    return new TensorType[] {t};
                }

                public long workspaceBytes() {
                    return t.byteSize();
                }

                public void run(Tensor[] i, Tensor[] o, ExecContext ctx) {
                    // reverse through the workspace, twice: out = in
                    MemorySegment ws = ctx.workspace();
                    long count = t.elementCount();
                    for (long k = 0; k < count; k++) {
                        ws.setAtIndex(Tensor.F32, count - 1 - k, i[0].getFloat(k));
                    }
                    for (long k = 0; k < count; k++) {
                        o[0].setFloat(k, ws.getAtIndex(Tensor.F32, count - 1 - k));
                    }
                }
            };
        });
        return r;
    }

    interface Op {
        double apply(double v);
    }

    static Kernel simple(TensorType t, Op op) {
        return new Kernel() {
            public TensorType[] outputTypes() {
                return new TensorType[] {t};
            }

            public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
                RUNS.incrementAndGet();
                for (long i = 0; i < in[0].elementCount(); i++) {
                    out[0].setDouble(i, op.apply(in[0].getDouble(i)));
                }
            }
        };
    }
}
