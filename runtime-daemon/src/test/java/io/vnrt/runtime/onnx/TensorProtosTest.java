package io.vnrt.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.vnrt.proto.onnx.StringStringEntryProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.MiniFloats;
import io.vnrt.runtime.kernels.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TensorProto decoding for every storage form, and the small-float codecs. */
class TensorProtosTest {

    private static TensorProto.Builder proto(DType t, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName("t").setDataType(t.onnxCode());
        for (long d : dims) {
            b.addDims(d);
        }
        return b;
    }

    @Test
    void typedFields() throws IOException {
        Tensor f16 = TensorProtos.decode(proto(DType.FLOAT16, 2).addInt32Data(Float.floatToFloat16(1.5f)).addInt32Data(Float.floatToFloat16(-2f)).build(), null);
        assertArrayEquals(new float[] {1.5f, -2f}, f16.toFloatArray());
        Tensor bf = TensorProtos.decode(proto(DType.BFLOAT16, 1).addInt32Data(Tensor.floatToBfloat16(3f) & 0xFFFF).build(), null);
        assertEquals(3f, bf.getDouble(0));
        Tensor b = TensorProtos.decode(proto(DType.BOOL, 3).addInt32Data(1).addInt32Data(0).addInt32Data(7).build(), null);
        assertArrayEquals(new long[] {1, 0, 1}, b.toLongArray());
        Tensor u8 = TensorProtos.decode(proto(DType.UINT8, 2).addInt32Data(255).addInt32Data(3).build(), null);
        assertArrayEquals(new long[] {255, 3}, u8.toLongArray());
        Tensor u32 = TensorProtos.decode(proto(DType.UINT32, 1).addUint64Data(4_000_000_000L).build(), null);
        assertEquals(4_000_000_000L, u32.getLong(0));
        Tensor u64 = TensorProtos.decode(proto(DType.UINT64, 1).addUint64Data(-1L).build(), null);
        assertEquals(-1L, u64.getLong(0));
        Tensor f64 = TensorProtos.decode(proto(DType.FLOAT64, 1).addDoubleData(Math.PI).build(), null);
        assertEquals(Math.PI, f64.getDouble(0));
        Tensor i64 = TensorProtos.decode(proto(DType.INT64, 2).addInt64Data(Long.MIN_VALUE).addInt64Data(5).build(), null);
        assertArrayEquals(new long[] {Long.MIN_VALUE, 5}, i64.toLongArray());
        Tensor scalar = TensorProtos.decode(proto(DType.FLOAT32).addFloatData(2.5f).build(), null);
        assertEquals(0, scalar.rank());
        IOException e = assertThrows(IOException.class, () -> TensorProtos.decode(proto(DType.FLOAT32, 3).addFloatData(1).build(), null));
        assertTrue(e.getMessage().contains("needs 3 values, has 1"), e.getMessage());
    }

    @Test
    void rawDataRoundTripsEveryDtype() throws IOException {
        for (DType t : DType.values()) {
            if (t == DType.STRING) {
                continue;
            }
            Tensor x = Tensor.allocate(t, 5);
            for (int i = 0; i < 5; i++) {
                x.setDouble(i, i - 2);
            }
            Tensor back = TensorProtos.decode(TensorProtos.encode("x", x), null);
            assertEquals(t, back.dtype());
            for (int i = 0; i < 5; i++) {
                assertEquals(x.getDouble(i), back.getDouble(i), t.toString());
            }
        }
    }

    @Test
    void packedSubByteTypes() throws IOException {
        // int4 [-1, 7, -8] packed low nibble first: 0x7F, 0x08
        Tensor i4 = TensorProtos.decode(proto(DType.INT4, 3).setRawData(ByteString.copyFrom(new byte[] {0x7F, 0x08})).build(), null);
        assertArrayEquals(new long[] {-1, 7, -8}, i4.toLongArray());
        Tensor u2 = TensorProtos.decode(proto(DType.UINT2, 5).setRawData(ByteString.copyFrom(new byte[] {(byte) 0b11100100, 0b01})).build(), null);
        assertArrayEquals(new long[] {0, 1, 2, 3, 1}, u2.toLongArray());
    }

    @Test
    void externalData(@TempDir Path dir) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(16 + 12).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(16);
        buf.putFloat(1).putFloat(2).putFloat(3);
        Files.write(dir.resolve("weights.bin"), buf.array());
        TensorProto p = proto(DType.FLOAT32, 3).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("16"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue("12")).build();
        assertArrayEquals(new float[] {1, 2, 3}, TensorProtos.decode(p, dir).toFloatArray());
        TensorProto missing = p.toBuilder().setExternalData(0, StringStringEntryProto.newBuilder().setKey("location").setValue("nope.bin")).build();
        assertTrue(assertThrows(IOException.class, () -> TensorProtos.decode(missing, dir)).getMessage().contains("not found"));
        TensorProto escape = p.toBuilder().setExternalData(0, StringStringEntryProto.newBuilder().setKey("location").setValue("../x.bin")).build();
        assertTrue(assertThrows(IOException.class, () -> TensorProtos.decode(escape, dir)).getMessage().contains("outside"));
    }

    @Test
    void smallFloatCodecs() {
        assertEquals(448f, MiniFloats.decode(DType.FLOAT8E4M3FN, MiniFloats.encode(DType.FLOAT8E4M3FN, 1e6, true)));
        assertTrue(Float.isNaN(MiniFloats.decode(DType.FLOAT8E4M3FN, MiniFloats.encode(DType.FLOAT8E4M3FN, 1e6, false))));
        assertEquals(Float.POSITIVE_INFINITY, MiniFloats.decode(DType.FLOAT8E5M2, MiniFloats.encode(DType.FLOAT8E5M2, 1e6, false)));
        assertEquals(57344f, MiniFloats.decode(DType.FLOAT8E5M2FNUZ, MiniFloats.encode(DType.FLOAT8E5M2FNUZ, Double.POSITIVE_INFINITY, true)));
        // ties to even: 1.0625 lies halfway between 1.0 and 1.125 in E4M3 (3 mantissa bits)
        assertEquals(1.0f, MiniFloats.decode(DType.FLOAT8E4M3FN, MiniFloats.encode(DType.FLOAT8E4M3FN, 1.0625, true)));
        assertEquals(1.25f, MiniFloats.decode(DType.FLOAT8E4M3FN, MiniFloats.encode(DType.FLOAT8E4M3FN, 1.1875, true)));
        // every finite code round-trips
        for (DType t : new DType[] {DType.FLOAT8E4M3FN, DType.FLOAT8E4M3FNUZ, DType.FLOAT8E5M2, DType.FLOAT8E5M2FNUZ}) {
            for (int c = 0; c < 256; c++) {
                float v = MiniFloats.decode(t, c);
                if (Float.isFinite(v) && !(v == 0 && c != 0)) {
                    assertEquals(c, MiniFloats.encode(t, v, true), t + " code " + c);
                }
            }
        }
        assertEquals(6f, MiniFloats.decode(DType.FLOAT4E2M1, MiniFloats.encode(DType.FLOAT4E2M1, 100, true)));
        assertEquals(0.5f, MiniFloats.decode(DType.FLOAT4E2M1, MiniFloats.encode(DType.FLOAT4E2M1, 0.5, true)));
    }
}
