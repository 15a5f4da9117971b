package io.vnrt.runtime;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failure the runtime explains to its caller: a kind (what went wrong, mapped to a gRPC
 * status and NRT code at the server's edge), a message a user can act on, and structured facts.
 */
public final class VnrtRuntimeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, independent of any transport. */
  public enum Kind {
    /** The request was malformed: a bad size, type, shape, offset, device or core. */
    INVALID_ARGUMENT,
    /** A handle that is unknown, freed or owned by another session. */
    NOT_FOUND,
    /** Out of memory or another limit. */
    RESOURCE_EXHAUSTED,
    /** The session is missing, unknown, closed or expired. */
    SESSION_CLOSED,
    /** The runtime is shutting down. */
    UNAVAILABLE,
    /** An execution's input (or output destination) has the wrong name, dtype, shape or size. */
    EXEC_BAD_INPUT,
    /** The core group's queue is full. */
    QUEUE_FULL,
    /** A core group was asked for that the device cannot give. */
    NOT_ENOUGH_CORES,
    /** The deadline passed before the work finished (or started). */
    DEADLINE_EXCEEDED,
    /** The model uses operators or features the runtime does not support. */
    UNSUPPORTED,
    /** The caller went away or cancelled. */
    CANCELLED,
    /** The caller may not touch what it named (a file it does not own, the daemon's own memory). */
    PERMISSION_DENIED
  }

  private final Kind kind;
  private final Map<String, String> context;

  private VnrtRuntimeException(Kind kind, String message, Map<String, String> context, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.context = Map.copyOf(context);
  }

  /** A refusal to touch something the caller may not; {@code facts} are alternating keys and values. */
  public static VnrtRuntimeException denied(String message, Object... facts) {
    return of(Kind.PERMISSION_DENIED, message, facts);
  }

  /** A malformed request; {@code facts} are alternating keys and values. */
  public static VnrtRuntimeException invalid(String message, Object... facts) {
    return new VnrtRuntimeException(Kind.INVALID_ARGUMENT, message, map(facts), null);
  }

  /** An unknown, freed or foreign handle. */
  public static VnrtRuntimeException notFound(String message, Object... facts) {
    return new VnrtRuntimeException(Kind.NOT_FOUND, message, map(facts), null);
  }

  /** A limit was reached. */
  public static VnrtRuntimeException exhausted(String message, Map<String, String> context, Throwable cause) {
    return new VnrtRuntimeException(Kind.RESOURCE_EXHAUSTED, message, context, cause);
  }

  /** The session cannot be used. */
  public static VnrtRuntimeException sessionClosed(String message, Object... facts) {
    return new VnrtRuntimeException(Kind.SESSION_CLOSED, message, map(facts), null);
  }

  /** The runtime is stopping. */
  public static VnrtRuntimeException unavailable(String message) {
    return new VnrtRuntimeException(Kind.UNAVAILABLE, message, Map.of(), null);
  }

  /** A failure of another kind; {@code facts} are alternating keys and values. */
  public static VnrtRuntimeException of(Kind kind, String message, Object... facts) {
    return new VnrtRuntimeException(kind, message, map(facts), null);
  }

  /** A failure of another kind with structured context. */
  public static VnrtRuntimeException of(Kind kind, String message, Map<String, String> context) {
    return new VnrtRuntimeException(kind, message, context, null);
  }

  private static Map<String, String> map(Object... facts) {
    if (facts.length % 2 != 0) {
      throw new IllegalArgumentException("facts must be key/value pairs");
    }
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < facts.length; i += 2) {
      m.put(String.valueOf(facts[i]), String.valueOf(facts[i + 1]));
    }
    return m;
  }

  /** What went wrong. */
  public Kind kind() {
    return kind;
  }

  /** Structured facts, e.g. "requested_bytes" -> "1024". */
  public Map<String, String> context() {
    return context;
  }
}
