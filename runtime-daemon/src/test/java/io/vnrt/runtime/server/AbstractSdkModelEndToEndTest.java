package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.ExecutionRequest;
import io.vnrt.client.ExecutionResult;
import io.vnrt.client.ExecutionStream;
import io.vnrt.client.HostTensor;
import io.vnrt.client.InvalidArgumentException;
import io.vnrt.client.LoadOptions;
import io.vnrt.client.Model;
import io.vnrt.client.ModelDescription;
import io.vnrt.client.NotFoundException;
import io.vnrt.client.Session;
import io.vnrt.client.SharedMemory;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.NrtCode;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.io.ByteArrayInputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's model API (Session.loadModel, Model, HostTensor, ExecutionRequest, ExecutionStream)
 * through the real daemon, the same assertions over every transport. Each test ends with the pools empty.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractSdkModelEndToEndTest {
  static final float[] X = {1, 2, 3, 4, -1, 0.5f, 2, -3};

  abstract AbstractEndToEndTest.Fixture start(RuntimeConfig config) throws Exception;

  AbstractEndToEndTest.Fixture fixture;
  VnrtClient client;
  Session session;

  @BeforeAll
  void startDaemon() throws Exception {
    fixture = start(RuntimeConfig.defaults().withTopology(Topology.of(Profile.TRN1, Optional.of(1),
        Optional.empty(), Optional.of(64L << 20), Optional.empty())));
    client = fixture.client();
  }

  @AfterAll
  void stopDaemon() {
    fixture.close();
  }

  @BeforeEach
  void openSession() {
    session = client.openSession("sdk-models");
  }

  @AfterEach
  void nothingLeaks() {
    session.close();
    AbstractEndToEndTest.awaitTrue(() -> fixture.runtime().devices().busyOperations() == 0, "operations pin memory");
    assertEquals(0, fixture.runtime().devices().devices().getFirst().pool().usedBytes(), "device pool after the test");
  }

  static float[] y(float[] x, int rows) {
    return TestModels.denseReference(x, rows)[0];
  }

  @Test
  void loadFromAFileDescribeExecuteAndUnload(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dense.onnx");
    Files.write(file, TestModels.dense());
    try (Model model = session.loadModel(file)) {
      assertEquals("dense", model.name(), "named after the file");
      ModelDescription d = model.describe();
      assertEquals(List.of("x"), d.inputs().stream().map(ModelDescription.Port::name).toList());
      assertEquals(List.of(new ModelDescription.Dim(-1, "N"), new ModelDescription.Dim(4, "")),
          d.inputs().getFirst().shape());
      assertEquals(DType.FLOAT32, d.outputs().getFirst().dtype());
      assertTrue(d.weightsBytes() > 0, "weights are in HBM");
      assertTrue(d.loadTime().compareTo(Duration.ZERO) > 0);
      assertEquals(1, d.warmupRuns(), "no warm-up asked for: the daemon's default, one execution");
      assertEquals("", d.warmupNote(), "the default warm-up ran on generated inputs");
      assertEquals(List.of("dense"), session.models().stream().map(ModelDescription::name).toList());

      Map<String, HostTensor> out = model.execute(Map.of("x", HostTensor.ofFloats(new long[] {2, 4}, X)));
      assertEquals(List.of("y", "xw"), List.copyOf(out.keySet()));
      assertArrayEquals(new long[] {2, 3}, out.get("y").shape());
      assertArrayEquals(y(X, 2), out.get("y").floats(), 1e-5f);
      assertTrue(model.unload() > 0, "unloading frees HBM");
      assertThrows(NotFoundException.class, model::describe);
    }
  }

  @Test
  void aModelCanBeWarmedUpAtLoad() throws Exception {
    try (Model model = session.loadModel(TestModels.dense(),
        LoadOptions.defaults().withName("warm").withWarmup(3, Duration.ofMillis(50), Map.of("N", 8L)))) {
      ModelDescription d = model.describe();
      assertTrue(d.warmupTime().compareTo(Duration.ofMillis(50)) >= 0, "warmed up for at least 50 ms: " + d.warmupTime());
      assertTrue(d.scratchBytes() > 0, "the warm-up compiled the plan for N = 8");
    }
    assertThrows(IllegalArgumentException.class, () -> LoadOptions.defaults().withWarmup(-1, Duration.ZERO, Map.of()));
  }

  @Test
  void loadFromBytesAndFromAStreamInManyChunks() {
    byte[] onnx = TestModels.dense();
    try (Model a = session.loadModel(onnx, LoadOptions.defaults().withName("a"));
        Model b = session.loadModel(new ByteArrayInputStream(onnx), onnx.length,
            LoadOptions.defaults().withName("b").onAnyCores(1))) {
      assertEquals("a", a.name());
      assertEquals("b", b.name());
      HostTensor x = HostTensor.ofFloats(new long[] {1, 4}, 1, 1, 1, 1);
      assertArrayEquals(a.execute(Map.of("x", x)).get("y").floats(), b.execute(Map.of("x", x)).get("y").floats());
    }
  }

  @Test
  void aStreamShorterThanAnnouncedFailsAndLeavesNothing() {
    byte[] onnx = TestModels.dense();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> session.loadModel(
        new ByteArrayInputStream(onnx, 0, onnx.length - 10), onnx.length, LoadOptions.defaults()));
    assertTrue(e.getMessage().contains("ended after " + (onnx.length - 10)), e.getMessage());
    assertEquals(List.of(), session.models());
  }

  @Test
  void deviceTensorInputsOutputsAndTiming() {
    try (Model model = session.loadModel(TestModels.dense(), LoadOptions.defaults());
        DeviceTensor x = session.allocate(TensorSpec.of(DType.FLOAT32, 2, 4), 0);
        DeviceTensor y = session.allocate(TensorSpec.of(DType.FLOAT32, 2, 3), 0)) {
      x.write(X);
      ExecutionResult r = model.execute(new ExecutionRequest().input("x", x).outputTo("y", y).output("xw"));
      assertEquals(List.of("y"), r.writtenInPlace());
      assertEquals(List.of("xw"), List.copyOf(r.outputs().keySet()));
      assertArrayEquals(TestModels.denseReference(X, 2)[1], r.output("xw").floats(), 1e-5f);
      assertArrayEquals(y(X, 2), y.readFloats(), 1e-5f);
      assertEquals(1, r.batchSize());
      assertTrue(r.computeTime().compareTo(Duration.ZERO) >= 0);
    }
  }

  @Test
  void sharedMemoryInputsAndOutputsPassInPlace() {
    try (Model model = session.loadModel(TestModels.dense(), LoadOptions.defaults());
        SharedMemory region = session.createSharedMemory("io", 4096)) {
      MemorySegment.copy(X, 0, region.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, X.length);
      ExecutionResult r = model.execute(new ExecutionRequest().input("x", region, 0, DType.FLOAT32, 2, 4)
          .outputTo("y", region, 1024, 24));
      assertEquals(List.of("y"), r.writtenInPlace());
      float[] y = region.segment().asSlice(1024, 24).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
      assertArrayEquals(y(X, 2), y, 1e-5f);
      assertThrows(InvalidArgumentException.class, () -> model.execute(new ExecutionRequest()
          .input("x", region, 4090, DType.FLOAT32, 2, 4)));
    }
    InvalidArgumentException missing = assertThrows(InvalidArgumentException.class,
        () -> session.registerSharedMemory("gone", "/vnrt-no-such-file", 0, 8).close());
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
  }

  @Test
  void asyncAndStreamingExecutionsCompleteByRequestId() throws Exception {
    try (Model model = session.loadModel(TestModels.dense(), LoadOptions.defaults())) {
      List<CompletableFuture<Map<String, HostTensor>>> async = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        float[] x = {i, 1, 2, 3};
        async.add(model.executeAsync(Map.of("x", HostTensor.ofFloats(new long[] {1, 4}, x))));
      }
      for (int i = 0; i < 8; i++) {
        assertArrayEquals(y(new float[] {i, 1, 2, 3}, 1), async.get(i).get().get("y").floats(), 1e-5f);
      }
      List<CompletableFuture<ExecutionResult>> streamed = new ArrayList<>();
      try (ExecutionStream stream = model.openStream(4)) {
        for (int i = 0; i < 40; i++) {
          float[] x = {1, i, -i, 2};
          streamed.add(stream.submit(Map.of("x", HostTensor.ofFloats(new long[] {1, 4}, x))));
          assertTrue(stream.inFlight() <= 4, "never more than 4 in flight");
        }
        CompletableFuture<ExecutionResult> bad = stream.submit(Map.of("nope", HostTensor.ofFloats(new long[] {1}, 0f)));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
            () -> io.vnrt.client.internal.Errors.await(bad));
        assertEquals(NrtCode.NRT_EXEC_BAD_INPUT, e.nrtCode());
        CompletableFuture<ExecutionResult> after = stream.submit(Map.of("x", HostTensor.ofFloats(new long[] {1, 4},
            X[0], X[1], X[2], X[3])));
        assertArrayEquals(y(new float[] {X[0], X[1], X[2], X[3]}, 1), after.get().output("y").floats(), 1e-5f,
            "the stream survives a failed execution");
      }
      for (int i = 0; i < 40; i++) {
        assertArrayEquals(y(new float[] {1, i, -i, 2}, 1), streamed.get(i).get().output("y").floats(), 1e-5f);
      }
    }
  }

  @Test
  void badInputsAreTypedExceptions() {
    try (Model model = session.loadModel(TestModels.dense(), LoadOptions.defaults())) {
      InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
          () -> model.execute(Map.of("x", HostTensor.ofLongs(new long[] {2, 4}, new long[8]))));
      assertEquals(NrtCode.NRT_EXEC_BAD_INPUT, e.nrtCode());
      assertThrows(InvalidArgumentException.class,
          () -> model.execute(Map.of("x", HostTensor.ofFloats(new long[] {2, 5}, new float[10]))));
      assertThrows(IllegalArgumentException.class, () -> HostTensor.ofFloats(new long[] {2, 4}, 1, 2));
      assertArrayEquals(y(X, 2), model.execute(Map.of("x", HostTensor.ofFloats(new long[] {2, 4}, X)))
          .get("y").floats(), 1e-5f, "the model still serves");
    }
    assertThrows(InvalidArgumentException.class, () -> session.loadModel(new byte[] {1, 2, 3},
        LoadOptions.defaults()));
  }
}
