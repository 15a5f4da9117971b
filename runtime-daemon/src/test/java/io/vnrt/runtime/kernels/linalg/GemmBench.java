package io.vnrt.runtime.kernels.linalg;

import io.vnrt.runtime.exec.CoreGroup;
import io.vnrt.runtime.kernels.ExecContext;
import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TestNode;
import java.lang.foreign.Arena;
import java.util.Random;

/** Hand-run GEMM throughput probe (not a test): MatMul shapes of the benchmark models, 1 and 2 threads. */
public final class GemmBench {
    public static void main(String[] args) {
        if (args.length == 4) {
            try (CoreGroup g = new CoreGroup("bench", Integer.parseInt(args[0]))) {
                bench(g, Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]), true);
            }
            return;
        }
        int[][] shapes = {{1024, 1024, 1024}, {1, 784, 512}, {64, 784, 512}, {128, 768, 768}, {128, 768, 3072}};
        for (int threads = 1; threads <= 2; threads++) {
            try (CoreGroup g = new CoreGroup("bench", threads)) {
                for (int[] s : shapes) {
                    bench(g, threads, s[0], s[1], s[2], true);
                }
                bench(g, threads, 128, 64, 128, false);
            }
        }
    }

    static void bench(CoreGroup g, int threads, int m, int k, int n, boolean constB) {
        Random r = new Random(1);
        Tensor a = Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, m, k);
        Tensor b = Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, k, n);
        for (long i = 0; i < a.elementCount(); i++) {
            a.setFloat(i, r.nextFloat() - 0.5f);
        }
        for (long i = 0; i < b.elementCount(); i++) {
            b.setFloat(i, r.nextFloat() - 0.5f);
        }
        Kernel kern;
        Tensor[] ins;
        if (System.getProperty("gemm") != null) {
            // The mlp's layer: Gemm with transposed weights, a bias vector and a fused Relu.
            Tensor bt = GemmKernelTest.transpose(b);
            Tensor bias = Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, n);
            kern = GemmOp.create(TestNode.of("Gemm", 13).input(a).constInput(bt).constInput(bias).attr("transB", 1L)
                    .attr("vnrt_activation", "Relu").parallelism(threads));
            ins = new Tensor[] {a, bt, bias};
        } else {
            TestNode node = TestNode.of("MatMul", 13).input(a);
            node = constB ? node.constInput(b) : node.input(b);
            kern = MatMulOp.create(node.parallelism(threads));
            ins = new Tensor[] {a, b};
        }
        int rot = Integer.getInteger("gemm.rotate", 1);
        Kernel[] kerns = new Kernel[rot];
        Tensor[][] insR = new Tensor[rot][];
        kerns[0] = kern;
        insR[0] = ins;
        for (int q = 1; q < rot; q++) {
            Tensor bt = GemmKernelTest.transpose(b);
            for (long i = 0; i < bt.elementCount(); i++) {
                bt.setFloat(i, r.nextFloat() - 0.5f);
            }
            Tensor bias = Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, n);
            kerns[q] = GemmOp.create(TestNode.of("Gemm", 13).input(a).constInput(bt).constInput(bias).attr("transB", 1L)
                    .attr("vnrt_activation", "Relu").parallelism(threads));
            insR[q] = new Tensor[] {a, bt, bias};
        }
        Tensor out = Tensor.allocate(io.vnrt.runtime.kernels.DType.FLOAT32, m, n);
        var ws = kern.workspaceBytes() > 0 ? Arena.ofAuto().allocate(kern.workspaceBytes(), 64) : null;
        ExecContext ctx = g.context(ws);
        Tensor[] outs = {out};
        double flops = 2.0 * m * n * k;
        int iters = (int) Math.max(5, Math.min(20000, Double.parseDouble(System.getProperty("gemm.work", "1e10")) / flops));
        for (int i = 0; i < iters; i++) {
            kern.run(ins, outs, ctx);
        }
        long best = Long.MAX_VALUE;
        long bestCpu = Long.MAX_VALUE;
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            long c0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < iters; i++) {
                kerns[i % rot].run(insR[i % rot], outs, ctx);
            }
            best = Math.min(best, (System.nanoTime() - t0) / iters);
            bestCpu = Math.min(bestCpu, (mx.getCurrentThreadCpuTime() - c0) / iters);
        }
        // The build machine is shared: calling-thread CPU time shows what the kernel does when it has the core.
        System.out.printf("threads=%d %dx%dx%d%s: wall %.1f us (%.1f GFLOP/s), caller cpu %.1f us (%.1f GFLOP/s per busy core)%n",
                threads, m, k, n, constB ? "" : " (B packed per run)", best / 1e3, flops / best, bestCpu / 1e3,
                flops / bestCpu);
    }
}
