package io.vnrt.runtime.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.session.QuotaLimits;
import io.vnrt.runtime.session.Session;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A model's declared sizes are checked against what it brings, the device and the session's HBM quota before
 * memory is taken: tiny models cannot make huge allocations, and weights count against the quota.
 */
class LoadLimitsTest {
  private static final long DEVICE = 64L << 20;
  private static final long QUOTA = 8L << 20;

  private VnrtRuntime runtime;
  private Session session;

  @BeforeEach
  void start() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(4 << 20)
        .withTopology(Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(DEVICE),
            Optional.empty()))
        .withQuotas(new QuotaLimits(QUOTA, 0, 0), 0));
    session = runtime.sessions().open("tenant", 0);
  }

  @AfterEach
  void stop() {
    runtime.close();
  }

  private long deviceUsed() {
    return runtime.devices().device(0).pool().usedBytes();
  }

  private VnrtRuntimeException refusedLoad(String name, byte[] model) {
    long before = deviceUsed();
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> runtime.models().load(session, LoadSpec.auto(name, 0, 1, model.length), model));
    assertEquals(before, deviceUsed(), "the refused load left nothing in HBM");
    assertEquals(0, session.quota().hbmBytes(), "nor in the quota");
    return e;
  }

  /** ConstantOfShape of a constant shape: a few bytes of model, rows × cols floats of output. */
  private static byte[] constantOfShape(long rows, long cols) {
    return new ModelBuilder(17).initializer("shape", Tensor.ofLongs(new long[] {2}, rows, cols))
        .output("y", DType.FLOAT32, rows, cols)
        .node("ConstantOfShape", List.of("shape"), List.of("y")).bytes();
  }

  @Test
  void aTinyModelDeclaringTerabytesIsRefusedWithTheSizeBeforeAnyHostAllocation() {
    byte[] model = constantOfShape(1_000_000, 1_000_000); // 4 TB of float zeros from an ~80-byte model
    assertTrue(model.length < 120, model.length + " bytes");
    VnrtRuntimeException e = refusedLoad("amplifier", model);
    assertEquals(VnrtRuntimeException.Kind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("3.6 TiB"), e.getMessage());
    runtime.models().load(session, LoadSpec.auto("small", 0, 1, 0), constantOfShape(4, 4));
  }

  @Test
  void constantFoldingCountsAgainstTheSessionQuota() {
    // 16 MiB of zeros: folded before, it became weights outside the 8 MiB quota
    VnrtRuntimeException e = refusedLoad("zeros", constantOfShape(2048, 2048));
    assertEquals(VnrtRuntimeException.Kind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("quota hbm_bytes exceeded"), e.getMessage());
    assertEquals(String.valueOf(QUOTA), e.context().get("limit"));
  }

  @Test
  void weightsCountAgainstTheSessionQuotaAndAreGivenBackOnUnload() {
    int n = 3 << 20 >> 2; // 3 MiB of floats
    byte[] model = new ModelBuilder(17).input("x", DType.FLOAT32, (long) n)
        .initializer("w", Tensor.allocate(DType.FLOAT32, n))
        .output("y", DType.FLOAT32, (long) n).node("Add", List.of("x", "w"), List.of("y")).bytes();
    ModelEntry first = runtime.models().load(session, LoadSpec.auto("a", 0, 1, 0), model);
    long held = session.quota().hbmBytes();
    assertTrue(held >= 3L << 20, "weights are charged: " + held);
    VnrtRuntimeException e = assertThrows(VnrtRuntimeException.class,
        () -> runtime.models().load(session, LoadSpec.auto("b", 0, 1, 0), model));
    assertTrue(e.getMessage().contains("quota hbm_bytes exceeded"), e.getMessage());
    assertEquals(held, session.quota().hbmBytes(), "the refused load gave back what it took");
    runtime.models().unload(session, first.id());
    assertEquals(0, session.quota().hbmBytes());
    assertEquals(0, deviceUsed());
  }

  @Test
  void anInitializerDeclaringMoreThanItCarriesIsRefusedWithoutAllocatingIt() {
    TensorProto huge = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE)
        .addDims(1_000_000).addDims(1_000_000).setRawData(ByteString.copyFrom(new byte[4])).build();
    byte[] model = new ModelBuilder(17).input("x", DType.FLOAT32, 1L).initializer(huge)
        .output("y", DType.FLOAT32, 1L).node("Identity", List.of("x"), List.of("y")).bytes();
    VnrtRuntimeException e = refusedLoad("huge", model);
    assertEquals(VnrtRuntimeException.Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("needs 4000000000000 bytes of raw_data, has 4"), e.getMessage());
  }
}
