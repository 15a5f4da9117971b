/**
 * Shape and data-movement operators (Reshape ... Resize), registered by {@link
 * io.vnrt.runtime.kernels.shape.ShapeOps}.
 *
 * <p>Almost everything here moves raw element bytes, so one code path serves every dtype: Transpose,
 * Slice, Expand, Tile, Concat, Split, DepthToSpace and SpaceToDepth are a {@code StridedCopy} (a
 * strided view copied into another, dimensions merged where contiguous, 16x16 vector tiles for
 * 4-byte transposes); Reshape, Flatten, Squeeze, Unsqueeze and Identity alias their input. Values
 * that decide output shapes are taken from {@code NodeContext.requireConstant} at compile time; the
 * tables that depend on them (Pad's runs, Resize's taps) are built once per plan.
 */
package io.vnrt.runtime.kernels.shape;
