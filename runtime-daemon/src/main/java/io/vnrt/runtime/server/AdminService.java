package io.vnrt.runtime.server;

import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.AdminGrpc;
import io.vnrt.proto.v1.ListSessionsRequest;
import io.vnrt.proto.v1.ListSessionsResponse;
import io.vnrt.proto.v1.QuotaUsage;
import io.vnrt.proto.v1.ReclaimSessionRequest;
import io.vnrt.proto.v1.ReclaimSessionResponse;
import io.vnrt.proto.v1.SessionSummary;
import io.vnrt.runtime.session.QuotaLimits;
import io.vnrt.runtime.session.ReclaimReport;
import io.vnrt.runtime.session.Session;
import io.vnrt.runtime.session.SessionQuota;
import io.vnrt.runtime.session.SessionRegistry;
import io.vnrt.runtime.session.Ticker;
import java.util.Comparator;

/** The Admin service: every session, and reclaiming one. {@link AuthInterceptor} admits only the admin token. */
final class AdminService extends AdminGrpc.AdminImplBase {
  private final SessionRegistry registry;
  private final Ticker ticker;

  AdminService(SessionRegistry registry, Ticker ticker) {
    this.registry = registry;
    this.ticker = ticker;
  }

  @Override
  public void listSessions(ListSessionsRequest request, StreamObserver<ListSessionsResponse> response) {
    Calls.unary(response, () -> {
      long now = ticker.nanos();
      ListSessionsResponse.Builder out = ListSessionsResponse.newBuilder().setMaxSessions(registry.maxSessions());
      registry.sessions().stream()
          .sorted(Comparator.comparingLong((Session s) -> -s.idleNanos(now)).thenComparing(Session::publicId))
          .forEach(s -> out.addSessions(summary(s, now)));
      return out.build();
    });
  }

  private static SessionSummary summary(Session s, long now) {
    SessionQuota q = s.quota();
    QuotaLimits limits = q.limits();
    return SessionSummary.newBuilder()
        .setSessionId(s.publicId())
        .setClientName(s.clientName())
        .setTensorCount(s.tensors().size())
        .setActiveCalls(s.activeCalls())
        .setIdleMs(Math.max(0, s.idleNanos(now)) / 1_000_000)
        .setLeaseTtlMs(s.ttlNanos() / 1_000_000)
        .addQuotas(usage(SessionQuota.HBM_BYTES, q.hbmBytes(), limits.hbmBytes()))
        .addQuotas(usage(SessionQuota.MODELS, q.models(), limits.models()))
        .addQuotas(usage(SessionQuota.EXECUTIONS_IN_FLIGHT, q.executionsInFlight(), limits.executionsInFlight()))
        .build();
  }

  private static QuotaUsage usage(String name, long used, long limit) {
    return QuotaUsage.newBuilder().setName(name).setUsed(used).setLimit(limit).build();
  }

  @Override
  public void reclaimSession(ReclaimSessionRequest request, StreamObserver<ReclaimSessionResponse> response) {
    Calls.unary(response, () -> {
      ReclaimReport report = registry.reclaim(request.getSessionId());
      return ReclaimSessionResponse.newBuilder().setTensorsFreed(report.tensors()).setBytesFreed(report.bytes())
          .build();
    });
  }
}
