package io.vnrt.runtime.server;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.vnrt.client.internal.AliasingMarshaller;
import io.vnrt.client.internal.BulkMarshaller;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Service definitions with some of their methods' requests parsed by an {@link AliasingMarshaller}
 * and some of their responses written by a {@link BulkMarshaller}.
 */
final class Marshalling {
  private Marshalling() {
  }

  /**
   * {@code service} with the requests of {@code aliasedRequests} (full method names) parsed aliasing
   * the transport's buffers and the responses of {@code bulkResponses} written from the memory
   * their bytes fields wrap; its schema descriptor is kept, for reflection.
   */
  static ServerServiceDefinition withMarshallers(ServerServiceDefinition service, Set<String> aliasedRequests,
      Set<String> bulkResponses) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<?, ?>> definitions = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      String name = m.getMethodDescriptor().getFullMethodName();
      ServerMethodDefinition<?, ?> d = marshalled(m, aliasedRequests.contains(name), bulkResponses.contains(name));
      definitions.add(d);
      descriptor.addMethod(d.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    definitions.forEach(out::addMethod);
    return out.build();
  }

  @SuppressWarnings("unchecked")
  private static <Q, R> ServerMethodDefinition<Q, R> marshalled(ServerMethodDefinition<Q, R> m, boolean aliasRequests,
      boolean bulkResponses) {
    if (!aliasRequests && !bulkResponses) {
      return m;
    }
    MethodDescriptor<Q, R> method = m.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> requests = method.getRequestMarshaller();
    if (aliasRequests) {
      Q prototype = ((MethodDescriptor.PrototypeMarshaller<Q>) requests).getMessagePrototype();
      requests = (MethodDescriptor.Marshaller<Q>) AliasingMarshaller.of((Message) prototype);
    }
    MethodDescriptor.Marshaller<R> responses = method.getResponseMarshaller();
    if (bulkResponses) {
      R prototype = ((MethodDescriptor.PrototypeMarshaller<R>) responses).getMessagePrototype();
      responses = (MethodDescriptor.Marshaller<R>) BulkMarshaller.of((Message) prototype);
    }
    return ServerMethodDefinition.create(method.toBuilder(requests, responses).build(), m.getServerCallHandler());
  }
}
