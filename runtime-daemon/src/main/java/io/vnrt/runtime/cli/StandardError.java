package io.vnrt.runtime.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
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
 * main, that descriptor becomes stderr again (dup2), so the filter reaches the end of its input
 * and exits, and nothing the program writes goes through it; the filter, a child of this process
 * since bin/vnrt exec'd the JVM, is then reaped (VNRT_STDERR_FILTER_PID) so that it does not stay
 * behind as a zombie. Without the variables this does nothing.
 */
final class StandardError {
  /** The environment variable naming the descriptor that holds the real stderr. */
  static final String FD_ENV = "VNRT_STDERR_FD";
  /** The environment variable holding the filter's process id. */
  static final String FILTER_PID_ENV = "VNRT_STDERR_FILTER_PID";
  private static final int STDERR = 2;

  private StandardError() {
  }

  /** Makes the descriptor named by VNRT_STDERR_FD stderr again and closes it; false when there is none or it fails. */
  static boolean reclaim() {
    Optional<Integer> named = number(FD_ENV).filter(fd -> fd > STDERR);
    if (named.isEmpty()) {
      return false;
    }
    int fd = named.get();
    try {
      System.err.flush();
      if ((int) call("dup2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT)).invokeExact(fd, STDERR) < 0) {
        return false;
      }
      int closed = (int) call("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT)).invokeExact(fd);
      number(FILTER_PID_ENV).filter(pid -> pid > 1).ifPresent(StandardError::reap);
      return closed == 0;
    } catch (Throwable e) {
      // stderr then stays on the filter, which passes everything but the one warning: still correct
      return false;
    }
  }

  /** Waits for the filter to exit, off the main thread: it exits as soon as it sees the end of its input. */
  private static void reap(int pid) {
    MethodHandle waitpid = call("waitpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    Thread.ofPlatform().daemon().name("vnrt-stderr-filter").start(() -> {
      try {
        // the result is the pid, or -1 when it was not a child after all: nothing to do either way
        int reaped = (int) waitpid.invokeExact(pid, MemorySegment.NULL, 0);
      } catch (Throwable e) {
        // nothing to do: at worst the exited filter stays a zombie until this process ends
      }
    });
  }

  private static Optional<Integer> number(String variable) {
    return Optional.ofNullable(System.getenv(variable)).filter(v -> v.matches("[0-9]{1,9}")).map(Integer::parseInt);
  }

  // Native access for three libc calls; bin/vnrt passes --enable-native-access=ALL-UNNAMED.
  @SuppressWarnings("restricted")
  private static MethodHandle call(String name, FunctionDescriptor descriptor) {
    Linker linker = Linker.nativeLinker();
    MemorySegment symbol = linker.defaultLookup().find(name)
        .orElseThrow(() -> new UnsupportedOperationException("no " + name + " in the C library"));
    return linker.downcallHandle(symbol, descriptor);
  }
}
