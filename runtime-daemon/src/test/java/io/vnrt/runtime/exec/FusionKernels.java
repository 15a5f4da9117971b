package io.vnrt.runtime.exec;

import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * Plain reference kernels with the fusion attributes, so fusion can be tested without the linalg
 * family: 2-D MatMul (optional bias input), 1x1 Conv (NCHW), inference BatchNormalization, and
 * elementwise ops whose second operand is a scalar, a last-axis vector, or the same shape.
 */
final class FusionKernels {
    private FusionKernels() {}

    static OpRegistry registry(boolean fusable) {
        OpRegistry r = new OpRegistry();
        r.register("MatMul", n -> {
            TensorType a = n.inputType(0);
            TensorType b = n.inputType(1);
            long m = a.shape()[0];
            long k = a.shape()[1];
            long nn = b.shape()[1];
            DoubleUnaryOperator act = fusable ? activation(n) : activationRejecting(n);
            if (!fusable && n.hasInput(2)) {
                throw n.error("no bias input");
            }
            TensorType out = new TensorType(a.dtype(), new long[] {m, nn});
            return kernel(out, (in, o) -> {
                for (long i = 0; i < m; i++) {
                    for (long j = 0; j < nn; j++) {
                        double s = in.length > 2 && in[2] != null ? in[2].getDouble(j) : 0;
                        for (long p = 0; p < k; p++) {
                            s += in[0].getDouble(i * k + p) * in[1].getDouble(p * nn + j);
                        }
                        o.setDouble(i * nn + j, act.applyAsDouble(s));
                    }
                }
            });
        });
        r.register("Conv", n -> {
            TensorType x = n.inputType(0);
            TensorType w = n.inputType(1);
            long[] xs = x.shape();
            long oc = w.shape()[0];
            long ic = xs[1];
            long hw = xs[2] * xs[3];
            DoubleUnaryOperator act = fusable ? activation(n) : activationRejecting(n);
            TensorType out = new TensorType(x.dtype(), new long[] {xs[0], oc, xs[2], xs[3]});
            return kernel(out, (in, o) -> {
                for (long b = 0; b < xs[0]; b++) {
                    for (long c = 0; c < oc; c++) {
                        for (long p = 0; p < hw; p++) {
                            double s = in.length > 2 && in[2] != null ? in[2].getDouble(c) : 0;
                            for (long q = 0; q < ic; q++) {
                                s += in[0].getDouble((b * ic + q) * hw + p) * in[1].getDouble(c * ic + q);
                            }
                            o.setDouble((b * oc + c) * hw + p, act.applyAsDouble(s));
                        }
                    }
                }
            });
        });
        r.register("BatchNormalization", n -> {
            TensorType x = n.inputType(0);
            float eps = n.attrFloat("epsilon", 1e-5f);
            long[] xs = x.shape();
            long hw = xs[2] * xs[3];
            return kernel(x, (in, o) -> {
                for (long b = 0; b < xs[0]; b++) {
                    for (long c = 0; c < xs[1]; c++) {
                        double k = in[1].getDouble(c) / Math.sqrt(in[4].getDouble(c) + eps);
                        for (long p = 0; p < hw; p++) {
                            long i = (b * xs[1] + c) * hw + p;
                            o.setDouble(i, (in[0].getDouble(i) - in[3].getDouble(c)) * k + in[2].getDouble(c));
                        }
                    }
                }
            });
        });
        binary(r, "Add", Double::sum);
        binary(r, "Mul", (a, b) -> a * b);
        binary(r, "Div", (a, b) -> a / b);
        unary(r, "Relu", v -> Math.max(0, v));
        unary(r, "Erf", FusionKernels::erf);
        return r;
    }

    static double erf(double x) {
        // series + continued fraction would be overkill: integrate exp(-t^2) numerically (Simpson)
        int steps = 2000;
        double h = x / steps;
        double s = 1 + Math.exp(-x * x);
        for (int i = 1; i < steps; i++) {
            double t = i * h;
            s += (i % 2 == 1 ? 4 : 2) * Math.exp(-t * t);
        }
        return s * h / 3 * 2 / Math.sqrt(Math.PI);
    }

    private static DoubleUnaryOperator activationRejecting(NodeContext n) {
        if (n.hasAttribute("vnrt_activation")) {
            throw n.error("no fused activations");
        }
        return v -> v;
    }

    private static DoubleUnaryOperator activation(NodeContext n) {
        String act = n.attrString("vnrt_activation", "");
        float alpha = n.attrFloat("vnrt_alpha", 0.01f);
        return switch (act) {
            case "" -> v -> v;
            case "Relu" -> v -> Math.max(0, v);
            case "LeakyRelu" -> v -> v < 0 ? alpha * v : v;
            case "Sigmoid" -> v -> 1 / (1 + Math.exp(-v));
            case "Tanh" -> Math::tanh;
            case "Gelu" -> v -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
            default -> throw n.error("unknown activation " + act);
        };
    }

    interface Body {
        void run(Tensor[] in, Tensor out);
    }

    private static Kernel kernel(TensorType out, Body body) {
        return new Kernel() {
            public TensorType[] outputTypes() {
                return new TensorType[] {out};
            }

            public void run(Tensor[] in, Tensor[] o, ExecContext ctx) {
                body.run(in, o[0]);
            }
        };
    }

    private static void binary(OpRegistry r, String op, DoubleBinaryOperator f) {
        r.register(op, n -> {
            TensorType a = n.inputType(0);
            TensorType b = n.inputType(1);
            TensorType out = a.elementCount() >= b.elementCount() ? a : b;
            return kernel(out, (in, o) -> {
                long na = in[0].elementCount();
                long nb = in[1].elementCount();
                for (long i = 0; i < o.elementCount(); i++) {
                    o.setDouble(i, f.applyAsDouble(in[0].getDouble(i % na), in[1].getDouble(i % nb)));
                }
            });
        });
    }

    private static void unary(OpRegistry r, String op, DoubleUnaryOperator f) {
        r.register(op, n -> kernel(n.inputType(0), (in, o) -> {
            for (long i = 0; i < o.elementCount(); i++) {
                o.setDouble(i, f.applyAsDouble(in[0].getDouble(i)));
            }
        }));
    }
}
