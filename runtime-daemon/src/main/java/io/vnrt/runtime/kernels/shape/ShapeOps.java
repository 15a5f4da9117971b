package io.vnrt.runtime.kernels.shape;

import io.vnrt.runtime.kernels.OpRegistry;

/**
 * Shape and data-movement operators. They work on raw element bytes, so one path serves every
 * dtype; values that decide output shapes come from {@code NodeContext.requireConstant}.
 */
public final class ShapeOps {
    private ShapeOps() {}

    /** Adds this family's operators to the registry. */
    public static void register(OpRegistry registry) {
        registry.register("Reshape", LayoutOps::reshape);
        registry.register("Flatten", LayoutOps::flatten);
        registry.register("Squeeze", LayoutOps::squeeze);
        registry.register("Unsqueeze", LayoutOps::unsqueeze);
        registry.register("Identity", LayoutOps::identity);
        registry.register("Transpose", LayoutOps::transpose);
        registry.register("Concat", LayoutOps::concat);
        registry.register("Split", LayoutOps::split);
        registry.register("Slice", LayoutOps::slice);
        registry.register("Expand", LayoutOps::expand);
        registry.register("Tile", LayoutOps::tile);
        registry.register("DepthToSpace", LayoutOps::depthToSpace);
        registry.register("SpaceToDepth", LayoutOps::spaceToDepth);
        registry.register("Gather", IndexOps::gather);
        registry.register("GatherElements", IndexOps::gatherElements);
        registry.register("GatherND", IndexOps::gatherND);
        registry.register("ScatterND", IndexOps::scatterND);
        registry.register("ScatterElements", IndexOps::scatterElements);
        registry.register("Pad", PadKernel::create);
        registry.register("Shape", ValueOps::shape);
        registry.register("Size", ValueOps::size);
        registry.register("Constant", ValueOps::constant);
        registry.register("ConstantOfShape", ValueOps::constantOfShape);
        registry.register("Range", ValueOps::range);
        registry.register("NonZero", ValueOps::nonZero);
        registry.register("Trilu", ValueOps::trilu);
        registry.register("OneHot", ValueOps::oneHot);
        registry.register("Resize", ResizeKernel::create);
        // issue 11 (tier 2)
        registry.register("Compress", SelectionOps::compress);
        registry.register("Unique", SelectionOps::unique);
        registry.register("ReverseSequence", SelectionOps::reverseSequence);
        registry.register("EyeLike", SelectionOps::eyeLike);
    }
}
