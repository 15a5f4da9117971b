package io.vnrt.runtime.server;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.StatusRuntimeException;
import io.vnrt.proto.v1.MonitorGrpc;
import java.util.List;

/**
 * The services of the contract that later issues implement. Each is served (so reflection lists
 * it) and every method answers UNIMPLEMENTED naming what is missing and where it is planned.
 */
final class PlannedServices {
  private PlannedServices() {
  }

  /** Monitor (issue #5). */
  static List<ServerServiceDefinition> all() {
    return List.of(unimplemented(MonitorGrpc.getServiceDescriptor(), "issue #5"));
  }

  static ServerServiceDefinition unimplemented(ServiceDescriptor service, String plannedIn) {
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(service);
    for (MethodDescriptor<?, ?> method : service.getMethods()) {
      add(builder, method, plannedIn);
    }
    return builder.build();
  }

  private static <Q, R> void add(ServerServiceDefinition.Builder builder, MethodDescriptor<Q, R> method,
      String plannedIn) {
    String service = method.getServiceName();
    String shortService = service.startsWith("vnrt.v1.") ? service.substring("vnrt.v1.".length()) : service;
    String rpc = shortService + "." + method.getBareMethodName();
    builder.addMethod(method, (ServerCall<Q, R> call, Metadata headers) -> {
      // a fresh status each time: the transport writes into the trailers it is given
      StatusRuntimeException status = Statuses.unimplemented(rpc, plannedIn);
      call.close(status.getStatus(), status.getTrailers());
      return new ServerCall.Listener<>() {
      };
    });
  }
}
