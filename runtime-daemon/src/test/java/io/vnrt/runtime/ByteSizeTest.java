package io.vnrt.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ByteSizeTest {

  @Test
  void parsesBinaryAndDecimalUnits() {
    assertEquals(512L << 20, ByteSize.parse("512MiB"));
    assertEquals(16L << 30, ByteSize.parse("16GiB"));
    assertEquals(16L << 30, ByteSize.parse("16g"));
    assertEquals(3L << 29, ByteSize.parse("1.5G"));
    assertEquals(4096, ByteSize.parse("4096"));
    assertEquals(64, ByteSize.parse("64 B"));
    assertEquals(2_000_000_000L, ByteSize.parse("2GB"));
    assertEquals(1L << 40, ByteSize.parse("1TiB"));
  }

  @Test
  void rejectsWhatIsNotASize() {
    for (String bad : new String[] {"", "GiB", "-1GiB", "12 parsecs", "1.2.3G"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad));
      assertTrue(e.getMessage().contains("expected a number with an optional unit, e.g. 512MiB"), e.getMessage());
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("9000000TiB")).getMessage()
        .contains("larger than 2^63-1 bytes"));
  }

  @Test
  void formatsForPeople() {
    assertEquals("0 B", ByteSize.format(0));
    assertEquals("1023 B", ByteSize.format(1023));
    assertEquals("48.0 MiB", ByteSize.format(48L << 20));
    assertEquals("1.5 GiB", ByteSize.format(3L << 29));
    assertEquals("96.0 GiB", ByteSize.format(96L << 30));
  }
}
