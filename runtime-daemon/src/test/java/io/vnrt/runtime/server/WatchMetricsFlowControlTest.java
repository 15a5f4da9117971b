package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.WatchMetricsRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * WatchMetrics under client flow control, in-process (where the server is ready exactly when the
 * client has asked for a message): a slow client gets one message covering the periods it was
 * not ready for, never a backlog; shutting the server down ends the stream with UNAVAILABLE.
 */
class WatchMetricsFlowControlTest {
  @Test
  void aSlowClientSkipsPeriodsInsteadOfQueueingThem() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(16L << 20),
        Optional.empty());
    VnrtRuntime runtime = VnrtRuntime.start(RuntimeConfig.defaults().withTopology(topology));
    DaemonServer server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.empty(), Optional.empty(),
        Optional.of("watch-flow-control")));
    ManagedChannel channel = InProcessChannelBuilder.forName("watch-flow-control").build();
    LinkedBlockingQueue<MetricsSnapshot> received = new LinkedBlockingQueue<>();
    AtomicReference<ClientCallStreamObserver<WatchMetricsRequest>> call = new AtomicReference<>();
    AtomicReference<Throwable> ended = new AtomicReference<>();
    try {
      MonitorGrpc.newStub(channel).watchMetrics(WatchMetricsRequest.newBuilder().setPeriodMs(100).build(),
          new ClientResponseObserver<WatchMetricsRequest, MetricsSnapshot>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<WatchMetricsRequest> requests) {
              call.set(requests);
              requests.disableAutoRequestWithInitial(1);
            }

            @Override
            public void onNext(MetricsSnapshot value) {
              received.add(value);
            }

            @Override
            public void onError(Throwable t) {
              ended.set(t);
            }

            @Override
            public void onCompleted() {
              ended.set(new IllegalStateException("completed"));
            }
          });
      MetricsSnapshot first = received.poll(10, TimeUnit.SECONDS);
      assertTrue(first != null && first.getPeriodMs() >= 90, String.valueOf(first));
      // not asking for more: at least three periods pass with nothing sent or kept
      Thread.sleep(400);
      assertTrue(received.isEmpty(), "nothing arrives unasked");
      call.get().request(1);
      MetricsSnapshot second = received.poll(10, TimeUnit.SECONDS);
      assertTrue(second != null && second.getPeriodMs() >= 350,
          "one message covers the skipped periods: " + second);
      Thread.sleep(250);
      assertTrue(received.isEmpty(), "no backlog follows: " + received.size());
      assertNull(ended.get());
    } finally {
      call.get().request(1);
      server.close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (ended.get() == null && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      channel.shutdownNow();
      runtime.close();
    }
    assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(ended.get()).getCode(), String.valueOf(ended.get()));
  }
}
