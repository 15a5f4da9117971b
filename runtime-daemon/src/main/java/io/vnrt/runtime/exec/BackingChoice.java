package io.vnrt.runtime.exec;

import io.vnrt.runtime.memory.BackingCheck;
import io.vnrt.runtime.memory.HbmBacking;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** Where device HBM is mapped from: anonymous memory, or sparse files in a directory such as /dev/shm. */
public sealed interface BackingChoice {

  /** A private anonymous mapping per device (the default). */
  record Anonymous() implements BackingChoice {
    @Override
    public HbmBacking create(long capacityBytes) {
      return HbmBacking.anonymous(capacityBytes);
    }

    @Override
    public Optional<String> check(long totalCapacityBytes) {
      return BackingCheck.anonymousWarning(totalCapacityBytes);
    }

    @Override
    public boolean checkIsFatal() {
      return false;
    }

    @Override
    public String toString() {
      return "anonymous";
    }
  }

  /**
   * A sparse file per device in {@code dir}.
   *
   * @param dir an existing directory, e.g. /dev/shm
   */
  record Directory(Path dir) implements BackingChoice {
    @Override
    public HbmBacking create(long capacityBytes) throws IOException {
      return HbmBacking.file(dir, capacityBytes);
    }

    @Override
    public Optional<String> check(long totalCapacityBytes) {
      return BackingCheck.fileError(dir, totalCapacityBytes);
    }

    @Override
    public boolean checkIsFatal() {
      return true;
    }

    @Override
    public String toString() {
      return dir.toString();
    }
  }

  /** Parses the --hbm-backing value: "anonymous" or a directory path. */
  static BackingChoice parse(String text) {
    return text.equals("anonymous") ? new Anonymous() : new Directory(Path.of(text));
  }

  /** Maps one device's backing. */
  HbmBacking create(long capacityBytes) throws IOException;

  /** What the start-up check has to say about holding {@code totalCapacityBytes}, if anything. */
  Optional<String> check(long totalCapacityBytes);

  /** True when a check message means the daemon must not start (file backing), false for a warning. */
  boolean checkIsFatal();
}
