package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * A model arriving in pieces (a LoadModel stream): bytes go into a buffer that grows (doubling, up to the size the
 * header announced) as they arrive, each growth charged to the registry's upload budgets, so a header alone
 * reserves nothing; {@link #finish()} loads once exactly the announced bytes arrived. {@link #close()} without
 * finishing (a cancelled or idle stream) leaves nothing behind.
 */
public final class ModelUpload implements AutoCloseable {
  private final ModelRegistry registry;
  private final io.vnrt.runtime.session.Session session;
  private final LoadSpec spec;
  /** The first buffer (or the whole model, when smaller). */
  private static final int FIRST_BUFFER_BYTES = 1 << 20;

  private byte[] buffer = new byte[0];
  private boolean open = true;
  private int received;

  ModelUpload(ModelRegistry registry, io.vnrt.runtime.session.Session session, LoadSpec spec) {
    this.registry = registry;
    this.session = session;
    this.spec = spec;
  }

  /** Makes room for n more bytes, charging the growth; RESOURCE_EXHAUSTED (the upload discarded) if refused. */
  private void reserve(int n) {
    long need = (long) received + n;
    if (need <= buffer.length) {
      return;
    }
    long capacity = Math.min(spec.sizeBytes(), Math.max(need, Math.max(FIRST_BUFFER_BYTES, 2L * buffer.length)));
    try {
      registry.chargeUpload(session, spec.name(), capacity - buffer.length);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    try {
      buffer = Arrays.copyOf(buffer, Math.toIntExact(capacity));
    } catch (OutOfMemoryError e) {
      registry.releaseUpload(session, capacity - buffer.length);
      close();
      throw VnrtRuntimeException.exhausted("model '" + spec.name() + "': the daemon's heap cannot hold a buffer of "
          + capacity + " bytes for it now", Map.of("model_size_bytes", String.valueOf(spec.sizeBytes())), null);
    }
  }

  /** What is being loaded. */
  public LoadSpec spec() {
    return spec;
  }

  /** Bytes received so far. */
  public long receivedBytes() {
    return received;
  }

  /** Appends bytes; INVALID_ARGUMENT (and the upload is discarded) when they exceed the size announced. */
  public void write(ByteBuffer bytes) {
    if (!open) {
      throw new IllegalStateException("the upload is finished or closed");
    }
    int n = bytes.remaining();
    if (n > spec.sizeBytes() - received) {
      long total = (long) received + n;
      close();
      throw VnrtRuntimeException.invalid("model '" + spec.name() + "': the stream carries more than the "
          + spec.sizeBytes() + " bytes its header announced (at least " + total + ")", "model_size_bytes",
          spec.sizeBytes(), "received_bytes", total);
    }
    reserve(n);
    bytes.get(buffer, received, n);
    received += n;
  }

  /** Loads the model once every announced byte arrived; INVALID_ARGUMENT if some are missing. */
  public ModelEntry finish() {
    return finish(LoadWatch.NONE);
  }

  /** Like {@link #finish()} for a caller that may cancel or have a deadline ({@link ModelRegistry#load(io.vnrt.runtime.session.Session, LoadSpec, byte[], LoadWatch)}). */
  public ModelEntry finish(LoadWatch watch) {
    if (!open) {
      throw new IllegalStateException("the upload is finished or closed");
    }
    byte[] model = buffer;
    open = false;
    buffer = null;
    try {
      if (received != spec.sizeBytes()) {
        throw VnrtRuntimeException.invalid("model '" + spec.name() + "': the stream ended after " + received
            + " bytes, but its header announced " + spec.sizeBytes(), "model_size_bytes", spec.sizeBytes(),
            "received_bytes", received);
      }
      return registry.load(session, spec, model, watch);
    } finally {
      registry.releaseUpload(session, model.length);
    }
  }

  /** Discards the bytes received (no-op after finish). */
  @Override
  public void close() {
    if (open) {
      open = false;
      registry.releaseUpload(session, buffer.length);
      buffer = null;
    }
  }
}
