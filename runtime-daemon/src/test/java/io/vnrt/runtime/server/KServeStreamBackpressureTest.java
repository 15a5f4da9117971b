package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelStreamInferResponse;
import io.vnrt.proto.inference.RepositoryModelLoadRequest;
import io.vnrt.proto.inference.RepositoryModelLoadResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ModelStreamInfer against a client that stops reading: the daemon reads no more requests than
 * its window while the transport is not ready, however many the client sends, so what it buffers
 * is bounded; reading resumes when the transport is ready again.
 */
class KServeStreamBackpressureTest {
  /** A call whose readiness the test sets: not ready is a client that stopped reading. */
  private static final class StalledCall extends ServerCallStreamObserver<ModelStreamInferResponse> {
    final AtomicInteger requested = new AtomicInteger();
    final AtomicInteger sent = new AtomicInteger();
    volatile boolean ready;
    volatile Runnable onReady = () -> { };

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable r) {
      onReady = r;
    }

    @Override
    public void request(int count) {
      requested.addAndGet(count);
    }

    @Override
    public void disableAutoRequest() {
    }

    @Override
    public void disableAutoInboundFlowControl() {
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable r) {
    }

    @Override
    public void setCompression(String compression) {
    }

    @Override
    public void setMessageCompression(boolean enable) {
    }

    @Override
    public void onNext(ModelStreamInferResponse value) {
      assertTrue(value.getErrorMessage().isEmpty(), value.getErrorMessage());
      sent.incrementAndGet();
    }

    @Override
    public void onError(Throwable t) {
    }

    @Override
    public void onCompleted() {
    }
  }

  @Test
  void aReaderThatStopsReadingHoldsTheDaemonToItsWindow(@TempDir Path repository) throws Exception {
    Files.createDirectories(repository.resolve("dense/1"));
    Files.write(repository.resolve("dense/1/model.onnx"), TestModels.dense());
    try (VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1,
        Optional.of(1), Optional.empty(), Optional.of(64L << 20), Optional.empty())))) {
      KServeService kserve = new KServeService(new KServeFrontEnd(runtime, Optional.of(repository), Duration.ZERO));
      CompletableFuture<RepositoryModelLoadResponse> loaded = new CompletableFuture<>();
      kserve.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("dense").build(),
          AbstractEndToEndTest.observer(loaded));
      loaded.get(30, TimeUnit.SECONDS);

      StalledCall call = new StalledCall();
      StreamObserver<ModelInferRequest> requests = kserve.modelStreamInfer(call);
      int window = KServeService.STREAM_IN_FLIGHT;
      assertEquals(window, call.requested.get(), "the first reads are the window");
      ModelInferRequest request = AbstractKServeEndToEndTest.denseRequest(AbstractKServeEndToEndTest.X, 2).build();
      // the client sends what it was allowed; every answer finds the transport full
      for (int i = 0; i < window; i++) {
        requests.onNext(request);
      }
      AbstractEndToEndTest.awaitTrue(() -> call.sent.get() == window, "the window's answers were sent");
      assertEquals(window, call.requested.get(), "no request is read while the client does not read");

      call.ready = true;
      call.onReady.run();
      assertEquals(2 * window, call.requested.get(), "the owed reads once the client reads again");
      requests.onNext(request);
      AbstractEndToEndTest.awaitTrue(() -> call.sent.get() == window + 1, "a ready transport answers at once");
      assertEquals(2 * window + 1, call.requested.get());
      requests.onCompleted();
    }
  }
}
