package io.vnrt.runtime.server;

import static io.vnrt.runtime.kernels.DType.FLOAT32;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.v1.CloseSessionRequest;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.InlineTensor;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.OpenSessionRequest;
import io.vnrt.proto.v1.RuntimeGrpc;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.onnx.OnnxModelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The daemon's request path, run at start-up as a client would run it, over TCP: open a session,
 * load a small model, Execute and KServe ModelInfer at a few sizes (1 KiB to 1 MiB a message),
 * close the session. Until the JIT has compiled it, a daemon's first Execute spent about 14 ms in
 * that path alone (receiving and parsing the request, binding its inputs, queueing, delivering the
 * outputs, writing the response), more than a small model's whole execution; run 160 times at
 * start-up (about 2 s beside the kernel warm-up on two cores), most of the path is compiled by C1
 * or C2 before the first client's call (the first Execute of mlp N=64 in a fresh daemon: 18 ms
 * instead of 33, FirstExecutionBench).
 *
 * <p>It runs against a runtime and a server of its own (one device with a small pool, a loopback
 * port of its own that takes the daemon's bearer token when it has one), made from the daemon's
 * configuration and closed when it ends: the
 * classes and methods the JIT compiles are the daemon's, but nothing of it is seen by the daemon's
 * clients — no session, model, metric or port. It never fails the daemon: a call that fails ends
 * it, with the failure in its report.
 */
public final class ServiceWarmup {
    /** The warm-up's session's client name (in the warm-up's own runtime's log lines). */
    private static final String CLIENT_NAME = "vnrt service warm-up";
    /** Rounds of calls: each round one Execute per batch size and one ModelInfer. */
    static final int ROUNDS = 40;
    /** Rows of the warm-up model's input [N, 256] per call: messages of 1 KiB, 32 KiB and 1 MiB. */
    private static final int[] ROWS = {1, 32, 1024};
    private static final int WIDTH = 256;
    private static final String MODEL_NAME = "vnrt-service-warmup";
    private static final Duration CALL_DEADLINE = Duration.ofSeconds(20);
    /** HBM of the warm-up's device and its host memory: the model and a few 1 MiB messages. */
    private static final long POOL_BYTES = 64L << 20;

    /** How the warm-up went: calls made, time taken, and why it stopped early or did not run. */
    public record Report(int executes, int infers, Duration elapsed, Optional<String> stopped) {
        /** One line: "done: 120 Execute and 40 ModelInfer calls in 1.9 s". */
        public String describe() {
            String calls = String.format(Locale.ROOT, "%d Execute and %d ModelInfer calls in %.1f s", executes,
                    infers, elapsed.toNanos() / 1e9);
            return stopped.map(why -> (executes + infers == 0 ? "not run: " : "stopped after " + calls + ": ") + why)
                    .orElse("done: " + calls);
        }
    }

    private final InetSocketAddress address;
    private final Optional<String> token;
    private final LongSupplier clock = System::nanoTime;

    private ServiceWarmup(InetSocketAddress address, Optional<String> token) {
        this.address = address;
        this.token = token;
    }

    /**
     * Starts the warm-up on its own thread, on a runtime like {@code config}'s (its backing, one
     * device of at most two cores, a small pool) and a server with the daemon's message limit and
     * bearer token ({@code token}: while it runs, its port is no more open than the daemon's);
     * the future completes with its report, however it ends.
     */
    public static CompletableFuture<Report> start(RuntimeConfig config, long maxMessageBytes, Optional<String> token) {
        CompletableFuture<Report> done = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("vnrt-service-warmup").start(() -> {
            long t0 = System.nanoTime();
            int cores = Math.max(1, Math.min(2, config.topology().devices().stream()
                    .mapToInt(d -> d.coreIds().size()).max().orElse(1)));
            RuntimeConfig own = config.withTopology(Topology.of(Profile.CPU, Optional.of(1), Optional.of(cores),
                    Optional.of(POOL_BYTES), Optional.empty())).withHostMemoryBytes(POOL_BYTES);
            try (VnrtRuntime runtime = VnrtRuntime.start(own)) {
                DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(
                        Optional.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), Optional.empty(),
                        Optional.empty()), new Security(Optional.empty(), token, Optional.empty()),
                        new DaemonServer.Options(Optional.empty(), Duration.ZERO, maxMessageBytes));
                try {
                    done.complete(new ServiceWarmup(server.tcpAddress().orElseThrow(), token).run());
                } finally {
                    server.close(Duration.ofSeconds(1));
                }
            } catch (IOException | RuntimeException | Error e) {
                done.complete(new Report(0, 0, Duration.ofNanos(System.nanoTime() - t0), Optional.of(String.valueOf(e))));
            }
        });
        return done;
    }

    private Report run() {
        long t0 = clock.getAsLong();
        int executes = 0;
        int infers = 0;
        Optional<String> stopped = Optional.empty();
        ManagedChannel channel = NettyChannelBuilder.forAddress(address).usePlaintext()
                .maxInboundMessageSize(8 << 20).build();
        try {
            Channel authed = token.map(t -> io.grpc.ClientInterceptors.intercept(channel,
                    header(AuthInterceptor.AUTHORIZATION, "Bearer " + t))).orElse(channel);
            RuntimeGrpc.RuntimeBlockingStub runtime = RuntimeGrpc.newBlockingStub(authed);
            String sessionId = deadline(runtime).openSession(OpenSessionRequest.newBuilder().setClientName(CLIENT_NAME)
                    .build()).getSessionId();
            Channel session = io.grpc.ClientInterceptors.intercept(authed, header(SessionInterceptor.SESSION_ID, sessionId));
            try {
                ModelInfo model = load(session);
                ExecutionGrpc.ExecutionBlockingStub execution = ExecutionGrpc.newBlockingStub(session);
                GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub kserve =
                        GRPCInferenceServiceGrpc.newBlockingStub(session);
                ExecuteRequest[] requests = new ExecuteRequest[ROWS.length];
                for (int i = 0; i < ROWS.length; i++) {
                    requests[i] = executeRequest(model.getModelId(), ROWS[i]);
                }
                ModelInferRequest infer = inferRequest(ROWS[1]);
                boolean kserveWorks = true;
                for (int round = 0; round < ROUNDS; round++) {
                    for (ExecuteRequest r : requests) {
                        deadline(execution).execute(r);
                        executes++;
                    }
                    if (kserveWorks) {
                        try {
                            deadline(kserve).modelInfer(infer);
                            infers++;
                        } catch (StatusRuntimeException e) {
                            // KServe is a front end of its own; its failure leaves the Execute path's warm-up going
                            kserveWorks = false;
                            stopped = Optional.of("ModelInfer failed (" + e.getStatus() + ")");
                        }
                    }
                }
            } finally {
                deadline(RuntimeGrpc.newBlockingStub(session)).closeSession(CloseSessionRequest.getDefaultInstance());
            }
        } catch (StatusRuntimeException e) {
            stopped = Optional.of(e.getStatus().toString());
        } finally {
            channel.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new Report(executes, infers, Duration.ofNanos(clock.getAsLong() - t0), stopped);
    }

    private static <S extends io.grpc.stub.AbstractStub<S>> S deadline(S stub) {
        return stub.withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Loads the warm-up model: x [N, 256] → Relu → y1, and → MatMul [256, 64] → Relu → y2. */
    private ModelInfo load(Channel session) {
        byte[] onnx = model();
        CompletableFuture<ModelInfo> loaded = new CompletableFuture<>();
        StreamObserver<LoadModelRequest> upload = ModelGrpc.newStub(session)
                .withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                .loadModel(new StreamObserver<>() {
                    @Override
                    public void onNext(ModelInfo value) {
                        loaded.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        loaded.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        loaded.completeExceptionally(new IllegalStateException("LoadModel ended without a model"));
                    }
                });
        upload.onNext(LoadModelRequest.newBuilder().setHeader(LoadModelHeader.newBuilder().setName(MODEL_NAME)
                .setAutoPlace(true).setCoreCount(1).setModelSizeBytes(onnx.length).setSkipWarmup(true).setShared(true))
                .build());
        upload.onNext(LoadModelRequest.newBuilder().setChunk(ByteString.copyFrom(onnx)).build());
        upload.onCompleted();
        try {
            return loaded.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) {
                throw s;
            }
            throw e;
        }
    }

    static byte[] model() {
        Tensor w = Tensor.allocate(FLOAT32, WIDTH, 64);
        SplittableRandom r = new SplittableRandom(7);
        for (long i = 0; i < w.elementCount(); i++) {
            w.setFloat(i, (float) (r.nextGaussian() / 16));
        }
        return new OnnxModelBuilder(MODEL_NAME, 17).input("x", FLOAT32, "N", (long) WIDTH).initializer("w", w)
                .node("Relu", List.of("x"), List.of("y1")).node("MatMul", List.of("x", "w"), List.of("h"))
                .node("Relu", List.of("h"), List.of("y2"))
                .output("y1", FLOAT32, "N", (long) WIDTH).output("y2", FLOAT32, "N", 64L).bytes();
    }

    private static ByteString input(int rows) {
        ByteBuffer b = ByteBuffer.allocate(rows * WIDTH * 4).order(ByteOrder.LITTLE_ENDIAN);
        SplittableRandom r = new SplittableRandom(rows);
        while (b.hasRemaining()) {
            b.putFloat((float) r.nextGaussian());
        }
        return ByteString.copyFrom(b.flip());
    }

    private static ExecuteRequest executeRequest(String modelId, int rows) {
        return ExecuteRequest.newBuilder().setModelId(modelId).addInputs(ExecuteInput.newBuilder().setName("x")
                .setInline(InlineTensor.newBuilder().setDtype(DataType.DATA_TYPE_FLOAT32).addShape(rows).addShape(WIDTH)
                        .setData(input(rows)))).build();
    }

    private static ModelInferRequest inferRequest(int rows) {
        return ModelInferRequest.newBuilder().setModelName(MODEL_NAME).addInputs(ModelInferRequest.InferInputTensor
                .newBuilder().setName("x").setDatatype("FP32").addShape(rows).addShape(WIDTH))
                .addRawInputContents(input(rows)).build();
    }

    /** Sends {@code key: value} with every call (grpc-java's own header interceptor). */
    private static ClientInterceptor header(Metadata.Key<String> key, String value) {
        Metadata headers = new Metadata();
        headers.put(key, value);
        return MetadataUtils.newAttachHeadersInterceptor(headers);
    }
}
