package io.vnrt.runtime.exec;

import io.vnrt.runtime.graph.Compiler;
import io.vnrt.runtime.graph.ExecutionPlan;
import io.vnrt.runtime.graph.Graph;
import io.vnrt.runtime.graph.GraphOptimizer;
import io.vnrt.runtime.graph.GraphValidator;
import io.vnrt.runtime.graph.LoadProblem;
import io.vnrt.runtime.graph.ModelLoadException;
import io.vnrt.runtime.graph.ValueInfo;
import io.vnrt.runtime.kernels.ConstantStore;
import io.vnrt.runtime.kernels.OpRegistry;
import io.vnrt.runtime.kernels.linalg.LinalgOps;
import io.vnrt.runtime.memory.HbmPool;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import io.vnrt.runtime.onnx.OnnxReader;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The graph engine, callable without gRPC: reads an ONNX model, validates it (every problem at
 * once), optimizes it, places its weights in device memory and, when its input shapes are fixed,
 * compiles its plan before returning. Stateless and thread-safe.
 */
public final class Engine {
    private final OpRegistry registry;

    /** An engine with every operator family, control flow included. */
    public Engine() {
        this(standardRegistry());
    }

    /** Every operator family of the kernels plus If, Loop and Scan (which need the compiler). */
    public static OpRegistry standardRegistry() {
        OpRegistry r = OpRegistry.standard();
        ControlFlowOps.register(r);
        return r;
    }

    public Engine(OpRegistry registry) {
        this.registry = registry;
    }

    public OpRegistry registry() {
        return registry;
    }

    /** Loads a model file (external data is resolved next to it). */
    public LoadedModel load(Path modelFile, ModelMemory memory, CoreGroup group)
            throws ModelLoadException {
        List<LoadProblem> problems = new ArrayList<>();
        Graph g = OnnxReader.read(modelFile, problems);
        String name = modelFile.getFileName().toString().replaceFirst("\\.onnx$", "");
        return load(name, g, problems, memory, group);
    }

    /**
     * Loads a model file into a device's HBM pool: weights (category WEIGHTS) and scratch
     * (SCRATCH) are charged to {@code ownerId} on {@code coreId} for {@code modelId}. Throws
     * DeviceMemoryExhaustedException, before any work, when they do not fit; a failed load leaves
     * nothing in the pool.
     */
    public LoadedModel load(Path modelFile, HbmPool pool, CoreGroup group, String ownerId, String ownerLabel, int coreId,
            String modelId) throws ModelLoadException {
        return load(modelFile, new HbmModelMemory(pool, ownerId, ownerLabel, coreId, modelId), group);
    }

    /** Like {@link #load(Path, HbmPool, CoreGroup, String, String, int, String)} for serialized bytes. */
    public LoadedModel load(String name, byte[] model, Path baseDir, HbmPool pool, CoreGroup group, String ownerId,
            String ownerLabel, int coreId, String modelId) throws ModelLoadException {
        return load(name, model, baseDir, pool, group, ownerId, ownerLabel, coreId, modelId, HbmModelMemory.UNLIMITED);
    }

    /**
     * As above, every byte of the model's device memory (weights, packed weights, scratch) also charged to
     * {@code quota}; a refusal of the quota is a DeviceMemoryExhaustedException like the pool's own.
     */
    public LoadedModel load(String name, byte[] model, Path baseDir, HbmPool pool, CoreGroup group, String ownerId,
            String ownerLabel, int coreId, String modelId, HbmModelMemory.Quota quota) throws ModelLoadException {
        return load(name, model, baseDir, new HbmModelMemory(pool, ownerId, ownerLabel, coreId, modelId, quota), group);
    }

    /** Loads a serialized model; {@code baseDir} (may be null) resolves external data. */
    public LoadedModel load(String name, byte[] model, Path baseDir, ModelMemory memory, CoreGroup group)
            throws ModelLoadException {
        List<LoadProblem> problems = new ArrayList<>();
        Graph g = OnnxReader.read(model, baseDir, problems);
        return load(name, g, problems, memory, group);
    }

    private LoadedModel load(String name, Graph g, List<LoadProblem> problems, ModelMemory memory, CoreGroup group)
            throws ModelLoadException {
        GraphValidator.validate(g, registry, problems);
        if (!problems.isEmpty()) {
            // find what else is wrong (attribute types, shapes) in the nodes that can be compiled
            if (!GraphValidator.hasCycle(problems) && staticInputs(g)) {
                new Compiler(g, registry, group.size()).compile(staticSignature(g), problems);
            }
            throw new ModelLoadException(problems);
        }
        // constant folding runs kernels on this thread (see LinalgOps.prepareThread)
        LinalgOps.prepareThread();
        GraphOptimizer.optimizeBeforeFolding(g, registry);
        Compiler compiler = new Compiler(g, registry, group.size());
        compiler.foldConstants();
        GraphOptimizer.optimize(g, registry);
        compiler = new Compiler(g, registry, group.size());
        compiler.removeDeadNodes();
        TrialCheck trial = staticInputs(g) ? TrialCheck.NONE : checkWithTrialShapes(g, compiler);

        ModelMemory.Allocation weights = null;
        PackedConstants packed = new PackedConstants(memory, name);
        LoadedModel model = null;
        try {
            compiler.useConstantStore(packed);
            Set<String> packedOnly = packWeights(g, compiler, packed, trial.size());
            long weightsBytes = 0;
            for (Map.Entry<String, Tensor> e : g.constants().entrySet()) {
                if (!packedOnly.contains(e.getKey())) {
                    weightsBytes += align(e.getValue().byteSize());
                }
            }
            weights = memory.allocate(weightsBytes, ModelMemory.Purpose.WEIGHTS, "weights of model '" + name + "'");
            placeWeights(g, weights.segment(), packedOnly, name);
            compiler.forgetSubgraphPlans();
            model = new LoadedModel(name, g, compiler, memory, group, weights, weightsBytes, packed, trial.warnings());
            if (staticInputs(g)) {
                List<TensorType> sig = staticSignature(g);
                ExecutionPlan plan = compiler.compile(sig, problems);
                if (plan == null) {
                    throw new ModelLoadException(problems);
                }
                model.preparePlan(sig, plan);
            }
            return model;
        } catch (ModelLoadException | RuntimeException | Error e) {
            if (model != null) {
                model.close();
            } else {
                packed.close();
                if (weights != null) {
                    weights.close();
                }
            }
            throw e;
        }
    }

    private static boolean staticInputs(Graph g) {
        return g.inputs().stream().allMatch(v -> v.isStatic() && v.dtype() != null);
    }

    /** Symbolic-dim sizes the load-time check tries, smallest first. */
    private static final long[] TRIAL_SIZES = {1, 8, 64, 512};

    /**
     * What the load-time check of a model with symbolic dims found: the first trial size at which
     * the whole graph compiles (-1 when none did or no check ran) and what failed at smaller ones.
     */
    private record TrialCheck(long size, List<String> warnings) {
        static final TrialCheck NONE = new TrialCheck(-1, List.of());
    }

    /**
     * A model with symbolic dims is compiled for real at its first execution; to report attribute
     * and shape problems at load anyway, compile it with every symbol bound to trial sizes. A
     * model is refused only for what is wrong whatever the binding: it loads as soon as one trial
     * compiles (a CNN whose five stride-2 stages need an image of 32 or more fails at 1 and 8 and
     * is fine at 64), and when none does, only the problems that every trial reports word for word
     * (a bad attribute, a dtype, a contradiction between fixed dims) refuse it. Problems that come
     * and go with the sizes are load warnings: an execution whose real shapes hit one fails then
     * with INVALID_ARGUMENT naming the input dims.
     */
    private static TrialCheck checkWithTrialShapes(Graph g, Compiler compiler) throws ModelLoadException {
        if (!inputsTyped(g)) {
            return TrialCheck.NONE;
        }
        List<String> warnings = new ArrayList<>();
        Map<String, LoadProblem> common = null;
        for (long size : TRIAL_SIZES) {
            List<LoadProblem> found = new ArrayList<>();
            compiler.createKernels(trialSignature(g, size), found);
            if (found.isEmpty()) {
                return new TrialCheck(size, warnings);
            }
            Map<String, LoadProblem> byText = new LinkedHashMap<>();
            for (LoadProblem p : found) {
                byText.putIfAbsent(p.toString(), p);
                warnings.add(p + " (with every symbolic dim set to " + size + ")");
            }
            if (common == null) {
                common = byText;
            } else {
                common.keySet().retainAll(byText.keySet());
            }
        }
        if (!common.isEmpty()) {
            List<LoadProblem> everywhere = new ArrayList<>();
            for (LoadProblem p : common.values()) {
                everywhere.add(new LoadProblem(p.nodeName(), p.opType(), p.opset(), p.message()
                        + " (found with every symbolic dim set to each of " + Arrays.toString(TRIAL_SIZES) + ")"));
            }
            throw new ModelLoadException(everywhere);
        }
        return new TrialCheck(-1, warnings);
    }

    /** True when every graph input declares a dtype and a rank, so trial signatures can be made. */
    private static boolean inputsTyped(Graph g) {
        return g.inputs().stream().allMatch(v -> v.dtype() != null && v.dims() != null);
    }

    private static List<TensorType> trialSignature(Graph g, long size) {
        List<TensorType> sig = new ArrayList<>();
        for (ValueInfo v : g.inputs()) {
            sig.add(new TensorType(v.dtype(), v.shape(symbol -> size)));
        }
        return sig;
    }

    private static List<TensorType> staticSignature(Graph g) {
        List<TensorType> sig = new ArrayList<>();
        for (ValueInfo v : g.inputs()) {
            sig.add(new TensorType(v.dtype(), v.fixedShape()));
        }
        return sig;
    }

    /**
     * Makes the kernels' packed copies of the weights (GEMM panels) from the host copies, by
     * creating the plan's kernels once before anything else is placed (without laying the plan
     * out): with the model's fixed input shapes, or with every symbolic dim set to the first trial
     * size that compiled (the packing depends on the weights alone). Returns the constants every
     * use of which reads a packed copy: those are placed once, packed, and not a second time as
     * they came. A model that does not compile this way packs at its first execution instead, and
     * keeps its originals.
     */
    private static Set<String> packWeights(Graph g, Compiler compiler, PackedConstants packed, long trialSize) {
        if (!inputsTyped(g) || (!staticInputs(g) && trialSize < 0)) {
            return Set.of();
        }
        List<LoadProblem> problems = new ArrayList<>();
        if (!compiler.createKernels(staticInputs(g) ? staticSignature(g) : trialSignature(g, trialSize), problems)
                || !problems.isEmpty()) {
            return Set.of();
        }
        Set<String> packedOnly = compiler.packedOnlyConstants();
        packed.withhold(packedOnly);
        return packedOnly;
    }

    /**
     * Copies every constant into the weights block and makes the graph refer to the device
     * copies; a constant in {@code packedOnly} is replaced by a withheld placeholder instead.
     */
    private static void placeWeights(Graph g, MemorySegment block, Set<String> packedOnly, String model) {
        long offset = 0;
        for (Map.Entry<String, Tensor> e : g.constants().entrySet()) {
            Tensor t = e.getValue();
            if (packedOnly.contains(e.getKey())) {
                e.setValue(Tensor.withheld(t.dtype(), t.shape(), "constant '" + e.getKey() + "' of model '" + model
                        + "' is in device memory only as pre-packed GEMM panels; its original bytes were not placed"));
                continue;
            }
            MemorySegment dst = block.asSlice(offset, t.byteSize());
            MemorySegment.copy(t.data(), 0, dst, 0, t.byteSize());
            e.setValue(new Tensor(t.dtype(), t.shape(), dst));
            offset += align(t.byteSize());
        }
    }

    private static long align(long v) {
        return (v + 63) & -64L;
    }
}
