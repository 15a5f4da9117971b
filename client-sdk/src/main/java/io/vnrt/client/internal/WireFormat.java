package io.vnrt.client.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * How host elements become tensor bytes: the host layout (native order, as in a Java array)
 * and the wire layout (little-endian, unaligned, as stored in the tensor).
 *
 * @param host layout of an element in the host segment
 * @param wire layout of an element in the tensor's bytes
 */
public record WireFormat(ValueLayout host, ValueLayout wire) {
  /** Plain bytes, copied as they are. */
  public static final WireFormat BYTES = new WireFormat(ValueLayout.JAVA_BYTE, ValueLayout.JAVA_BYTE);
  /** float elements of a {@code float[]}. */
  public static final WireFormat FLOATS = new WireFormat(ValueLayout.JAVA_FLOAT,
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
  /** long elements of a {@code long[]}. */
  public static final WireFormat LONGS = new WireFormat(ValueLayout.JAVA_LONG,
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));

  /** A thread that never runs: a segment it may access is accessible from every thread (not confined). */
  private static final Thread ANY_OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

  /** True when {@code segment} may be used from gRPC's threads. */
  public static boolean isShared(MemorySegment segment) {
    return segment.isAccessibleBy(ANY_OTHER_THREAD);
  }

  /** Fails unless {@code segment} may be used from gRPC's threads, as asynchronous calls do. */
  public static void requireShared(MemorySegment segment, String operation) {
    if (!isShared(segment)) {
      throw new IllegalArgumentException("an asynchronous " + operation + " needs a segment usable from any thread "
          + "(a heap segment, Arena.ofShared(), Arena.ofAuto() or Arena.global()); this one is confined to its "
          + "thread: use the blocking " + operation + " instead");
    }
  }

  /**
   * True when the tensor bytes can be sent straight from {@code segment} without a copy: its
   * layout already is the wire's (bytes, or a little-endian host), it is usable from any thread,
   * and it can be viewed as a ByteBuffer (native, or a heap byte[]).
   */
  public boolean canAlias(MemorySegment segment) {
    boolean sameBytes = isByteCopy();
    boolean bufferable = segment.isNative() || segment.heapBase().map(base -> base instanceof byte[]).orElse(false);
    return sameBytes && bufferable && segment.isAccessibleBy(ANY_OTHER_THREAD);
  }

  /** True when host and wire bytes are the same (bytes, or elements on a little-endian host): a byte copy converts. */
  public boolean isByteCopy() {
    return this == BYTES || ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
  }

  /** Bytes per element. */
  public int elementBytes() {
    return (int) host.byteSize();
  }

  /** Copies {@code bytes} from the host segment at {@code hostOffset} into tensor-format bytes. */
  public void toWire(MemorySegment hostSrc, long hostOffset, MemorySegment wireDst, long bytes) {
    MemorySegment.copy(hostSrc, host, hostOffset, wireDst, wire, 0, bytes / elementBytes());
  }

  /** Copies {@code bytes} of tensor-format bytes into the host segment at {@code hostOffset}. */
  public void fromWire(MemorySegment wireSrc, MemorySegment hostDst, long hostOffset, long bytes) {
    MemorySegment.copy(wireSrc, wire, 0, hostDst, host, hostOffset, bytes / elementBytes());
  }
}
