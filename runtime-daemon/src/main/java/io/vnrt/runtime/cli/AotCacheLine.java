package io.vnrt.runtime.cli;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;

/**
 * The daemon's start-up line about the JVM's ahead-of-time cache (bin/vnrt passes
 * {@code -XX:AOTCache} with {@code AOTMode=auto}, so a cache the JVM cannot use is skipped
 * silently): whether one was asked for and whether the JVM mapped it, which it reports by
 * "sharing" in {@code java.vm.info}; a cache that was asked for and not mapped is a warning.
 */
final class AotCacheLine {
  private static final String FLAG = "-XX:AOTCache=";

  /** The line, and whether it is a warning. */
  record Line(String text, boolean warning) {}

  private AotCacheLine() {}

  /** The line for this JVM. */
  static Line current() {
    return of(ManagementFactory.getRuntimeMXBean().getInputArguments(), System.getProperty("java.vm.info", ""));
  }

  /** The line for a JVM started with {@code jvmArgs} whose {@code java.vm.info} is {@code vmInfo}. */
  static Line of(List<String> jvmArgs, String vmInfo) {
    Optional<String> cache = jvmArgs.stream().filter(a -> a.startsWith(FLAG)).reduce((a, b) -> b)
        .map(a -> a.substring(FLAG.length()));
    if (cache.isEmpty()) {
      return new Line("AOT cache: none", false);
    }
    if (vmInfo.contains("sharing")) {
      // bin/vnrt replays only the classes: the training's method profiles made first executions slower
      boolean profiles = !jvmArgs.contains("-XX:-AOTReplayTraining");
      return new Line("AOT cache: " + cache.get() + (profiles ? " (classes and kernel profiles of the training run)"
          : " (the training run's classes, loaded and linked; its method profiles not replayed)"), false);
    }
    return new Line("AOT cache " + cache.get() + " could not be used (made by another JDK or other jars, or damaged; "
        + "java -Xlog:aot says why): started without it; `bin/vnrt aot-cache` remakes it", true);
  }
}
