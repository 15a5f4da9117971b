package io.vnrt.runtime.kernels.elementwise;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vnrt.proto.onnx.GraphProto;
import io.vnrt.proto.onnx.ModelProto;
import io.vnrt.proto.onnx.NodeProto;
import io.vnrt.proto.onnx.OperatorSetIdProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.proto.onnx.TensorShapeProto;
import io.vnrt.proto.onnx.TypeProto;
import io.vnrt.proto.onnx.ValueInfoProto;
import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.kernels.TestNode;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Kernel-level timing of memory-bound elementwise ops against ONNX Runtime (one node per model) in
 * the same process: not a test. Run with
 * {@code java --add-modules jdk.incubator.vector -cp <test classpath> ...ElementwiseBenchmark [threads]}.
 * vnrt times kernel.run on pre-allocated tensors; ORT times session.run (which also allocates its
 * output), so small sizes flatter vnrt a little.
 */
public final class ElementwiseBenchmark {
    private ElementwiseBenchmark() {}

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (CoreGroup group = new CoreGroup("bench", threads)) {
            ExecContext ctx = group.context(null);
            bench(env, ctx, threads, "Add", new long[] {1 << 22}, new long[] {1 << 22});
            bench(env, ctx, threads, "Add", new long[] {1024, 4096}, new long[] {4096});
            bench(env, ctx, threads, "Mul", new long[] {64, 128, 128}, new long[] {});
            bench(env, ctx, threads, "Add", new long[] {8, 64, 64, 64}, new long[] {8, 64, 1, 1});
            bench(env, ctx, threads, "Relu", new long[] {1 << 22}, null);
            bench(env, ctx, threads, "Sigmoid", new long[] {1 << 22}, null);
            bench(env, ctx, threads, "Tanh", new long[] {1 << 22}, null);
            bench(env, ctx, threads, "Erf", new long[] {1 << 22}, null);
            bench(env, ctx, threads, "Gelu", new long[] {1 << 22}, null);
            bench(env, ctx, threads, "Add", new long[] {1, 128, 3072}, new long[] {3072});
            bench(env, ctx, threads, "Erf", new long[] {1, 128, 3072}, null);
            bench(env, ctx, threads, "Add", new long[] {4096}, new long[] {4096});
        }
    }

    private static void bench(OrtEnvironment env, ExecContext ctx, int threads, String op, long[] a, long[] b) throws Exception {
        Random r = new Random(1);
        Tensor ta = fill(Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, a), r);
        Tensor tb = b == null ? null : fill(Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, b), r);
        TestNode node = TestNode.of(op, op.equals("Gelu") ? 20 : 14).input(ta);
        if (tb != null) {
            node.input(tb);
        }
        Kernel k = OpRegistry.standard().find("", op).create(node);
        TensorType ot = k.outputTypes()[0];
        Tensor out = Tensor.allocate(ot.dtype(), ot.shape());
        Tensor[] ins = tb == null ? new Tensor[] {ta} : new Tensor[] {ta, tb};
        Tensor[] outs = {out};
        long elems = ot.elementCount();
        int reps = (int) Math.max(10, Math.min(2000, 100_000_000L / elems / 8));

        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(threads);
        try (OrtSession s = env.createSession(model(op, a, b, ot.shape()), opts)) {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            feeds.put("a", OnnxTensor.createTensor(env, ta.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer(), a));
            if (tb != null) {
                feeds.put("b", OnnxTensor.createTensor(env, tb.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer(), b));
            }
            Runnable ours = () -> k.run(ins, outs, ctx);
            Runnable peer = () -> {
                try (OrtSession.Result res = s.run(feeds)) {
                    res.get(0);
                } catch (ai.onnxruntime.OrtException e) {
                    throw new IllegalStateException(e);
                }
            };
            // alternate rounds so a change in machine load hits both sides alike
            double vnrt = Double.MAX_VALUE;
            double ort = Double.MAX_VALUE;
            time(reps, ours, 1);
            time(reps, peer, 1);
            for (int round = 0; round < 7; round++) {
                vnrt = Math.min(vnrt, time(reps, ours, 1));
                ort = Math.min(ort, time(reps, peer, 1));
            }
            System.out.printf("%-8s %-28s threads=%d  vnrt %9.1f us  ort %9.1f us  vnrt/ort %.2f%n", op,
                    java.util.Arrays.toString(a) + (b == null ? "" : "," + java.util.Arrays.toString(b)), threads,
                    vnrt, ort, vnrt / ort);
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static Tensor fill(Tensor t, Random r) {
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, (float) r.nextGaussian());
        }
        return t;
    }

    /** Best of {@code rounds} mean microseconds per call. */
    private static double time(int reps, Runnable body, int rounds) {
        double best = Double.MAX_VALUE;
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                body.run();
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e3 / reps);
        }
        return best;
    }

    private static byte[] model(String op, long[] a, long[] b, long[] out) {
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(op).addInput("a").addOutput("y");
        if (b != null) {
            node.addInput("b");
        }
        GraphProto.Builder g = GraphProto.newBuilder().setName("bench").addNode(node)
                .addInput(value("a", a)).addOutput(value("y", out));
        if (b != null) {
            g.addInput(value("b", b));
        }
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(op.equals("Gelu") ? 20 : 14))
                .build().toByteArray();
    }

    private static ValueInfoProto value(String name, long[] shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : shape) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }
}
