package io.vnrt.runtime.server;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.vnrt.client.internal.AliasingMarshaller;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Service definitions with some of their methods' requests parsed by an {@link AliasingMarshaller}. */
final class Marshalling {
  private Marshalling() {
  }

  /**
   * {@code service} with the requests of {@code methods} (full method names) parsed aliasing the
   * transport's buffers; its schema descriptor is kept, for reflection.
   */
  static ServerServiceDefinition aliasingRequests(ServerServiceDefinition service, Set<String> methods) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<?, ?>> definitions = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<?, ?> d = methods.contains(m.getMethodDescriptor().getFullMethodName()) ? aliasing(m) : m;
      definitions.add(d);
      descriptor.addMethod(d.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    definitions.forEach(out::addMethod);
    return out.build();
  }

  @SuppressWarnings("unchecked")
  private static <Q, R> ServerMethodDefinition<Q, R> aliasing(ServerMethodDefinition<Q, R> m) {
    MethodDescriptor<Q, R> method = m.getMethodDescriptor();
    Q prototype = ((MethodDescriptor.PrototypeMarshaller<Q>) method.getRequestMarshaller()).getMessagePrototype();
    MethodDescriptor.Marshaller<Q> requests = (MethodDescriptor.Marshaller<Q>) AliasingMarshaller.of(
        (Message) prototype);
    return ServerMethodDefinition.create(method.toBuilder(requests, method.getResponseMarshaller()).build(),
        m.getServerCallHandler());
  }
}
