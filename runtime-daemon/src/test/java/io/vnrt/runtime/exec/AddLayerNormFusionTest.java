package io.vnrt.runtime.exec;

import static io.vnrt.runtime.exec.TestTensors.gaussian;
import static io.vnrt.runtime.kernels.DType.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vnrt.runtime.kernels.Tensor;
import io.vnrt.runtime.kernels.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A residual Add read only by a LayerNormalization runs as one fused kernel whose output equals
 * the unfused pair's bit for bit: the same model with the sum also a graph output (so the
 * optimizer must keep the Add) is the reference. Row lengths off every vector width, the
 * broadcasts transformers use (position embeddings [S, H] added to [1, S, H]) and others (summed
 * element by element first), a norm over more than the last axis, no bias, and rows split over
 * two cores.
 */
class AddLayerNormFusionTest {
    private final CoreGroup group = new CoreGroup("add-layernorm-test", 2);

    @AfterEach
    void close() {
        group.close();
    }

    @ParameterizedTest(name = "{0} + {1}, axis {2}, bias {3}")
    @CsvSource(delimiter = ';', value = {
        "2,5,37; 2,5,37; -1; true", "1,6,768; 6,768; -1; true", "6,768; 1,6,768; -1; false",
        "2,3,16; 2,1,16; -1; true", "2,3,8; 8; 1; true", "4,64,768; 4,64,768; -1; true", "3,1,5; 3,4,5; 2; true"})
    void fusedEqualsUnfusedBitForBit(String aDims, String bDims, int axis, boolean bias) throws Exception {
        long[] as = dims(aDims);
        long[] bs = dims(bDims);
        long[] ys = io.vnrt.runtime.kernels.Shapes.broadcast(as, bs);
        int ax = axis < 0 ? ys.length + axis : axis;
        long[] norm = Arrays.copyOfRange(ys, ax, ys.length);
        Random r = new Random(Arrays.hashCode(ys) + axis);
        Tensor a = gaussian(r, as);
        Tensor b = gaussian(r, bs);
        Tensor scale = gaussian(r, norm);
        Tensor beta = gaussian(r, norm);
        TensorType[] sig = {a.type(), b.type()};
        Tensor[] ys2 = new Tensor[2];
        int[] kernels = new int[2];
        for (int v = 0; v < 2; v++) {
            ModelBuilder mb = new ModelBuilder(17).input("a", FLOAT32, boxed(as)).input("b", FLOAT32, boxed(bs))
                    .output("y", FLOAT32, boxed(ys)).initializer("scale", scale);
            List<String> lnIn = new ArrayList<>(List.of("sum", "scale"));
            if (bias) {
                mb.initializer("bias", beta);
                lnIn.add("bias");
            }
            if (v == 1) {
                mb.output("sum", FLOAT32, boxed(ys));
            }
            byte[] model = mb.node("Add", List.of("a", "b"), List.of("sum"))
                    .node("LayerNormalization", lnIn, List.of("y"), ModelBuilder.intAttr("axis", axis),
                            ModelBuilder.floatAttr("epsilon", 1e-5f)).bytes();
            try (LoadedModel m = new Engine().load("m", model, null, new HostMemory(), group)) {
                kernels[v] = (int) m.plan(List.of(sig)).kernelCount();
                ys2[v] = m.execute(Map.of("a", a, "b", b)).get("y");
            }
        }
        assertEquals(1, kernels[0], "Add and LayerNormalization fused into one kernel");
        assertEquals(2, kernels[1], "the sum is a graph output too, so the Add stays");
        for (long i = 0; i < ys2[1].elementCount(); i++) {
            assertEquals(Float.floatToRawIntBits(ys2[1].getFloat(i)), Float.floatToRawIntBits(ys2[0].getFloat(i)),
                    "y element " + i + ": unfused " + ys2[1].getFloat(i) + ", fused " + ys2[0].getFloat(i));
        }
    }

    private static long[] dims(String s) {
        return Arrays.stream(s.split(",")).mapToLong(Long::parseLong).toArray();
    }

    private static Object[] boxed(long[] d) {
        return Arrays.stream(d).boxed().toArray();
    }
}
