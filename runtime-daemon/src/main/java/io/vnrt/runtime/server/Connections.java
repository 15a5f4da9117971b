package io.vnrt.runtime.server;

import io.grpc.Attributes;
import io.grpc.ServerTransportFilter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Gives every transport (one client connection) an id in its attributes, and tells listeners when one ends:
 * what a KServe client registers lives with its connection, unseen by other clients and gone when it closes.
 */
final class Connections extends ServerTransportFilter {
  /** The connection's id, in every call's attributes. */
  static final Attributes.Key<Long> ID = Attributes.Key.create("vnrt-connection-id");

  private final AtomicLong next = new AtomicLong();
  private final List<LongConsumer> onClose = new CopyOnWriteArrayList<>();

  /** Runs {@code listener} with a connection's id when the connection ends. */
  void onClose(LongConsumer listener) {
    onClose.add(listener);
  }

  @Override
  public Attributes transportReady(Attributes attributes) {
    return attributes.toBuilder().set(ID, next.incrementAndGet()).build();
  }

  @Override
  public void transportTerminated(Attributes attributes) {
    // a connection that ended before it was ready (a refused or failed handshake) has no attributes
    Long id = attributes == null ? null : attributes.get(ID);
    if (id != null) {
      onClose.forEach(l -> l.accept(id));
    }
  }
}
