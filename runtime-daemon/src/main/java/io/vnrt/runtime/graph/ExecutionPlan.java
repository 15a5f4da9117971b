package io.vnrt.runtime.graph;

import io.vnrt.runtime.kernels.Kernel;
import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A model compiled for one input-shape signature: kernels in execution order over numbered value
 * slots, each slot an input, a constant, an offset in the scratch block, or an alias (view) of
 * another slot's bytes. Nodes whose shapes depend on values known only at execution time form a
 * dynamic tail, compiled and run per execution.
 */
public final class ExecutionPlan {
    /** Where a slot's bytes live. */
    public enum SlotKind { INPUT, CONSTANT, SCRATCH, ALIAS }

    /**
     * One kernel invocation. {@code skip} marks a pure reinterpretation whose outputs alias its
     * input, so nothing runs. Slots of absent inputs / unused outputs are -1.
     */
    public record Step(Node node, Kernel kernel, int[] inputs, int[] outputs, boolean skip, long workspaceOffset,
            long workspaceBytes) {}

    private final List<TensorType> signature;
    private final String[] slotNames;
    private final TensorType[] slotTypes;
    private final SlotKind[] kinds;
    private final Tensor[] constants;
    private final long[] offsets;
    private final int[] aliasRoot;
    private final int[] inputIndex;
    private final List<Step> steps;
    private final int[] outputSlots;
    private final List<Node> dynamicNodes;
    private final long scratchBytes;
    private final Map<String, Integer> slotByName;

    ExecutionPlan(List<TensorType> signature, String[] slotNames, TensorType[] slotTypes, SlotKind[] kinds,
            Tensor[] constants, long[] offsets, int[] aliasRoot, int[] inputIndex, List<Step> steps, int[] outputSlots,
            List<Node> dynamicNodes, long scratchBytes, Map<String, Integer> slotByName) {
        this.signature = List.copyOf(signature);
        this.slotNames = slotNames;
        this.slotTypes = slotTypes;
        this.kinds = kinds;
        this.constants = constants;
        this.offsets = offsets;
        this.aliasRoot = aliasRoot;
        this.inputIndex = inputIndex;
        this.steps = List.copyOf(steps);
        this.outputSlots = outputSlots;
        this.dynamicNodes = List.copyOf(dynamicNodes);
        this.scratchBytes = scratchBytes;
        this.slotByName = Collections.unmodifiableMap(slotByName); // the compiler's own map, not kept by it: no copy
    }

    /** Input types (graph input order) this plan was compiled for. */
    public List<TensorType> signature() {
        return signature;
    }

    public int slotCount() {
        return slotNames.length;
    }

    public String slotName(int slot) {
        return slotNames[slot];
    }

    public TensorType slotType(int slot) {
        return slotTypes[slot];
    }

    public SlotKind slotKind(int slot) {
        return kinds[slot];
    }

    /** The value of a CONSTANT slot. */
    public Tensor constant(int slot) {
        return constants[slot];
    }

    /** Byte offset of a SCRATCH slot in the scratch block. */
    public long offset(int slot) {
        return offsets[slot];
    }

    /** The slot an ALIAS slot views (never itself an alias). */
    public int aliasRoot(int slot) {
        return aliasRoot[slot];
    }

    /** Graph input index of an INPUT slot. */
    public int inputIndex(int slot) {
        return inputIndex[slot];
    }

    public List<Step> steps() {
        return steps;
    }

    /** Slot of each graph output, or -1 when the dynamic tail produces it. */
    public int outputSlot(int output) {
        return outputSlots[output];
    }

    /** Number of graph outputs. */
    public int outputCount() {
        return outputSlots.length;
    }

    /** Nodes compiled and run at execution time (empty for a fully static plan). */
    public List<Node> dynamicNodes() {
        return dynamicNodes;
    }

    /** The slot of a named value, or null. */
    public Integer slotOf(String name) {
        return slotByName.get(name);
    }

    /** Bytes of scratch (intermediates and kernel workspaces) the plan needs. */
    public long scratchBytes() {
        return scratchBytes;
    }

    /** Number of kernels that actually run (excludes folded and aliased nodes). */
    public long kernelCount() {
        return steps.stream().filter(s -> !s.skip()).count();
    }
}
