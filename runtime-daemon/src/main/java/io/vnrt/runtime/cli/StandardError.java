package io.vnrt.runtime.cli;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Takes back the process's real stderr from bin/vnrt's start-up filter. The JVM prints "WARNING:
 * Using incubator modules: jdk.incubator.vector" before main on every start and has no switch to
 * turn that off, so bin/vnrt starts the JVM with stderr through a filter that drops that one line
 * and passes the real stderr as another descriptor, named by VNRT_STDERR_FD. Here, first thing in
 * main, that descriptor becomes stderr again (dup2), so the filter sees its input end and exits,
 * and nothing the program writes goes through it. Without the variable this does nothing.
 */
final class StandardError {
  /** The environment variable naming the descriptor that holds the real stderr. */
  static final String FD_ENV = "VNRT_STDERR_FD";
  private static final int STDERR = 2;

  private StandardError() {
  }

  /** Makes the descriptor named by VNRT_STDERR_FD stderr again and closes it; false when there is none or it fails. */
  static boolean reclaim() {
    Optional<Integer> fd = Optional.ofNullable(System.getenv(FD_ENV)).filter(v -> v.matches("[3-9]"))
        .map(Integer::parseInt);
    if (fd.isEmpty()) {
      return false;
    }
    try {
      System.err.flush();
      if ((int) call("dup2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT)).invokeExact(fd.get(), STDERR) < 0) {
        return false;
      }
      int closed = (int) call("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT)).invokeExact(fd.get());
      return closed == 0;
    } catch (Throwable e) {
      // stderr then stays on the filter, which passes everything but the one warning: still correct
      return false;
    }
  }

  // Native access for two libc calls; bin/vnrt passes --enable-native-access=ALL-UNNAMED.
  @SuppressWarnings("restricted")
  private static MethodHandle call(String name, FunctionDescriptor descriptor) {
    Linker linker = Linker.nativeLinker();
    MemorySegment symbol = linker.defaultLookup().find(name)
        .orElseThrow(() -> new UnsupportedOperationException("no " + name + " in the C library"));
    return linker.downcallHandle(symbol, descriptor);
  }
}
