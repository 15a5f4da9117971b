package io.vnrt.runtime.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Input memory is reused for inputs of about its size, and no more than its bound is kept. */
class InputMemoryTest {
  private final InputMemory memory = new InputMemory();

  @Test
  void aGivenBackBufferServesTheNextInputOfAboutItsSizeSlicedToThatInput() {
    InputMemory.Lease first = memory.take(3 << 20);
    long address = first.segment().address();
    first.close();
    first.close(); // idempotent: the buffer is not kept twice
    InputMemory.Lease second = memory.take((3 << 20) - 5);
    InputMemory.Lease third = memory.take((3 << 20) - 5);
    assertEquals(address, second.segment().address(), "reused");
    assertEquals((3 << 20) - 5, second.segment().byteSize());
    assertNotEquals(address, third.segment().address(), "a buffer is leased to one input at a time");
    second.close();
    third.close();
  }

  @Test
  void aSmallInputDoesNotTakeALargeBuffer() {
    InputMemory.Lease large = memory.take(8 << 20);
    long address = large.segment().address();
    large.close();
    InputMemory.Lease small = memory.take(1 << 20);
    assertNotEquals(address, small.segment().address());
    small.close();
  }

  @Test
  void smallInputsSharePowerOfTwoBuffers() {
    assertEquals(4096, InputMemory.capacity(1));
    assertEquals(4096, InputMemory.capacity(4096));
    assertEquals(8192, InputMemory.capacity(4097));
    assertEquals(1 << 20, InputMemory.capacity((1 << 20) - 1));
    assertEquals(2 << 20, InputMemory.capacity((1 << 20) + 1));
    InputMemory.Lease first = memory.take(3136); // an mlp's 1x784 floats
    long address = first.segment().address();
    first.close();
    InputMemory.Lease again = memory.take(3136);
    assertEquals(address, again.segment().address(), "the next execution's input reuses the buffer");
    again.close();
  }

  @Test
  void atMostSoManyBuffersAreKept() {
    InputMemory.Lease[] leases = new InputMemory.Lease[InputMemory.KEPT_BUFFERS + 1];
    for (int i = 0; i < leases.length; i++) {
      leases[i] = memory.take(100);
    }
    MemorySegment last = leases[leases.length - 1].segment();
    for (InputMemory.Lease l : leases) {
      l.close();
    }
    assertFalse(last.scope().isAlive(), "one buffer past the count: freed");
  }

  @Test
  void buffersPastTheBoundAreFreed() {
    long size = InputMemory.KEPT_BYTES / 2;
    InputMemory.Lease a = memory.take(size);
    InputMemory.Lease b = memory.take(size);
    InputMemory.Lease c = memory.take(size);
    MemorySegment third = c.segment();
    a.close();
    b.close();
    c.close();
    assertFalse(third.scope().isAlive(), "the third buffer is over the bound: freed");
    assertTrue(memory.take(size).segment().scope().isAlive());
  }
}
