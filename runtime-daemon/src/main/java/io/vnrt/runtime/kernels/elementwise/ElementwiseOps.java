package io.vnrt.runtime.kernels.elementwise;

import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.NodeContext;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;

/** Elementwise operators, activations, comparisons, logic, Cast and Where. */
public final class ElementwiseOps {
    private ElementwiseOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry r) {
        unary(r, "Neg", UnaryOp.NEG);
        unary(r, "Abs", UnaryOp.ABS);
        unary(r, "Sqrt", UnaryOp.SQRT);
        unary(r, "Exp", UnaryOp.EXP);
        unary(r, "Log", UnaryOp.LOG);
        unary(r, "Reciprocal", UnaryOp.RECIPROCAL);
        unary(r, "Floor", UnaryOp.FLOOR);
        unary(r, "Ceil", UnaryOp.CEIL);
        unary(r, "Round", UnaryOp.ROUND);
        unary(r, "Sign", UnaryOp.SIGN);
        unary(r, "Relu", UnaryOp.RELU);
        unary(r, "Sigmoid", UnaryOp.SIGMOID);
        unary(r, "HardSwish", UnaryOp.HARD_SWISH);
        unary(r, "Tanh", UnaryOp.TANH);
        unary(r, "Erf", UnaryOp.ERF);
        unary(r, "Softplus", UnaryOp.SOFTPLUS);
        unary(r, "Softsign", UnaryOp.SOFTSIGN);
        unary(r, "Mish", UnaryOp.MISH);
        unary(r, "Sin", UnaryOp.SIN);
        unary(r, "Cos", UnaryOp.COS);
        r.register("LeakyRelu", n -> unaryKernel(n, UnaryOp.LEAKY_RELU, n.attrFloat("alpha", 0.01f), 0));
        r.register("Elu", n -> unaryKernel(n, UnaryOp.ELU, n.attrFloat("alpha", 1f), 0));
        r.register("Selu", n -> unaryKernel(n, UnaryOp.SELU,
                n.attrFloat("alpha", 1.67326319217681884765625f), n.attrFloat("gamma", 1.05070102214813232421875f)));
        r.register("Celu", n -> unaryKernel(n, UnaryOp.CELU, n.attrFloat("alpha", 1f), 0));
        r.register("HardSigmoid", n -> unaryKernel(n, UnaryOp.HARD_SIGMOID,
                n.attrFloat("alpha", 0.2f), n.attrFloat("beta", 0.5f)));
        r.register("ThresholdedRelu", n -> unaryKernel(n, UnaryOp.THRESHOLDED_RELU, n.attrFloat("alpha", 1f), 0));
        r.register("Shrink", n -> unaryKernel(n, UnaryOp.SHRINK, n.attrFloat("lambd", 0.5f), n.attrFloat("bias", 0f)));
        r.register("Swish", n -> unaryKernel(n, UnaryOp.SWISH, n.attrFloat("alpha", 1f), 0));
        r.register("Gelu", n -> {
            String approximate = n.attrString("approximate", "none");
            return switch (approximate) {
                case "none" -> unaryKernel(n, UnaryOp.GELU, 0, 0);
                case "tanh" -> unaryKernel(n, UnaryOp.GELU_TANH, 0, 0);
                default -> throw n.error("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
            };
        });
        r.register("Clip", ElementwiseOps::clip);

        binary(r, "Add", BinaryOp.ADD);
        binary(r, "Sub", BinaryOp.SUB);
        binary(r, "Mul", BinaryOp.MUL);
        binary(r, "Div", BinaryOp.DIV);
        binary(r, "PRelu", BinaryOp.PRELU);
        binary(r, "Equal", BinaryOp.EQ);
        binary(r, "Less", BinaryOp.LT);
        binary(r, "LessOrEqual", BinaryOp.LE);
        binary(r, "Greater", BinaryOp.GT);
        binary(r, "GreaterOrEqual", BinaryOp.GE);
        binary(r, "And", BinaryOp.AND);
        binary(r, "Or", BinaryOp.OR);
        binary(r, "Xor", BinaryOp.XOR);
        r.register("Mod", n -> binaryKernel(n, n.attrInt("fmod", 0) != 0 ? BinaryOp.FMOD : BinaryOp.MOD));
        r.register("Pow", ElementwiseOps::pow);

        r.register("Min", n -> variadic(n, BinaryOp.MIN, false));
        r.register("Max", n -> variadic(n, BinaryOp.MAX, false));
        r.register("Sum", n -> variadic(n, BinaryOp.ADD, false));
        r.register("Mean", n -> variadic(n, BinaryOp.ADD, true));

        r.register("Where", ElementwiseOps::where);
        r.register("Not", n -> {
            requireDtype(n, 0, DType.BOOL);
            return new PredicateKernel(PredicateKernel.Test.NOT, n.inputType(0), false, false);
        });
        r.register("IsNaN", n -> {
            requireFloat(n);
            return new PredicateKernel(PredicateKernel.Test.IS_NAN, n.inputType(0), false, false);
        });
        r.register("IsInf", n -> {
            requireFloat(n);
            return new PredicateKernel(PredicateKernel.Test.IS_INF, n.inputType(0),
                    n.attrInt("detect_positive", 1) != 0, n.attrInt("detect_negative", 1) != 0);
        });

        // issue 11 (tier 2): bit operations and the inverse and hyperbolic trigonometric functions
        unary(r, "Tan", UnaryOp.TAN);
        unary(r, "Asin", UnaryOp.ASIN);
        unary(r, "Acos", UnaryOp.ACOS);
        unary(r, "Atan", UnaryOp.ATAN);
        unary(r, "Sinh", UnaryOp.SINH);
        unary(r, "Cosh", UnaryOp.COSH);
        unary(r, "Asinh", UnaryOp.ASINH);
        unary(r, "Acosh", UnaryOp.ACOSH);
        unary(r, "Atanh", UnaryOp.ATANH);
        unary(r, "BitwiseNot", UnaryOp.BIT_NOT);
        binary(r, "BitwiseAnd", BinaryOp.BIT_AND);
        binary(r, "BitwiseOr", BinaryOp.BIT_OR);
        binary(r, "BitwiseXor", BinaryOp.BIT_XOR);
        r.register("SwiGLU", ElementwiseOps::swiglu);
        r.register("BitShift", n -> {
            String direction = n.attrString("direction", "");
            return switch (direction) {
                case "LEFT" -> binaryKernel(n, BinaryOp.SHIFT_LEFT);
                case "RIGHT" -> binaryKernel(n, BinaryOp.SHIFT_RIGHT);
                default -> throw n.error("attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\"");
            };
        });

        r.register("Cast", n -> {
            long to = n.attrInt("to", -1);
            if (to < 0) {
                throw n.error("attribute 'to' is required");
            }
            return cast(n, targetType(n, (int) to));
        });
        r.register("CastLike", n -> cast(n, n.inputType(1).dtype()));
        r.register("Dropout", ElementwiseOps::dropout);
    }

    private static void unary(OpRegistry r, String name, UnaryOp op) {
        r.register(name, n -> unaryKernel(n, op, 0, 0));
    }

    private static Kernel unaryKernel(NodeContext n, UnaryOp op, double p, double q) {
        TensorType t = n.inputType(0);
        DType d = t.dtype();
        if (op.integersOnly() && !d.isInteger()) {
            throw n.error("input type " + d.displayName() + " is not supported (expected an integer type)");
        }
        if (!d.isFloatingPoint() && !(d.isInteger() && op.allowsIntegers())) {
            throw n.error("input type " + d.displayName() + " is not supported (expected "
                    + (op.allowsIntegers() ? "a float or integer type" : "float32, float16, bfloat16 or float64") + ")");
        }
        return new UnaryKernel(op, t, p, q);
    }

    private static void binary(OpRegistry r, String name, BinaryOp op) {
        r.register(name, n -> binaryKernel(n, op));
    }

    private static Kernel binaryKernel(NodeContext n, BinaryOp op) {
        TensorType a = n.inputType(0);
        TensorType b = n.inputType(1);
        if (a.dtype() != b.dtype()) {
            throw n.error("inputs must have the same type, got " + a.dtype().displayName() + " and "
                    + b.dtype().displayName());
        }
        DType d = a.dtype();
        if (d == DType.STRING) {
            throw n.error("string tensors are not supported");
        }
        if (op.isBitwise() && !d.isInteger()) {
            throw n.error("inputs must be integers, got " + d.displayName());
        }
        if (op == BinaryOp.SHIFT_LEFT || op == BinaryOp.SHIFT_RIGHT) {
            if (!d.isUnsigned()) {
                throw n.error("inputs must be unsigned integers (uint8, uint16, uint32, uint64), got " + d.displayName());
            }
        }
        if (op.isLogical() && d != DType.BOOL) {
            throw n.error("inputs must be bool, got " + d.displayName());
        }
        if (!op.isLogical() && op != BinaryOp.EQ && d == DType.BOOL) {
            throw n.error("bool inputs are not supported (expected a numeric type)");
        }
        broadcastCheck(n, a, b);
        DType outType = op.isComparison() || op.isLogical() ? DType.BOOL : d;
        return new BinaryKernel(op, a, b, outType);
    }

    /** Validates broadcasting up front so the error names the node. */
    private static void broadcastCheck(NodeContext n, TensorType a, TensorType b) {
        try {
            Shapes.broadcast(a.shape(), b.shape());
        } catch (IllegalArgumentException e) {
            throw n.error(e.getMessage());
        }
    }

    private static Kernel pow(NodeContext n) {
        TensorType a = n.inputType(0);
        TensorType b = n.inputType(1);
        for (DType d : new DType[] {a.dtype(), b.dtype()}) {
            if (!d.isFloatingPoint() && !d.isInteger()) {
                throw n.error("type " + d.displayName() + " is not supported (expected a numeric type)");
            }
        }
        broadcastCheck(n, a, b);
        Tensor exponent = n.constantInput(1);
        if (exponent != null && exponent.elementCount() == 1 && a.rank() >= b.rank() && a.dtype().isFloatingPoint()) {
            // a constant scalar exponent: x^2, x^0.5 and x^1 without the general pow
            double e = exponent.getDouble(0);
            UnaryOp op = e == 2 ? UnaryOp.SQUARE : e == 0.5 ? UnaryOp.SQRT : e == 1 ? UnaryOp.IDENTITY : null;
            if (op != null) {
                return new UnaryKernel(op, a, 0, 0);
            }
        }
        return new BinaryKernel(BinaryOp.POW, a, b, a.dtype());
    }

    private static Kernel swiglu(NodeContext n) {
        TensorType a = n.inputType(0);
        TensorType b = n.inputType(1);
        if (!a.dtype().isFloatingPoint() || a.dtype().isSmallFloat() || b.dtype() != a.dtype()) {
            throw n.error("a and b must have the same float type (float32, float16, bfloat16 or float64), got " + a
                    + " and " + b);
        }
        broadcastCheck(n, a, b);
        return new SwiGluKernel(a, b, n.attrFloat("alpha", 1f));
    }

    private static Kernel variadic(NodeContext n, BinaryOp op, boolean mean) {
        int k = n.inputCount();
        if (k < 1) {
            throw n.error("needs at least one input");
        }
        TensorType[] types = new TensorType[k];
        long[][] shapes = new long[k][];
        for (int i = 0; i < k; i++) {
            types[i] = n.inputType(i);
            shapes[i] = types[i].shape();
            if (types[i].dtype() != types[0].dtype()) {
                throw n.error("inputs must have the same type, got " + types[0].dtype().displayName() + " and "
                        + types[i].dtype().displayName());
            }
        }
        DType d = types[0].dtype();
        if (!d.isFloatingPoint() && !(d.isInteger() && !mean)) {
            throw n.error("input type " + d.displayName() + " is not supported");
        }
        try {
            Shapes.broadcast(shapes);
        } catch (IllegalArgumentException e) {
            throw n.error(e.getMessage());
        }
        return new VariadicKernel(op, mean, types);
    }

    private static Kernel clip(NodeContext n) {
        TensorType t = n.inputType(0);
        DType d = t.dtype();
        if (!d.isFloatingPoint() && !d.isInteger()) {
            throw n.error("input type " + d.displayName() + " is not supported (expected a numeric type)");
        }
        if (n.opset() < 11) {
            return new ClipKernel(t, (double) n.attrFloat("min", -Float.MAX_VALUE),
                    (double) n.attrFloat("max", Float.MAX_VALUE));
        }
        for (int i = 1; i <= 2; i++) {
            if (n.hasInput(i) && n.inputType(i).elementCount() != 1) {
                throw n.error("input " + i + " (" + (i == 1 ? "min" : "max") + ") must be a scalar, got shape "
                        + n.inputType(i));
            }
        }
        return new ClipKernel(t, null, null);
    }

    private static Kernel where(NodeContext n) {
        TensorType c = n.inputType(0);
        TensorType x = n.inputType(1);
        TensorType y = n.inputType(2);
        if (c.dtype() != DType.BOOL) {
            throw n.error("condition must be bool, got " + c.dtype().displayName());
        }
        if (x.dtype() != y.dtype()) {
            throw n.error("X and Y must have the same type, got " + x.dtype().displayName() + " and "
                    + y.dtype().displayName());
        }
        if (x.dtype() == DType.STRING) {
            throw n.error("string tensors are not supported");
        }
        try {
            Shapes.broadcast(c.shape(), x.shape(), y.shape());
        } catch (IllegalArgumentException e) {
            throw n.error(e.getMessage());
        }
        return new WhereKernel(c, x, y);
    }

    private static DType targetType(NodeContext n, int onnxCode) {
        try {
            return DType.fromOnnx(onnxCode);
        } catch (IllegalArgumentException e) {
            throw n.error("cannot cast to ONNX type " + onnxCode + ": " + e.getMessage());
        }
    }

    private static Kernel cast(NodeContext n, DType to) {
        TensorType in = n.inputType(0);
        if (in.dtype() == DType.STRING || to == DType.STRING) {
            throw n.error("Cast from or to string is not supported (numeric and bool types only)");
        }
        return new CastKernel(in, to, n.attrInt("saturate", 1) != 0);
    }

    private static Kernel dropout(NodeContext n) {
        TensorType in = n.inputType(0);
        if (!in.dtype().isFloatingPoint()) {
            throw n.error("input type " + in.dtype().displayName() + " is not supported (expected a float type)");
        }
        boolean mayTrain = false;
        if (n.opset() >= 12 && n.hasInput(2)) {
            Tensor training = n.constantInput(2);
            mayTrain = training == null || training.getLong(0) != 0;
        }
        boolean mask = n.outputCount() > 1 && n.hasOutput(1);
        DType maskType = n.opset() >= 10 ? DType.BOOL : in.dtype();
        return new DropoutKernel(in, mask, maskType, mayTrain, n.attrInt("seed", 0), n.attrFloat("ratio", 0.5f));
    }

    private static void requireDtype(NodeContext n, int i, DType d) {
        if (n.inputType(i).dtype() != d) {
            throw n.error("input " + i + " must be " + d.displayName() + ", got " + n.inputType(i).dtype().displayName());
        }
    }

    private static void requireFloat(NodeContext n) {
        if (!n.inputType(0).dtype().isFloatingPoint()) {
            throw n.error("input must be a float type, got " + n.inputType(0).dtype().displayName());
        }
    }
}
