package io.vnrt.runtime.server;

import io.grpc.stub.StreamObserver;
import io.vnrt.proto.v1.CloseSessionRequest;
import io.vnrt.proto.v1.CloseSessionResponse;
import io.vnrt.proto.v1.CoreInfo;
import io.vnrt.proto.v1.DeviceInfo;
import io.vnrt.proto.v1.GetRuntimeInfoRequest;
import io.vnrt.proto.v1.GetRuntimeInfoResponse;
import io.vnrt.proto.v1.KeepAliveRequest;
import io.vnrt.proto.v1.KeepAliveResponse;
import io.vnrt.proto.v1.OpenSessionRequest;
import io.vnrt.proto.v1.OpenSessionResponse;
import io.vnrt.proto.v1.RuntimeGrpc;
import io.vnrt.proto.v1.RuntimeLimits;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Device;
import io.vnrt.runtime.memory.MemoryStats;
import io.vnrt.runtime.session.ReclaimReport;
import io.vnrt.runtime.session.Session;
import java.time.Duration;
import java.util.Set;

/** vnrt.v1.Runtime: what the daemon is, and session leases. */
final class RuntimeService extends RuntimeGrpc.RuntimeImplBase {
  /** Methods callable without a session. */
  static final Set<String> NO_SESSION = Set.of(
      RuntimeGrpc.getGetRuntimeInfoMethod().getFullMethodName(),
      RuntimeGrpc.getOpenSessionMethod().getFullMethodName());

  private final VnrtRuntime runtime;
  private final long maxMessageBytes;

  RuntimeService(VnrtRuntime runtime, long maxMessageBytes) {
    this.runtime = runtime;
    this.maxMessageBytes = maxMessageBytes;
  }

  @Override
  public void getRuntimeInfo(GetRuntimeInfoRequest request, StreamObserver<GetRuntimeInfoResponse> response) {
    Calls.unary(response, () -> {
      GetRuntimeInfoResponse.Builder info = GetRuntimeInfoResponse.newBuilder()
          .setVersion(VnrtRuntime.VERSION)
          .setLimits(RuntimeLimits.newBuilder()
              .setMaxMessageBytes(maxMessageBytes)
              .setMaxModelBytes(runtime.models().maxModelBytes())
              .setStreamChunkBytes(runtime.config().streamChunkBytes())
              .setMaxSessionTtlMs(runtime.config().maxLeaseTtl().toMillis()))
          .setOpenSessions(runtime.sessions().openCount())
          .setUptimeMs(runtime.uptime().toMillis())
          .setEngine(EngineInfos.current(runtime.kernelWarmup()));
      for (Device device : runtime.devices().devices()) {
        MemoryStats stats = device.pool().stats();
        DeviceInfo.Builder d = DeviceInfo.newBuilder()
            .setDeviceId(device.id())
            .setProfile(device.spec().profile())
            .setHbmCapacityBytes(stats.capacityBytes())
            .setHbmUsedBytes(stats.usedBytes());
        for (int core : device.spec().coreIds()) {
          d.addCores(CoreInfo.newBuilder()
              .setCoreId(core)
              .setLocalIndex(device.spec().localIndex(core))
              .setHbmUsedBytes(stats.byCore().getOrDefault(core, 0L)));
        }
        info.addDevices(d);
      }
      return info.build();
    });
  }

  @Override
  public void openSession(OpenSessionRequest request, StreamObserver<OpenSessionResponse> response) {
    Calls.unary(response, () -> {
      Session s = runtime.sessions().open(request.getClientName(), request.getLeaseTtlMs());
      return OpenSessionResponse.newBuilder()
          .setSessionId(s.id())
          .setLeaseTtlMs(Duration.ofNanos(s.ttlNanos()).toMillis())
          .build();
    });
  }

  @Override
  public void keepAlive(KeepAliveRequest request, StreamObserver<KeepAliveResponse> response) {
    Calls.unary(response, () -> KeepAliveResponse.newBuilder()
        .setRemainingMs(Duration.ofNanos(SessionInterceptor.current().renew()).toMillis())
        .build());
  }

  @Override
  public void closeSession(CloseSessionRequest request, StreamObserver<CloseSessionResponse> response) {
    Calls.unary(response, () -> {
      ReclaimReport report = runtime.sessions().close(SessionInterceptor.current());
      return CloseSessionResponse.newBuilder()
          .setTensorsFreed(report.tensors())
          .setModelsUnloaded(report.models())
          .setBytesFreed(report.bytes())
          .build();
    });
  }
}
