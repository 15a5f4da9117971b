package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.inference.GRPCInferenceServiceGrpc;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.proto.inference.ModelRepositoryParameter;
import io.vnrt.proto.inference.ModelStreamInferResponse;
import io.vnrt.proto.inference.RepositoryModelLoadRequest;
import io.vnrt.proto.v1.MemoryGrpc;
import io.vnrt.proto.v1.WriteTensorRequest;
import io.vnrt.proto.v1.WriteTensorResponse;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.logging.JavaUtilLogging;
import io.vnrt.runtime.logging.LogSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * --max-message-size over TCP: a message one byte over it is refused as a request, in the
 * daemon's words; a stream with one oversized message answers the requests before it and then
 * ends with that refusal; an upload with one is abandoned and its tensor left usable; one past
 * what the transport reads is cut off with a log line in the daemon's format, no stack trace; the
 * daemon serves on throughout. Also deflate, which grpc-java lacks, as a request encoding.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MessageLimitTest {
  static final long LIMIT = 4L << 20;

  VnrtRuntime runtime;
  DaemonServer server;
  ManagedChannel channel;
  GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub kserve;
  ByteArrayOutputStream log = new ByteArrayOutputStream();
  PrintStream previousLog;
  static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");
  java.util.logging.Level grpcLevel;

  @BeforeAll
  void start() throws Exception {
    JavaUtilLogging.route();
    // the client commands (TargetOptions) silence gRPC's log in their JVM, which tests share; a daemon's is on
    grpcLevel = GRPC_LOG.getLevel();
    GRPC_LOG.setLevel(null);
    previousLog = LogSettings.redirect(new PrintStream(log, true, StandardCharsets.UTF_8));
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())));
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        Optional.empty(), Optional.empty()), Security.NONE,
        new DaemonServer.Options(Optional.empty(), Duration.ZERO, LIMIT));
    channel = NettyChannelBuilder.forTarget(server.targets().getFirst()).usePlaintext()
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .compressorRegistry(Compression.compressors()).decompressorRegistry(Compression.decompressors()).build();
    kserve = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    kserve.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("dense")
        .putParameters("config", ModelRepositoryParameter.newBuilder().setStringParam("{}").build())
        .putParameters("file:1/model.onnx", ModelRepositoryParameter.newBuilder()
            .setBytesParam(ByteString.copyFrom(TestModels.dense())).build()).build());
  }

  @AfterAll
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
    runtime.close();
    LogSettings.redirect(previousLog);
    GRPC_LOG.setLevel(grpcLevel);
  }

  /** A ModelInfer request whose serialized size is exactly {@code size} bytes. */
  static ModelInferRequest ofSize(long size) {
    int padding = (int) size - 64;
    for (;;) {
      ModelInferRequest r = request(padding);
      int delta = (int) (size - r.getSerializedSize());
      if (delta == 0) {
        return r;
      }
      padding += delta;
    }
  }

  private static ModelInferRequest request(int rawBytes) {
    ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName("dense");
    r.addInputsBuilder().setName("x").setDatatype("FP32").addShape(1).addShape(4);
    return r.addRawInputContents(ByteString.copyFrom(new byte[rawBytes])).build();
  }

  static ModelInferRequest good(int rows) {
    ByteBuffer b = ByteBuffer.allocate(rows * 16).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < rows * 4; i++) {
      b.putFloat(i * 0.25f);
    }
    ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName("dense");
    r.addInputsBuilder().setName("x").setDatatype("FP32").addShape(rows).addShape(4);
    return r.addRawInputContents(ByteString.copyFrom(b.array())).build();
  }

  /** A unary request's bytes alias the transport's buffers; they must still be there when its handler runs. */
  @Test
  void aLargeUnaryRequestIsReadWholeAfterTheTransportHandsItOver() {
    int rows = 200_000;
    // without batching, so that the rows are one tensor and not a batch over max_batch_size
    kserve.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("unbatched")
        .putParameters("config", ModelRepositoryParameter.newBuilder().setStringParam(
            "{\"max_batch_size\": 0, \"input\": [{\"name\": \"x\", "
            + "\"data_type\": \"TYPE_FP32\", \"dims\": [-1, 4]}]}").build())
        .putParameters("file:1/model.onnx", ModelRepositoryParameter.newBuilder()
            .setBytesParam(ByteString.copyFrom(TestModels.dense())).build()).build());
    ModelInferRequest request = good(rows).toBuilder().setModelName("unbatched").build();
    ModelInferResponse r = kserve.modelInfer(request);
    float[] x = new float[rows * 4];
    ByteBuffer in = request.getRawInputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < x.length; i++) {
      x[i] = in.getFloat();
    }
    float[] expected = TestModels.denseReference(x, rows)[0];
    ByteBuffer y = r.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(expected.length * 4, y.remaining());
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], y.getFloat(), 1e-3f * Math.max(1, Math.abs(expected[i])), "element " + i);
    }
  }

  @Test
  void aRequestOneByteOverTheLimitIsRefusedAndTheDaemonServesOn() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> kserve.modelInfer(ofSize(LIMIT + 1)));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("a message of " + (LIMIT + 1) + " bytes is over the daemon's "
        + "message size limit of " + LIMIT + " bytes (4.0 MiB, --max-message-size)"), e.getStatus().getDescription());
    // one at the limit passes the check (and is refused for what it says: 4 MiB of data for 16 bytes)
    StatusRuntimeException atLimit = assertThrows(StatusRuntimeException.class, () -> kserve.modelInfer(ofSize(LIMIT)));
    assertEquals(Status.Code.INVALID_ARGUMENT, atLimit.getStatus().getCode(), atLimit.getStatus().toString());
    assertEquals(List.of(2L, 3L), kserve.modelInfer(good(2)).getOutputs(0).getShapeList());
  }

  @Test
  void aStreamWithOneOversizedMessageAnswersTheOthersThenEndsWithTheRefusal() throws Exception {
    List<ModelStreamInferResponse> answers = new ArrayList<>();
    CompletableFuture<Status> end = new CompletableFuture<>();
    StreamObserver<ModelInferRequest> requests = GRPCInferenceServiceGrpc.newStub(channel).modelStreamInfer(
        new StreamObserver<>() {
          @Override
          public void onNext(ModelStreamInferResponse r) {
            answers.add(r);
          }

          @Override
          public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            end.complete(Status.OK);
          }
        });
    requests.onNext(good(1).toBuilder().setId("first").build());
    requests.onNext(good(2).toBuilder().setId("second").build());
    requests.onNext(ofSize(LIMIT + 100));
    requests.onNext(good(1).toBuilder().setId("after").build());
    requests.onCompleted();
    Status status = end.get(60, TimeUnit.SECONDS);
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
    assertTrue(status.getDescription().contains("ModelStreamInfer: a message of " + (LIMIT + 100) + " bytes"),
        status.getDescription());
    assertEquals(List.of("first", "second"), answers.stream().map(a -> a.getInferResponse().getId()).toList());
    answers.forEach(a -> assertEquals("", a.getErrorMessage()));
    assertEquals(List.of(1L, 3L), kserve.modelInfer(good(1)).getOutputs(0).getShapeList());
  }

  @Test
  void anUploadWithAnOversizedChunkIsAbandonedAndItsTensorStaysUsable() throws Exception {
    try (VnrtClient client = VnrtClient.connect(server.targets().getFirst());
        Session session = client.openSession("limits");
        DeviceTensor t = session.allocate(TensorSpec.raw(8L << 20), 0)) {
      Metadata headers = new Metadata();
      headers.put(Session.SESSION_ID_KEY, session.id());
      CompletableFuture<Status> end = new CompletableFuture<>();
      StreamObserver<WriteTensorRequest> chunks = MemoryGrpc.newStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .writeTensor(new StreamObserver<>() {
            @Override
            public void onNext(WriteTensorResponse r) {
              end.complete(Status.OK);
            }

            @Override
            public void onError(Throwable e) {
              end.complete(Status.fromThrowable(e));
            }

            @Override
            public void onCompleted() {
              end.complete(Status.OK);
            }
          });
      chunks.onNext(WriteTensorRequest.newBuilder().setHandle(t.handle()).setTotalBytes(8L << 20)
          .setData(ByteString.copyFrom(new byte[1 << 20])).build());
      chunks.onNext(WriteTensorRequest.newBuilder().setOffsetBytes(1 << 20)
          .setData(ByteString.copyFrom(new byte[5 << 20])).build());
      chunks.onCompleted();
      Status status = end.get(60, TimeUnit.SECONDS);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
      assertTrue(status.getDescription().contains("WriteTensor: a message of"), status.getDescription());
      // the stream let go of the tensor: it can be written again, in chunks that fit
      byte[] bytes = new byte[8 << 20];
      bytes[12345] = 7;
      t.write(java.lang.foreign.MemorySegment.ofArray(bytes));
      byte[] back = new byte[8 << 20];
      t.read(java.lang.foreign.MemorySegment.ofArray(back));
      assertEquals(7, back[12345]);
    }
  }

  @Test
  void aMessagePastWhatTheTransportReadsIsCutOffWithALogLineNotAStackTrace() {
    int transport = MessageSizeLimit.transportLimit(LIMIT);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> kserve.modelInfer(ofSize(transport + 1L)));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
    assertEquals(List.of(1L, 3L), kserve.modelInfer(good(1)).getOutputs(0).getShapeList());
    // the transport logs on its own thread, which may come after the client has its status
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    String lines = log.toString(StandardCharsets.UTF_8);
    while (!warned(lines) && System.nanoTime() < until) {
      Thread.onSpinWait();
      lines = log.toString(StandardCharsets.UTF_8);
    }
    assertFalse(lines.contains("\tat io.grpc"), "no stack trace in the daemon's log:\n" + lines);
    assertTrue(warned(lines), lines);
  }

  private static boolean warned(String lines) {
    return lines.lines().anyMatch(l -> l.contains("[WARN]") && l.contains("exceeds maximum size"));
  }

  @Test
  void deflateIsAcceptedBesideGzip() {
    for (String encoding : List.of("deflate", "gzip")) {
      ModelInferResponse r = kserve.withCompression(encoding).modelInfer(good(3));
      assertEquals(List.of(3L, 3L), r.getOutputs(0).getShapeList(), encoding);
    }
    // a compressed message over the limit once decompressed is refused the same way
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> kserve.withCompression("deflate").modelInfer(ofSize(LIMIT + 1)));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("over the daemon's message size limit"),
        e.getStatus().getDescription());
  }
}
