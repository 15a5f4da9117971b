package io.vnrt.runtime.exec;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** A device type the daemon emulates, with its real core count and HBM size per device. */
public enum Profile {
  /** The host itself: one core per available processor, 4 GiB of HBM. */
  CPU(-1, 4L << 30),
  /** AWS Inferentia2: 2 NeuronCores and 32 GiB of HBM per chip. */
  INF2(2, 32L << 30),
  /** AWS Trainium: 2 NeuronCores and 32 GiB of HBM per chip. */
  TRN1(2, 32L << 30),
  /** AWS Trainium2: 8 NeuronCores and 96 GiB of HBM per chip. */
  TRN2(8, 96L << 30);

  private final int coresPerDevice;
  private final long hbmBytesPerDevice;

  Profile(int coresPerDevice, long hbmBytesPerDevice) {
    this.coresPerDevice = coresPerDevice;
    this.hbmBytesPerDevice = hbmBytesPerDevice;
  }

  /** Cores of one device (for {@link #CPU}, the available processors). */
  public int coresPerDevice() {
    return coresPerDevice > 0 ? coresPerDevice : Runtime.getRuntime().availableProcessors();
  }

  /** HBM capacity of one device in bytes. */
  public long hbmBytesPerDevice() {
    return hbmBytesPerDevice;
  }

  /** The lower-case name used on the command line and in DeviceInfo.profile. */
  public String displayName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses "cpu", "inf2", "trn1" or "trn2" (any case). */
  public static Profile parse(String text) {
    for (Profile p : values()) {
      if (p.displayName().equalsIgnoreCase(text.trim())) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown profile '" + text + "': expected one of "
        + Arrays.stream(values()).map(Profile::displayName).collect(Collectors.joining(", ")));
  }
}
