package io.vnrt.runtime.models;

import io.vnrt.runtime.VnrtRuntimeException;
import java.nio.ByteBuffer;

/**
 * A model arriving in pieces (a LoadModel stream): bytes go straight into a buffer of the size the
 * header announced, so nothing grows; {@link #finish()} loads once exactly that many arrived.
 * {@link #close()} without finishing (a cancelled stream) leaves nothing behind.
 */
public final class ModelUpload implements AutoCloseable {
  private final ModelRegistry registry;
  private final io.vnrt.runtime.session.Session session;
  private final LoadSpec spec;
  private final Runnable release;
  private byte[] buffer;
  private int received;

  ModelUpload(ModelRegistry registry, io.vnrt.runtime.session.Session session, LoadSpec spec, Runnable release) {
    this.registry = registry;
    this.session = session;
    this.spec = spec;
    this.buffer = new byte[Math.toIntExact(spec.sizeBytes())];
    this.release = release;
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
    if (buffer == null) {
      throw new IllegalStateException("the upload is finished or closed");
    }
    int n = bytes.remaining();
    if (n > buffer.length - received) {
      long total = (long) received + n;
      close();
      throw VnrtRuntimeException.invalid("model '" + spec.name() + "': the stream carries more than the "
          + spec.sizeBytes() + " bytes its header announced (at least " + total + ")", "model_size_bytes",
          spec.sizeBytes(), "received_bytes", total);
    }
    bytes.get(buffer, received, n);
    received += n;
  }

  /** Loads the model once every announced byte arrived; INVALID_ARGUMENT if some are missing. */
  public ModelEntry finish() {
    return finish(LoadWatch.NONE);
  }

  /** Like {@link #finish()} for a caller that may cancel or have a deadline ({@link ModelRegistry#load(io.vnrt.runtime.session.Session, LoadSpec, byte[], LoadWatch)}). */
  public ModelEntry finish(LoadWatch watch) {
    if (buffer == null) {
      throw new IllegalStateException("the upload is finished or closed");
    }
    byte[] model = buffer;
    buffer = null;
    try {
      if (received != model.length) {
        throw VnrtRuntimeException.invalid("model '" + spec.name() + "': the stream ended after " + received
            + " bytes, but its header announced " + spec.sizeBytes(), "model_size_bytes", spec.sizeBytes(),
            "received_bytes", received);
      }
      return registry.load(session, spec, model, watch);
    } finally {
      release.run();
    }
  }

  /** Discards the bytes received (no-op after finish). */
  @Override
  public void close() {
    if (buffer != null) {
      buffer = null;
      release.run();
    }
  }
}
