package io.vnrt.runtime.server;

import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static io.vnrt.runtime.kernels.DType.INT64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.vnrt.client.Session;
import io.vnrt.proto.v1.LoadModelHeader;
import io.vnrt.proto.v1.LoadModelRequest;
import io.vnrt.proto.v1.ModelGrpc;
import io.vnrt.proto.v1.ModelInfo;
import io.vnrt.proto.v1.UnloadModelRequest;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.exec.ModelBuilder;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.session.FakeTicker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Malformed models and LoadModel streams, generated from fixed seeds: byte flips, truncations,
 * spliced ranges and inserted garbage of the benchmark models (from {@code -Dvnrt.fuzz.models},
 * by default {@code ../shared/models}) and of models built here, and streams with wrong sizes,
 * misplaced or repeated headers and abandoned uploads. Every answer must be a documented status
 * (never INTERNAL or UNKNOWN), name no Java class, stay within the message bound, and leave the
 * device's pool as it was. Bounded by {@code -Dvnrt.fuzz.seconds} (default 45) of loads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedModelFuzzTest {
  private static final long SEED = 0x5eed_f422L;
  private static final Duration BUDGET = Duration.ofSeconds(Long.getLong("vnrt.fuzz.seconds", 45));
  /** A class name in a message: a package path, or a simple name ending in Exception or Error. */
  static final Pattern JAVA_NAME = Pattern.compile(
      "\\b(java|javax|jdk|sun|io\\.vnrt|io\\.grpc|com\\.google)\\.[A-Za-z_$.]+|\\b[A-Z][A-Za-z]*(Exception|Error)\\b");
  private static final int CHUNK = 256 << 10;

  private AbstractEndToEndTest.Fixture fixture;
  private Session session;
  private HbmPool pool;
  private final Map<String, Integer> byStatus = new TreeMap<>();
  private final List<String> faults = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    Topology topology = Topology.of(Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(512L << 20),
        Optional.empty());
    fixture = InProcessEndToEndTest.inProcess(RuntimeConfig.defaults().withTopology(topology)
        .withHostMemoryBytes(16L << 20).withClock(new FakeTicker(), Duration.ofMillis(50)));
    session = fixture.client().openSession("fuzz");
    pool = fixture.runtime().devices().device(0).pool();
  }

  @AfterAll
  void stop() {
    session.close();
    fixture.close();
  }

  /** The benchmark models, then models built here (each a different reader and compiler path). */
  private List<Map.Entry<String, byte[]>> seeds() throws IOException {
    List<Map.Entry<String, byte[]>> seeds = new ArrayList<>();
    Path dir = Path.of(System.getProperty("vnrt.fuzz.models", "../../shared/models"));
    if (!Files.isDirectory(dir)) {
      dir = Path.of("../shared/models");
    }
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        for (Path p : files.filter(f -> f.toString().endsWith(".onnx")).sorted().toList()) {
          seeds.add(Map.entry(p.getFileName().toString(), Files.readAllBytes(p)));
        }
      }
    }
    float[] w = new float[64];
    Arrays.fill(w, 0.5f);
    seeds.add(Map.entry("matmul", new ModelBuilder(13).input("x", FLOAT32, "N", 8L).output("y", FLOAT32, "N", 8L)
        .initializer("W", Tensor.ofFloats(new long[] {8, 8}, w)).node("MatMul", List.of("x", "W"), List.of("y"))
        .node("Relu", List.of("y"), List.of("r")).bytes()));
    seeds.add(Map.entry("gather", new ModelBuilder(13).input("x", FLOAT32, 4L, 3L).input("i", INT64, 2L)
        .output("y", FLOAT32, 2L, 3L).node("Gather", List.of("x", "i"), List.of("y")).bytes()));
    seeds.add(Map.entry("reshape", new ModelBuilder(13).input("x", FLOAT32, 2L, 6L).output("y", FLOAT32, 3L, 4L)
        .initializer("s", Tensor.ofLongs(new long[] {2}, 3, 4)).node("Reshape", List.of("x", "s"), List.of("y"))
        .bytes()));
    return seeds;
  }

  @Test
  void malformedModelsAndStreamsAreAnsweredWithDocumentedStatusesAndLeaveNothing() throws Exception {
    Random rnd = new Random(SEED);
    List<Map.Entry<String, byte[]>> seeds = seeds();
    long baseline = pool.usedBytes();
    long until = System.nanoTime() + BUDGET.toNanos();
    int cases = 0;
    while (System.nanoTime() < until) {
      Map.Entry<String, byte[]> seed = seeds.get(cases % seeds.size());
      String label = seed.getKey() + " case " + cases;
      if (cases % 5 == 4) {
        streamCase(rnd, seed.getValue(), label);
      } else {
        byte[] mutated = mutate(rnd, seed.getValue());
        load(label, messages(header(label, mutated.length), mutated), true);
      }
      cases++;
      awaitBaseline(baseline, label);
    }
    System.out.printf("fuzz: %d cases in %s, statuses %s%n", cases, BUDGET, byStatus);
    assertTrue(cases >= seeds.size(), "every seed was fuzzed at least once: " + cases + " cases");
    assertEquals(List.of(), faults, "answers that were not documented statuses");
  }

  private static LoadModelHeader header(String name, long size) {
    return LoadModelHeader.newBuilder().setName(name).setDeviceId(0).setAutoPlace(true).setCoreCount(1)
        .setModelSizeBytes(size).build();
  }

  private static List<LoadModelRequest> messages(LoadModelHeader header, byte[] model) {
    return AbstractModelEndToEndTest.messages(header, model, CHUNK);
  }

  /** One of: byte flips, a truncation, a range copied elsewhere, garbage inserted. */
  static byte[] mutate(Random rnd, byte[] model) {
    byte[] m = model.clone();
    switch (rnd.nextInt(4)) {
      case 0 -> {
        int flips = 1 + rnd.nextInt(16);
        for (int i = 0; i < flips; i++) {
          // models are mostly weights: aim half of the flips at the first 4 KiB, where the graph often is
          int at = rnd.nextBoolean() ? rnd.nextInt(Math.min(m.length, 4096)) : rnd.nextInt(m.length);
          m[at] = (byte) rnd.nextInt(256);
        }
      }
      case 1 -> m = Arrays.copyOf(m, 1 + rnd.nextInt(m.length - 1));
      case 2 -> {
        int len = 1 + rnd.nextInt(Math.min(64, m.length));
        System.arraycopy(model, rnd.nextInt(m.length - len + 1), m, rnd.nextInt(m.length - len + 1), len);
      }
      default -> {
        int at = rnd.nextInt(m.length);
        byte[] junk = new byte[1 + rnd.nextInt(32)];
        rnd.nextBytes(junk);
        byte[] grown = new byte[m.length + junk.length];
        System.arraycopy(m, 0, grown, 0, at);
        System.arraycopy(junk, 0, grown, at, junk.length);
        System.arraycopy(m, at, grown, at + junk.length, m.length - at);
        m = grown;
      }
    }
    return m;
  }

  /** A well-formed model sent on a malformed stream. */
  private void streamCase(Random rnd, byte[] model, String label) throws Exception {
    List<LoadModelRequest> msgs = messages(header(label, model.length), model);
    switch (rnd.nextInt(6)) {
      case 0 -> msgs.set(0, LoadModelRequest.newBuilder().setHeader(header(label, model.length + 1 + rnd.nextInt(99)))
          .build());
      case 1 -> msgs.set(0, LoadModelRequest.newBuilder().setHeader(header(label, Math.max(1, model.length
          - 1 - rnd.nextInt(Math.min(99, model.length - 1))))).build());
      case 2 -> msgs.add(1 + rnd.nextInt(msgs.size()), msgs.getFirst());
      case 3 -> msgs.removeFirst();
      case 4 -> msgs.set(0, LoadModelRequest.newBuilder().setHeader(header(label, Long.MAX_VALUE - rnd.nextInt(9)))
          .build());
      default -> {
        // abandoned mid-way: the client goes away, the daemon must drop the partial upload
        load(label, msgs.subList(0, 1 + rnd.nextInt(msgs.size())), false);
        return;
      }
    }
    load(label, msgs, true);
  }

  private void load(String label, List<LoadModelRequest> msgs, boolean complete) throws Exception {
    CompletableFuture<ModelInfo> result = new CompletableFuture<>();
    StreamObserver<LoadModelRequest> up = models().loadModel(AbstractEndToEndTest.observer(result));
    msgs.forEach(up::onNext);
    if (!complete) {
      up.onError(Status.CANCELLED.withDescription("the fuzzer went away").asRuntimeException());
      return;
    }
    up.onCompleted();
    try {
      ModelInfo info = result.get(60, TimeUnit.SECONDS);
      count("OK");
      ModelGrpc.newBlockingStub(fixture.rawChannel()).withInterceptors(withSession()).unloadModel(UnloadModelRequest.newBuilder().setModelId(info.getModelId()).build());
    } catch (ExecutionException e) {
      Status s = Status.fromThrowable(e.getCause());
      count(s.getCode().name());
      String message = String.valueOf(s.getDescription());
      if (s.getCode() == Status.Code.INTERNAL || s.getCode() == Status.Code.UNKNOWN) {
        faults.add(label + ": " + s.getCode() + " " + Statuses.bounded(message));
      } else if (JAVA_NAME.matcher(message).find()) {
        faults.add(label + ": a Java name in " + s.getCode() + " " + Statuses.bounded(message));
      } else if (message.length() > Statuses.MAX_MESSAGE_CHARS) {
        faults.add(label + ": a message of " + message.length() + " characters");
      }
    }
  }

  private void count(String status) {
    byStatus.merge(status, 1, Integer::sum);
  }

  private void awaitBaseline(long baseline, String label) {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (pool.usedBytes() != baseline || !fixture.runtime().models().all().isEmpty()) {
      if (System.nanoTime() > until) {
        faults.add(label + ": the pool holds " + pool.usedBytes() + " bytes, not " + baseline + ", and models "
            + fixture.runtime().models().all());
        return;
      }
      Thread.onSpinWait();
    }
  }

  private io.grpc.ClientInterceptor withSession() {
    Metadata headers = new Metadata();
    headers.put(Session.SESSION_ID_KEY, session.id());
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  private ModelGrpc.ModelStub models() {
    return ModelGrpc.newStub(fixture.rawChannel()).withInterceptors(withSession());
  }
}
