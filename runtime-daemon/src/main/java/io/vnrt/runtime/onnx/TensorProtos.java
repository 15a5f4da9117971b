package io.vnrt.runtime.onnx;

import com.google.protobuf.ByteString;
import io.vnrt.proto.onnx.StringStringEntryProto;
import io.vnrt.proto.onnx.TensorProto;
import io.vnrt.runtime.kernels.DType;
import io.vnrt.runtime.kernels.Shapes;
import io.vnrt.runtime.kernels.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Decodes ONNX TensorProtos into engine tensors (host memory) and back. Handles raw_data
 * (little-endian), every typed field (int32_data carrying the narrow integer, bool and 16-bit float
 * types; int64_data; double_data; uint64_data carrying uint32/uint64) and external data files.
 */
public final class TensorProtos {
    private TensorProtos() {}

    /** Decodes a tensor whose external data (if any) is relative to {@code baseDir} (may be null). */
    public static Tensor decode(TensorProto p, Path baseDir) throws IOException {
        if (!p.hasDataType() || p.getDataType() == 0) {
            throw new IOException("tensor '" + p.getName() + "' has no data type");
        }
        DType dtype;
        try {
            dtype = DType.fromOnnx(p.getDataType());
        } catch (IllegalArgumentException e) {
            throw new IOException("tensor '" + p.getName() + "': " + e.getMessage());
        }
        if (dtype == DType.STRING) {
            throw new IOException("tensor '" + p.getName() + "': string tensors are not supported");
        }
        long[] shape = p.getDimsList().stream().mapToLong(Long::longValue).toArray();
        for (long d : shape) {
            if (d < 0) {
                throw new IOException("tensor '" + p.getName() + "' has a negative dimension " + d);
            }
        }
        long count;
        long bytes;
        try {
            count = Shapes.elementCount(shape);
            bytes = Math.multiplyExact(count, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IOException("tensor '" + p.getName() + "' " + dtype.displayName() + java.util.Arrays.toString(shape)
                    + " has more elements than a tensor can hold");
        }
        // Every check against the data actually present comes before the allocation: the declared dims are the
        // model's word, the data is what it brought, and memory is taken only for data that is there.
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            ExternalData external = external(p, baseDir, bytes);
            Tensor t = Tensor.allocate(dtype, shape);
            readExternal(external, t.data(), bytes);
            return t;
        }
        int bits = dtype.packedBits();
        if (bits < 8) {
            return decodePacked(p, dtype, shape, count, bits);
        }
        if (p.hasRawData()) {
            ByteString raw = p.getRawData();
            if (raw.size() != bytes) {
                throw new IOException("tensor '" + p.getName() + "' " + dtype.displayName() + java.util.Arrays.toString(shape)
                        + " needs " + bytes + " bytes of raw_data, has " + raw.size());
            }
            Tensor t = Tensor.allocate(dtype, shape);
            t.data().copyFrom(MemorySegment.ofBuffer(raw.asReadOnlyByteBuffer()));
            return t;
        }
        long have = switch (dtype) {
            case FLOAT32 -> p.getFloatDataCount();
            case FLOAT64 -> p.getDoubleDataCount();
            case INT64 -> p.getInt64DataCount();
            case UINT32, UINT64 -> p.getUint64DataCount();
            default -> p.getInt32DataCount();
        };
        if (have != count) {
            throw new IOException("tensor '" + p.getName() + "' " + dtype.displayName() + java.util.Arrays.toString(shape)
                    + " needs " + count + " values, has " + have);
        }
        Tensor t = Tensor.allocate(dtype, shape);
        MemorySegment d = t.data();
        for (int i = 0; i < count; i++) {
            switch (dtype) {
                case FLOAT32 -> d.setAtIndex(Tensor.F32, i, p.getFloatData(i));
                case FLOAT64 -> d.setAtIndex(Tensor.F64, i, p.getDoubleData(i));
                case INT64 -> d.setAtIndex(Tensor.I64, i, p.getInt64Data(i));
                case UINT64 -> d.setAtIndex(Tensor.I64, i, p.getUint64Data(i));
                case UINT32 -> d.setAtIndex(Tensor.I32, i, (int) p.getUint64Data(i));
                case INT32 -> d.setAtIndex(Tensor.I32, i, p.getInt32Data(i));
                // float16 / bfloat16 / 16-bit integers: the low 16 bits of each int32 are the value's bits
                case FLOAT16, BFLOAT16, INT16, UINT16 -> d.setAtIndex(Tensor.I16, i, (short) p.getInt32Data(i));
                case BOOL -> d.set(Tensor.I8, i, (byte) (p.getInt32Data(i) != 0 ? 1 : 0));
                case INT8, UINT8, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0 ->
                        d.set(Tensor.I8, i, (byte) p.getInt32Data(i));
                default -> throw new IOException("tensor '" + p.getName() + "': unsupported dtype " + dtype);
            }
        }
        return t;
    }

    /** 4- and 2-bit elements: packed low bits first, in raw_data or in int32_data (one byte per int32). */
    private static Tensor decodePacked(TensorProto p, DType dtype, long[] shape, long n, int bits) throws IOException {
        long packedBytes = (n * bits + 7) / 8;
        byte[] bytes;
        boolean unpacked = false;
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new IOException("tensor '" + p.getName() + "': external data of " + dtype.displayName() + " is not supported");
        } else if (p.hasRawData()) {
            bytes = p.getRawData().toByteArray();
        } else {
            bytes = new byte[p.getInt32DataCount()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) p.getInt32Data(i);
            }
            unpacked = bytes.length == n && n != packedBytes;
        }
        if (!unpacked && bytes.length != packedBytes) {
            throw new IOException("tensor '" + p.getName() + "' " + dtype.displayName() + java.util.Arrays.toString(shape)
                    + " needs " + packedBytes + " packed bytes, has " + bytes.length);
        }
        Tensor t = Tensor.allocate(dtype, shape);
        int perByte = 8 / bits;
        int mask = (1 << bits) - 1;
        boolean signed = dtype == DType.INT4 || dtype == DType.INT2;
        for (int i = 0; i < n; i++) {
            int v = unpacked ? bytes[i] & mask : (bytes[i / perByte] >> (bits * (i % perByte))) & mask;
            if (signed && (v & (1 << (bits - 1))) != 0) {
                v -= 1 << bits;
            }
            t.data().set(Tensor.I8, i, (byte) v);
        }
        return t;
    }

    /** Where an external tensor's bytes are, checked to be there. */
    private record ExternalData(String tensor, Path file, long offset) {}

    private static ExternalData external(TensorProto p, Path baseDir, long bytes) throws IOException {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseLong(p, e);
                case "length" -> length = parseLong(p, e);
                default -> { }
            }
        }
        if (location == null) {
            throw new IOException("tensor '" + p.getName() + "' has external data without a location");
        }
        if (baseDir == null) {
            throw new IOException("tensor '" + p.getName() + "' has external data '" + location
                    + "' but the model was not loaded from a file (load it by path)");
        }
        Path file = baseDir.resolve(location).normalize();
        if (!file.startsWith(baseDir.normalize())) {
            throw new IOException("tensor '" + p.getName() + "': external data location '" + location
                    + "' points outside the model's directory");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException("tensor '" + p.getName() + "': external data file " + file + " not found");
        }
        if (length >= 0 && length != bytes) {
            throw new IOException("tensor '" + p.getName() + "' needs " + bytes + " bytes, external data length is " + length);
        }
        long size = Files.size(file);
        if (offset < 0 || offset > size || bytes > size - offset) {
            throw new IOException("tensor '" + p.getName() + "': external data " + file + " has " + size
                    + " bytes, tensor needs " + bytes + " from offset " + offset);
        }
        return new ExternalData(p.getName(), file, offset);
    }

    private static void readExternal(ExternalData external, MemorySegment dst, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(external.file(), StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            if (external.offset() + bytes > ch.size()) {
                throw new IOException("tensor '" + external.tensor() + "': external data " + external.file()
                        + " shrank to " + ch.size() + " bytes while loading");
            }
            if (bytes > 0) {
                MemorySegment src = ch.map(FileChannel.MapMode.READ_ONLY, external.offset(), bytes, arena);
                dst.copyFrom(src);
            }
        }
    }

    private static long parseLong(TensorProto p, StringStringEntryProto e) throws IOException {
        try {
            return Long.parseLong(e.getValue().trim());
        } catch (NumberFormatException ex) {
            throw new IOException("tensor '" + p.getName() + "': external data " + e.getKey() + " '" + e.getValue() + "' is not a number");
        }
    }

    /** Encodes a tensor as a TensorProto with raw_data (little-endian). */
    public static TensorProto encode(String name, Tensor t) {
        byte[] bytes = t.data().toArray(ValueLayout.JAVA_BYTE);
        int bits = t.dtype().packedBits();
        if (bits < 8) {
            int perByte = 8 / bits;
            byte[] packed = new byte[(int) ((t.elementCount() * bits + 7) / 8)];
            for (int i = 0; i < bytes.length; i++) {
                packed[i / perByte] |= (byte) ((bytes[i] & ((1 << bits) - 1)) << (bits * (i % perByte)));
            }
            bytes = packed;
        }
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.dtype().onnxCode()).setRawData(ByteString.copyFrom(bytes));
        if (name != null) {
            b.setName(name);
        }
        for (long d : t.shape()) {
            b.addDims(d);
        }
        return b.build();
    }

    /** Reads a serialized TensorProto file (the conformance input_N.pb / output_N.pb). */
    public static TensorProto read(Path file) throws IOException {
        return TensorProto.parseFrom(Files.readAllBytes(file));
    }
}
