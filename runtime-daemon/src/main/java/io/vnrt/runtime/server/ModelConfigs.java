package io.vnrt.runtime.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TextFormat;
import com.google.protobuf.util.JsonFormat;
import io.vnrt.proto.inference.DataType;
import io.vnrt.proto.inference.ModelConfig;
import io.vnrt.proto.inference.ModelDynamicBatching;
import io.vnrt.proto.inference.ModelInput;
import io.vnrt.proto.inference.ModelInstanceGroup;
import io.vnrt.proto.inference.ModelOutput;
import io.vnrt.proto.inference.ModelParameter;
import io.vnrt.proto.inference.ModelVersionPolicy;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.graph.Dim;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.models.Batching;
import io.vnrt.runtime.models.ModelRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Triton model configurations: config.pbtxt (protobuf text format) and RepositoryModelLoad's
 * "config" override (JSON) parsed against model_config.proto; checked on their own and against
 * the model's inputs and outputs, every refusal naming the field; turned into how the daemon
 * serves the model; and completed from the model, as Triton's ONNX backend completes a missing or
 * partial configuration, for ModelConfig's answer.
 */
final class ModelConfigs {
  /** Triton's platform and backend names for ONNX models. */
  static final String PLATFORM = "onnxruntime_onnx";
  static final String BACKEND = "onnxruntime";
  /** max_batch_size given to a model without a configuration whose inputs and outputs all batch (Triton's default). */
  static final int DEFAULT_MAX_BATCH_SIZE = 4;
  /** Instances one model may ask for. */
  static final int MAX_INSTANCES = 64;
  /** The vnrt parameter giving the cores of each instance's group. */
  static final String CORES_PER_INSTANCE = "cores_per_instance";

  /**
   * How the daemon serves a model.
   *
   * @param instances core groups the model is loaded on
   * @param coresPerInstance cores of each group
   * @param batching dynamic batching of each instance
   * @param queueDepth executions that may wait per instance (0: the default)
   * @param maxBatchSize largest batch a request may carry; 0: the model has no batch dimension
   */
  record Serving(int instances, int coresPerInstance, Batching batching, int queueDepth, int maxBatchSize) {
  }

  private ModelConfigs() {
  }

  /** Parses config.pbtxt; INVALID_ARGUMENT naming the file, line, column and field on a syntax error. */
  static ModelConfig parseText(String text, String where) {
    ModelConfig.Builder b = ModelConfig.newBuilder();
    try {
      TextFormat.getParser().merge(text, b);
    } catch (TextFormat.ParseException e) {
      throw VnrtRuntimeException.invalid(where + ":" + e.getMessage() + " (the file is Triton's model configuration "
          + "in protobuf text format, fields of inference.ModelConfig)", "config", where);
    }
    return b.build();
  }

  /** Parses a JSON "config" override; refused as Triton refuses it: "Invalid config override: ...". */
  static ModelConfig parseJson(String json) {
    ModelConfig.Builder b = ModelConfig.newBuilder();
    try {
      JsonFormat.parser().merge(json, b);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      // the parser's message, without the Java class name of its cause
      String why = String.valueOf(e.getMessage()).replaceFirst("^([a-z]+\\.)+[A-Za-z]+: ", "");
      throw VnrtRuntimeException.invalid("Invalid config override: " + why
          + " (expected the JSON of an inference.ModelConfig, e.g. {\"max_batch_size\": 8})", "config", "override");
    }
    return b.build();
  }

  /**
   * Checks what can be checked without the model and decides how it is served; INVALID_ARGUMENT
   * naming the field for what vnrt cannot do or what contradicts itself.
   */
  static Serving serving(ModelConfig c, String model, String where) {
    Function<String, VnrtRuntimeException> bad = m -> VnrtRuntimeException.invalid("model '" + model + "': " + where
        + ": " + m, "model", model, "config", where);
    if (!c.getName().isEmpty() && !c.getName().equals(model)) {
      throw VnrtRuntimeException.invalid("unexpected directory name '" + model + "' for model '" + c.getName()
          + "', directory name must equal model name (" + where + ": name)", "model", model);
    }
    if (!c.getPlatform().isEmpty() && !c.getPlatform().equals(PLATFORM)) {
      throw bad.apply("platform '" + c.getPlatform() + "' is not served: vnrt runs ONNX models (platform "
          + PLATFORM + ", backend " + BACKEND + ")");
    }
    if (!c.getBackend().isEmpty() && !c.getBackend().equals(BACKEND)) {
      throw bad.apply("backend '" + c.getBackend() + "' is not served: vnrt runs ONNX models (backend " + BACKEND
          + ")");
    }
    if (c.getMaxBatchSize() < 0 || c.getMaxBatchSize() > ModelRegistry.MAX_BATCH_SIZE) {
      throw bad.apply("max_batch_size " + c.getMaxBatchSize() + " is not within 0.." + ModelRegistry.MAX_BATCH_SIZE);
    }
    switch (c.getSchedulingChoiceCase()) {
      case SEQUENCE_BATCHING -> throw bad.apply("sequence_batching is not supported: vnrt serves stateless models "
          + "(use dynamic_batching or none)");
      case ENSEMBLE_SCHEDULING -> throw bad.apply("ensemble_scheduling is not supported: vnrt serves single ONNX "
          + "models");
      default -> { }
    }
    if (c.getModelTransactionPolicy().getDecoupled()) {
      throw bad.apply("model_transaction_policy.decoupled is not supported: each request has one response");
    }
    checkTensors(c, bad);
    Batching batching = Batching.NONE;
    int depth = 0;
    if (c.hasDynamicBatching()) {
      ModelDynamicBatching d = c.getDynamicBatching();
      if (c.getMaxBatchSize() == 0) {
        throw bad.apply("dynamic_batching needs max_batch_size > 0 (the model's batch dimension), got 0");
      }
      for (int i = 0; i < d.getPreferredBatchSizeCount(); i++) {
        int p = d.getPreferredBatchSize(i);
        if (p < 1 || p > c.getMaxBatchSize()) {
          throw bad.apply("dynamic_batching.preferred_batch_size[" + i + "] is " + p + ": each must be 1 to "
              + "max_batch_size (" + c.getMaxBatchSize() + ")");
        }
      }
      long delayMicros = d.getMaxQueueDelayMicroseconds();
      if (delayMicros < 0 || delayMicros > ModelRegistry.MAX_QUEUE_DELAY.toNanos() / 1000) {
        throw bad.apply("dynamic_batching.max_queue_delay_microseconds " + Long.toUnsignedString(delayMicros)
            + " is above " + ModelRegistry.MAX_QUEUE_DELAY.toNanos() / 1000 + " (1 s)");
      }
      int queue = d.getDefaultQueuePolicy().getMaxQueueSize();
      if (queue < 0 || queue > ModelRegistry.MAX_QUEUE_DEPTH) {
        throw bad.apply("dynamic_batching.default_queue_policy.max_queue_size " + Integer.toUnsignedString(queue)
            + " is above " + ModelRegistry.MAX_QUEUE_DEPTH);
      }
      depth = queue;
      batching = new Batching(c.getMaxBatchSize(), Duration.ofNanos(delayMicros * 1000),
          d.getPreferredBatchSizeList());
    }
    int instances = 0;
    for (int i = 0; i < c.getInstanceGroupCount(); i++) {
      ModelInstanceGroup g = c.getInstanceGroup(i);
      String field = "instance_group[" + i + "]";
      if (g.getKind() == ModelInstanceGroup.Kind.KIND_GPU || g.getGpusCount() > 0) {
        throw bad.apply(field + " asks for GPUs (kind " + g.getKind() + ", gpus " + g.getGpusList() + "): this daemon "
            + "has no GPU; use kind KIND_CPU (each instance is a group of the device's cores)");
      }
      if (g.getCount() < 0) {
        throw bad.apply(field + ".count is " + g.getCount() + "; give at least 1");
      }
      instances += Math.max(1, g.getCount());
    }
    if (instances > MAX_INSTANCES) {
      throw bad.apply("instance_group asks for " + instances + " instances in all; at most " + MAX_INSTANCES);
    }
    int cores = 1;
    ModelParameter coresParameter = c.getParametersMap().get(CORES_PER_INSTANCE);
    if (coresParameter != null) {
      try {
        cores = Integer.parseInt(coresParameter.getStringValue().strip());
      } catch (NumberFormatException e) {
        cores = 0;
      }
      if (cores < 1) {
        throw bad.apply("parameters[\"" + CORES_PER_INSTANCE + "\"] must be a whole number of cores, at least 1, got '"
            + coresParameter.getStringValue() + "'");
      }
    }
    return new Serving(Math.max(1, instances), cores, batching, depth, c.getMaxBatchSize());
  }

  private static void checkTensors(ModelConfig c, Function<String, VnrtRuntimeException> bad) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < c.getInputCount(); i++) {
      ModelInput in = c.getInput(i);
      checkTensor("input[" + i + "]", in.getName(), in.getDataType(), in.hasReshape(), seen, bad);
    }
    seen.clear();
    for (int i = 0; i < c.getOutputCount(); i++) {
      ModelOutput out = c.getOutput(i);
      checkTensor("output[" + i + "]", out.getName(), out.getDataType(), out.hasReshape(), seen, bad);
    }
  }

  private static void checkTensor(String field, String name, DataType type, boolean reshape, Set<String> seen,
      Function<String, VnrtRuntimeException> bad) {
    if (name.isEmpty()) {
      throw bad.apply(field + ".name is empty");
    }
    if (!seen.add(name)) {
      throw bad.apply(field + ": '" + name + "' is listed twice");
    }
    if (type == DataType.TYPE_INVALID || type == DataType.UNRECOGNIZED) {
      throw bad.apply(field + " '" + name + "': data_type is missing or unknown");
    }
    if (reshape) {
      throw bad.apply(field + " '" + name + "': reshape is not supported by vnrt (declare the model's own shape)");
    }
  }

  /**
   * The check a configuration makes of the model once it is read: every configured input and
   * output exists with the configured data_type and dims (the batch dimension left out when
   * max_batch_size > 0, -1 where the model's dimension is symbolic), every model input is
   * configured when inputs are, and a batch dimension exists when max_batch_size > 0.
   */
  static void checkAgainstModel(ModelConfig c, String model, String where, List<ValueInfo> inputs,
      List<ValueInfo> outputs) {
    Function<String, VnrtRuntimeException> bad = m -> VnrtRuntimeException.invalid("model '" + model + "': " + where
        + ": " + m, "model", model, "config", where);
    int batch = c.getMaxBatchSize() > 0 ? 1 : 0;
    if (batch == 1) {
      for (ValueInfo v : concat(inputs, outputs)) {
        if (v.dims() == null || v.dims().isEmpty() || v.dims().getFirst().isFixed()) {
          throw bad.apply("max_batch_size " + c.getMaxBatchSize() + " needs a batch dimension, but the model's "
              + v + " has " + (v.dims() == null || v.dims().isEmpty() ? "no dimension 0" : "dimension 0 fixed at "
                  + v.dims().getFirst().value()) + "; set max_batch_size: 0 and give the full dims");
        }
      }
    }
    for (int i = 0; i < c.getInputCount(); i++) {
      ModelInput in = c.getInput(i);
      checkAgainst("input[" + i + "]", "input", in.getName(), in.getDataType(), in.getDimsList(), inputs, batch, c,
          bad);
    }
    if (c.getInputCount() > 0) {
      Set<String> configured = c.getInputList().stream().map(ModelInput::getName).collect(Collectors.toSet());
      for (ValueInfo v : inputs) {
        if (!configured.contains(v.name())) {
          throw bad.apply("the model's input " + v + " is not configured; list every input, or none to have them "
              + "completed from the model");
        }
      }
    }
    for (int i = 0; i < c.getOutputCount(); i++) {
      ModelOutput out = c.getOutput(i);
      checkAgainst("output[" + i + "]", "output", out.getName(), out.getDataType(), out.getDimsList(), outputs, batch,
          c, bad);
    }
  }

  private static void checkAgainst(String field, String kind, String name, DataType type, List<Long> dims,
      List<ValueInfo> declared, int batch, ModelConfig c, Function<String, VnrtRuntimeException> bad) {
    ValueInfo v = declared.stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow(() -> bad.apply(
        field + ".name '" + name + "' is not an " + kind + " of the model; its " + kind + "s are: "
            + declared.stream().map(ValueInfo::toString).collect(Collectors.joining(", "))));
    DataType expected = dataType(v.dtype());
    if (v.dtype() != null && type != expected) {
      throw bad.apply(field + ".data_type is " + type + " but the model's " + kind + " " + v + " is " + expected);
    }
    if (v.dims() == null) {
      return;
    }
    List<Dim> modelDims = v.dims().subList(Math.min(batch, v.dims().size()), v.dims().size());
    String explained = batch == 1 ? " (max_batch_size " + c.getMaxBatchSize()
        + " > 0: dims leave out the batch dimension)" : "";
    if (dims.size() != modelDims.size()) {
      throw bad.apply(field + ".dims " + dims + " have " + dims.size() + " dimension(s) but the model's " + kind
          + " " + v + " needs " + modelDims.size() + explained + ", e.g. " + configDims(modelDims));
    }
    for (int d = 0; d < dims.size(); d++) {
      Dim m = modelDims.get(d);
      long given = dims.get(d);
      if (m.isFixed() ? given != m.value() : given < -1 || given == 0) {
        throw bad.apply(field + ".dims[" + d + "] is " + given + " but the model's " + kind + " " + v
            + (m.isFixed() ? " fixes it at " + m.value() : " has it symbolic ('" + m + "'): give -1 or a size")
            + explained);
      }
    }
  }

  /**
   * The configuration ModelConfig reports: {@code given} (empty: none) completed from the model as
   * Triton's ONNX backend completes it: name, platform, backend, inputs and outputs when absent,
   * one CPU instance group, the latest-version policy; {@code batching} as the model is served.
   */
  static ModelConfig complete(Optional<ModelConfig> given, String name, List<ValueInfo> inputs,
      List<ValueInfo> outputs, int maxBatchSize, Batching batching, int coresPerInstance) {
    ModelConfig.Builder b = given.map(ModelConfig::toBuilder).orElseGet(ModelConfig::newBuilder);
    b.setName(name).setPlatform(PLATFORM).setBackend(BACKEND).setMaxBatchSize(maxBatchSize);
    if (!b.hasVersionPolicy()) {
      b.setVersionPolicy(ModelVersionPolicy.newBuilder().setLatest(ModelVersionPolicy.Latest.newBuilder()
          .setNumVersions(1)));
    }
    int skip = maxBatchSize > 0 ? 1 : 0;
    if (b.getInputCount() == 0) {
      for (ValueInfo v : inputs) {
        b.addInput(ModelInput.newBuilder().setName(v.name()).setDataType(dataType(v.dtype()))
            .addAllDims(configDims(v, skip)));
      }
    }
    if (b.getOutputCount() == 0) {
      for (ValueInfo v : outputs) {
        b.addOutput(ModelOutput.newBuilder().setName(v.name()).setDataType(dataType(v.dtype()))
            .addAllDims(configDims(v, skip)));
      }
    }
    if (batching.enabled() && !b.hasDynamicBatching()) {
      b.setDynamicBatching(ModelDynamicBatching.newBuilder().addAllPreferredBatchSize(batching.preferredBatchSizes())
          .setMaxQueueDelayMicroseconds(batching.maxQueueDelay().toNanos() / 1000));
    }
    if (b.getInstanceGroupCount() == 0) {
      b.addInstanceGroup(ModelInstanceGroup.newBuilder().setName(name).setKind(ModelInstanceGroup.Kind.KIND_CPU)
          .setCount(1));
    } else {
      for (int i = 0; i < b.getInstanceGroupCount(); i++) {
        ModelInstanceGroup.Builder g = b.getInstanceGroupBuilder(i);
        if (g.getName().isEmpty()) {
          g.setName(name + "_" + i);
        }
        if (g.getKind() == ModelInstanceGroup.Kind.KIND_AUTO) {
          g.setKind(ModelInstanceGroup.Kind.KIND_CPU);
        }
        g.setCount(Math.max(1, g.getCount()));
      }
    }
    if (coresPerInstance > 1 && !b.containsParameters(CORES_PER_INSTANCE)) {
      b.putParameters(CORES_PER_INSTANCE, ModelParameter.newBuilder().setStringValue(String.valueOf(coresPerInstance))
          .build());
    }
    return b.build();
  }

  /**
   * True when a configuration says nothing of batching or tensors (e.g. the "{}" override
   * tritonclient sends with a model's bytes): batching is then decided from the model, as without one.
   */
  static boolean leavesBatchingOpen(ModelConfig c) {
    return c.getMaxBatchSize() == 0 && c.getInputCount() == 0 && c.getOutputCount() == 0 && !c.hasDynamicBatching();
  }

  /** Triton's choice for a model without configuration: batching up to 4 when every input and output batches. */
  static int autoMaxBatchSize(List<ValueInfo> inputs, List<ValueInfo> outputs) {
    for (ValueInfo v : concat(inputs, outputs)) {
      if (v.dims() == null || v.dims().isEmpty() || v.dims().getFirst().isFixed()) {
        return 0;
      }
    }
    return inputs.isEmpty() ? 0 : DEFAULT_MAX_BATCH_SIZE;
  }

  /** Triton's data type of an engine type (TYPE_STRING for strings; TYPE_INVALID when the model does not say). */
  static DataType dataType(DType t) {
    if (t == null) {
      return DataType.TYPE_INVALID;
    }
    String kserve = KServeTypes.name(t);
    return kserve.equals("BYTES") ? DataType.TYPE_STRING : DataType.valueOf("TYPE_" + kserve);
  }

  private static List<Long> configDims(ValueInfo v, int skip) {
    if (v.dims() == null) {
      return List.of(-1L);
    }
    return configDims(v.dims().subList(Math.min(skip, v.dims().size()), v.dims().size()));
  }

  private static List<Long> configDims(List<Dim> dims) {
    return dims.stream().map(d -> d.isFixed() ? d.value() : -1L).toList();
  }

  private static List<ValueInfo> concat(List<ValueInfo> a, List<ValueInfo> b) {
    List<ValueInfo> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
