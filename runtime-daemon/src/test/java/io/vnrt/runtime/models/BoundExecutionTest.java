package io.vnrt.runtime.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.VnrtRuntimeException.Kind;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.session.Tensor;
import io.vnrt.runtime.session.TensorRequest;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Binding an execution: what is refused as the caller's fault, and that a refusal pins nothing. */
class BoundExecutionTest {
  private SchedulerFixture f;
  private ModelEntry model;

  @BeforeEach
  void open() throws Exception {
    f = new SchedulerFixture();
    model = f.model("Gate", Batching.NONE, 4);
  }

  @AfterEach
  void close() {
    f.close();
  }

  private VnrtRuntimeException refused(Map<String, TensorSource> inputs) {
    return assertThrows(VnrtRuntimeException.class,
        () -> BoundExecution.bind(f.session, model, ExecutionRequest.of(model.id(), inputs)));
  }

  @Test
  void anInlineInputOfTheWrongByteSizeIsBadInputNamingBoth() {
    VnrtRuntimeException e = refused(Map.of("x", new TensorSource.Inline(DType.FLOAT32, new long[] {1, 2},
        MemorySegment.ofArray(new byte[12]))));
    assertEquals(Kind.EXEC_BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains("takes 8 bytes, but 12 bytes were given"), e.getMessage());
  }

  @Test
  void piecesOfTheWrongTotalSizeAreBadInputNamingBoth() {
    VnrtRuntimeException e = refused(Map.of("x", new TensorSource.Pieces(DType.FLOAT32, new long[] {1, 2},
        List.of(MemorySegment.ofArray(new byte[4]), MemorySegment.ofArray(new byte[8])))));
    assertEquals(Kind.EXEC_BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains("takes 8 bytes, but 12 bytes were given"), e.getMessage());
  }

  @Test
  void piecesAreJoinedInOrderIntoNativeMemoryTheExecutionHoldsUntilItEnds() {
    MemorySegment first = MemorySegment.ofArray(new float[] {1.5f});
    MemorySegment second = MemorySegment.ofArray(new float[] {-2.25f});
    BoundExecution bound = BoundExecution.bind(f.session, model, ExecutionRequest.of(model.id(),
        Map.of("x", new TensorSource.Pieces(DType.FLOAT32, new long[] {1, 2}, List.of(first, second)))));
    MemorySegment data = bound.inputs().get("x").data();
    assertTrue(data.isNative(), "the kernels read native memory");
    assertEquals(1.5f, data.getAtIndex(io.vnrt.runtime.kernels.Tensor.F32, 0));
    assertEquals(-2.25f, data.getAtIndex(io.vnrt.runtime.kernels.Tensor.F32, 1));
    bound.close();
    // the memory is kept for the next execution, whose input overwrites what it can see of it
    BoundExecution next = BoundExecution.bind(f.session, model, ExecutionRequest.of(model.id(),
        Map.of("x", new TensorSource.Pieces(DType.FLOAT32, new long[] {1, 2}, List.of(second, first)))));
    MemorySegment reused = next.inputs().get("x").data();
    assertEquals(-2.25f, reused.getAtIndex(io.vnrt.runtime.kernels.Tensor.F32, 0));
    assertEquals(1.5f, reused.getAtIndex(io.vnrt.runtime.kernels.Tensor.F32, 1));
    assertEquals(8, reused.byteSize(), "an execution sees its own input's bytes only");
    next.close();
  }

  @Test
  void aShapeTheModelDoesNotTakeIsBadInputListingWhatItExpects() {
    VnrtRuntimeException e = refused(Map.of("x", new TensorSource.Inline(DType.FLOAT32, new long[] {1, 3},
        MemorySegment.ofArray(new float[3]))));
    assertEquals(Kind.EXEC_BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains("dimension 1 must be 2"), e.getMessage());
    assertTrue(e.context().get("expected_inputs").contains("x"), e.context().toString());
  }

  @Test
  void aRefusedBindingLeavesNoDeviceTensorPinned() {
    Tensor t = f.session.allocate(new TensorRequest(0, -1, false, io.vnrt.runtime.session.DType.RAW, List.of(), 8,
        ""));
    Map<String, TensorSource> inputs = new LinkedHashMap<>();
    inputs.put("x", new TensorSource.DeviceTensor(t.handle(), DType.FLOAT32, new long[] {1, 2}));
    inputs.put("bogus", new TensorSource.Inline(DType.FLOAT32, new long[] {1}, MemorySegment.ofArray(new float[1])));
    VnrtRuntimeException e = refused(inputs);
    assertEquals(Kind.EXEC_BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains("unknown input 'bogus'"), e.getMessage());
    assertTrue(f.session.free(t.handle()) >= 8, "the tensor was not left pinned: its memory comes back at once");
  }
}
