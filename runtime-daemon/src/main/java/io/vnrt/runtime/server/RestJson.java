package io.vnrt.runtime.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.vnrt.proto.inference.InferParameter;
import io.vnrt.proto.inference.ModelInferRequest;
import io.vnrt.proto.inference.ModelInferResponse;
import io.vnrt.runtime.VnrtRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of KServe's REST binding and Triton's binary tensor extension, with Jackson's
 * streaming parser and generator (no object tree: a tensor's "data" goes straight from tokens into
 * its little-endian bytes, and back). Inference requests become the protocol's ModelInferRequest,
 * with every input in raw_input_contents, so REST and gRPC share one path through
 * {@link KServeFrontEnd}; responses are written from ModelInferResponse.
 */
final class RestJson {
  /** Jackson's factory; numbers up to its default length limits, strings up to the message limit. */
  static final JsonFactory JSON = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build()).build();

  private RestJson() {
  }

  /**
   * An inference request as the REST body gives it.
   *
   * @param request the protocol's request (every input's bytes in raw_input_contents, none asking for typed contents)
   * @param binaryOutputs outputs to answer in the binary extension rather than as JSON, by name
   * @param binaryByDefault true when outputs not named (or not saying) go binary (binary_data_output)
   */
  record InferRequest(ModelInferRequest request, Map<String, Boolean> binaryOutputs, boolean binaryByDefault) {
    /** True when output {@code name} goes in the binary extension. */
    boolean binary(String name) {
      return binaryOutputs.getOrDefault(name, binaryByDefault);
    }
  }

  /** One input while its JSON is read: data may come before the datatype and shape that give it meaning. */
  private static final class PendingInput {
    final ModelInferRequest.InferInputTensor.Builder tensor = ModelInferRequest.InferInputTensor.newBuilder();
    long[] values = new long[16];
    /** Elements given as JSON floats (their values hold double bits). */
    BitSet floats = new BitSet();
    /** Elements above Long.MAX_VALUE (their values hold the unsigned bits). */
    BitSet unsigned = new BitSet();
    int count;
    boolean hasData;
    boolean strings;

    void add(long bits, boolean isFloat, boolean isUnsigned) {
      if (count == values.length) {
        values = Arrays.copyOf(values, values.length * 2);
      }
      floats.set(count, isFloat);
      unsigned.set(count, isUnsigned);
      values[count++] = bits;
    }
  }

  /**
   * Parses an infer body: {@code json} is its JSON part, {@code binary} what follows it (empty
   * without the binary extension). INVALID_ARGUMENT for malformed JSON, unknown fields, and data
   * that does not match its shape, datatype or binary_data_size.
   */
  static InferRequest inferRequest(String model, String version, ByteBuf json, ByteBuf binary) {
    ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName(model).setModelVersion(version);
    List<PendingInput> inputs = new ArrayList<>();
    Map<String, Boolean> binaryOutputs = new LinkedHashMap<>();
    boolean binaryByDefault = false;
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(json.duplicate()))) {
      expect(p, JsonToken.START_OBJECT, "the request body");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        switch (field) {
          case "id" -> r.setId(string(p, "id"));
          case "parameters" -> {
            Map<String, InferParameter> params = parameters(p, "parameters");
            InferParameter all = params.remove("binary_data_output");
            binaryByDefault = all != null && all.getBoolParam();
            r.putAllParameters(params);
          }
          case "inputs" -> {
            expect(p, JsonToken.START_ARRAY, "inputs");
            while (p.nextToken() != JsonToken.END_ARRAY) {
              inputs.add(input(p));
            }
          }
          case "outputs" -> {
            expect(p, JsonToken.START_ARRAY, "outputs");
            while (p.nextToken() != JsonToken.END_ARRAY) {
              output(p, r, binaryOutputs);
            }
          }
          default -> throw invalid("unknown field '" + field + "' in the request; expected id, parameters, inputs, "
              + "outputs");
        }
      }
      if (p.nextToken() != null) {
        throw invalid("the JSON of the request goes on after its closing '}'");
      }
    } catch (JsonParseException e) {
      throw invalid("malformed JSON at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ": " + reason(e));
    } catch (IOException e) {
      throw invalid("cannot read the request body: " + e.getMessage());
    }
    int offset = binary.readerIndex();
    for (PendingInput in : inputs) {
      ModelInferRequest.InferInputTensor.Builder t = in.tensor;
      InferParameter size = t.getParametersMap().get("binary_data_size");
      boolean shm = t.getParametersMap().containsKey("shared_memory_region");
      if (size != null) {
        t.removeParameters("binary_data_size");
        long n = size.getInt64Param();
        if (n < 0 || n > binary.writerIndex() - offset) {
          throw invalid("input '" + t.getName() + "': binary_data_size " + n + " is more than the "
              + (binary.writerIndex() - offset) + " bytes left after the JSON (Inference-Header-Content-Length) and the"
              + " inputs before it");
        }
        r.addRawInputContents(UnsafeByteOperations.unsafeWrap(binary.nioBuffer(offset, (int) n)));
        offset += (int) n;
      } else if (in.hasData) {
        r.addRawInputContents(in.strings ? ByteString.EMPTY : bytes(in));
      } else if (shm) {
        r.addRawInputContents(ByteString.EMPTY);
      } else {
        throw invalid("input '" + t.getName() + "' carries no data: give \"data\", a binary_data_size parameter with "
            + "the bytes after the JSON, or a shared_memory_region");
      }
      r.addInputs(t);
    }
    if (offset != binary.writerIndex()) {
      throw invalid("the body holds " + (binary.writerIndex() - offset) + " bytes past the JSON and the inputs' "
          + "binary_data_size: check Inference-Header-Content-Length and each binary_data_size");
    }
    return new InferRequest(r.build(), binaryOutputs, binaryByDefault);
  }

  /** Jackson's explanation of a parse error, without its note on where the source is (always redacted here). */
  static String reason(JsonParseException e) {
    String m = e.getOriginalMessage();
    int note = m.indexOf(" (start marker at ");
    return note < 0 ? m : m.substring(0, note);
  }

  private static PendingInput input(JsonParser p) throws IOException {
    expect(p, JsonToken.START_OBJECT, "an input");
    PendingInput in = new PendingInput();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> in.tensor.setName(string(p, "an input's name"));
        case "datatype" -> in.tensor.setDatatype(string(p, "an input's datatype"));
        case "shape" -> {
          expect(p, JsonToken.START_ARRAY, "shape");
          while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
              throw invalid("shape of input '" + in.tensor.getName() + "' must hold whole numbers, got "
                  + p.getText());
            }
            in.tensor.addShape(p.getLongValue());
          }
        }
        case "parameters" -> in.tensor.putAllParameters(parameters(p, "an input's parameters"));
        case "data" -> {
          in.hasData = true;
          data(p, in);
        }
        default -> throw invalid("unknown field '" + field + "' in input '" + in.tensor.getName() + "'; expected name, "
            + "shape, datatype, parameters, data");
      }
    }
    if (in.tensor.getName().isEmpty()) {
      throw invalid("an input has no name");
    }
    return in;
  }

  /** Reads "data": a flat or nested (row-major) array of numbers, booleans or strings. */
  private static void data(JsonParser p, PendingInput in) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw invalid("data of input '" + in.tensor.getName() + "' must be an array");
    }
    int depth = 1;
    while (depth > 0) {
      JsonToken t = p.nextToken();
      switch (t) {
        case START_ARRAY -> depth++;
        case END_ARRAY -> depth--;
        case VALUE_NUMBER_INT -> {
          boolean big = p.getNumberType() == JsonParser.NumberType.BIG_INTEGER;
          in.add(big ? unsigned(p.getBigIntegerValue(), in) : p.getLongValue(), false, big);
        }
        case VALUE_NUMBER_FLOAT -> in.add(Double.doubleToRawLongBits(p.getDoubleValue()), true, false);
        case VALUE_TRUE -> in.add(1, false, false);
        case VALUE_FALSE -> in.add(0, false, false);
        case VALUE_STRING -> {
          in.strings = true;
          in.add(0, false, false);
        }
        default -> throw invalid("data of input '" + in.tensor.getName() + "' holds " + t
            + "; expected numbers, booleans or strings");
      }
    }
  }

  private static long unsigned(BigInteger v, PendingInput in) {
    if (v.signum() < 0 || v.bitLength() > 64) {
      // a number below Long.MIN_VALUE or above 2^64 - 1
      throw invalid("data of input '" + in.tensor.getName() + "': " + v + " fits no 64-bit integer");
    }
    return v.longValue();
  }

  /** The little-endian bytes of JSON data, checked against the input's datatype and shape. */
  private static ByteString bytes(PendingInput in) {
    ModelInferRequest.InferInputTensor.Builder t = in.tensor;
    long elements = 1;
    for (long d : t.getShapeList()) {
      elements = d < 0 ? -1 : elements * d;
      if (elements < 0 || elements > Integer.MAX_VALUE) {
        throw invalid("input '" + t.getName() + "': shape " + t.getShapeList() + " is not a valid shape for JSON data");
      }
    }
    if (elements != in.count) {
      throw invalid("input '" + t.getName() + "': shape " + t.getShapeList() + " holds " + elements + " elements but "
          + "data has " + in.count);
    }
    int width = switch (t.getDatatype()) {
      case "BOOL", "INT8", "UINT8" -> 1;
      case "INT16", "UINT16", "FP16", "BF16" -> 2;
      case "INT32", "UINT32", "FP32" -> 4;
      case "INT64", "UINT64", "FP64" -> 8;
      // the front end explains an unknown datatype, with the model's own
      default -> 0;
    };
    if (width == 0) {
      return ByteString.EMPTY;
    }
    ByteBuffer b = ByteBuffer.allocate(in.count * width).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < in.count; i++) {
      long v = in.values[i];
      double d = in.floats.get(i) ? Double.longBitsToDouble(v)
          : in.unsigned.get(i) ? new BigInteger(Long.toUnsignedString(v)).doubleValue() : v;
      switch (t.getDatatype()) {
        case "BOOL" -> b.put((byte) (integral(in, i, 0, 1) != 0 ? 1 : 0));
        case "INT8" -> b.put((byte) integral(in, i, Byte.MIN_VALUE, Byte.MAX_VALUE));
        case "UINT8" -> b.put((byte) integral(in, i, 0, 0xff));
        case "INT16" -> b.putShort((short) integral(in, i, Short.MIN_VALUE, Short.MAX_VALUE));
        case "UINT16" -> b.putShort((short) integral(in, i, 0, 0xffff));
        case "INT32" -> b.putInt((int) integral(in, i, Integer.MIN_VALUE, Integer.MAX_VALUE));
        case "UINT32" -> b.putInt((int) integral(in, i, 0, 0xffffffffL));
        case "INT64", "UINT64" -> b.putLong(integral(in, i, Long.MIN_VALUE, Long.MAX_VALUE));
        case "FP16" -> b.putShort(Float.floatToFloat16((float) d));
        case "BF16" -> b.putShort(bfloat16((float) d));
        case "FP32" -> b.putFloat((float) d);
        case "FP64" -> b.putDouble(d);
        default -> throw new IllegalStateException("unreachable: " + t.getDatatype());
      }
    }
    return UnsafeByteOperations.unsafeWrap(b.array());
  }

  private static long integral(PendingInput in, int i, long min, long max) {
    ModelInferRequest.InferInputTensor.Builder t = in.tensor;
    long v = in.values[i];
    if (in.floats.get(i)) {
      throw invalid("input '" + t.getName() + "' (" + t.getDatatype() + "): data[" + i + "] is "
          + Double.longBitsToDouble(v) + ", not a whole number");
    }
    boolean ok = t.getDatatype().equals("UINT64") ? v >= 0 || in.unsigned.get(i)
        : !in.unsigned.get(i) && v >= min && v <= max;
    if (!ok) {
      String shown = in.unsigned.get(i) ? Long.toUnsignedString(v) : String.valueOf(v);
      throw invalid("input '" + t.getName() + "' (" + t.getDatatype() + "): data[" + i + "] is " + shown
          + ", outside its datatype's range");
    }
    return v;
  }

  /** bfloat16 of a float, rounded to nearest even. */
  static short bfloat16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }

  private static void output(JsonParser p, ModelInferRequest.Builder r, Map<String, Boolean> binary)
      throws IOException {
    expect(p, JsonToken.START_OBJECT, "an output");
    ModelInferRequest.InferRequestedOutputTensor.Builder out = ModelInferRequest.InferRequestedOutputTensor
        .newBuilder();
    Map<String, InferParameter> params = Map.of();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> out.setName(string(p, "an output's name"));
        case "parameters" -> params = parameters(p, "an output's parameters");
        default -> throw invalid("unknown field '" + field + "' in an output; expected name, parameters");
      }
    }
    Map<String, InferParameter> kept = new LinkedHashMap<>(params);
    InferParameter b = kept.remove("binary_data");
    if (b != null) {
      binary.put(out.getName(), b.getBoolParam());
    }
    if (kept.containsKey("classification")) {
      throw invalid("output '" + out.getName() + "': the classification extension is not supported; ask for the "
          + "output's data");
    }
    r.addOutputs(out.putAllParameters(kept));
  }

  /** A "parameters" object: each value a bool, integer, number or string. */
  private static Map<String, InferParameter> parameters(JsonParser p, String what) throws IOException {
    expect(p, JsonToken.START_OBJECT, what);
    Map<String, InferParameter> out = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      JsonToken v = p.nextToken();
      InferParameter.Builder b = InferParameter.newBuilder();
      switch (v) {
        case VALUE_TRUE, VALUE_FALSE -> b.setBoolParam(v == JsonToken.VALUE_TRUE);
        case VALUE_NUMBER_INT -> {
          if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            b.setUint64Param(p.getBigIntegerValue().longValue());
          } else {
            b.setInt64Param(p.getLongValue());
          }
        }
        case VALUE_NUMBER_FLOAT -> b.setDoubleParam(p.getDoubleValue());
        case VALUE_STRING -> b.setStringParam(p.getText());
        default -> throw invalid(what + ": parameter '" + key + "' must be a bool, number or string, got " + v);
      }
      out.put(key, b.build());
    }
    return out;
  }

  private static void expect(JsonParser p, JsonToken token, String what) throws IOException {
    JsonToken t = p.currentToken() == null ? p.nextToken() : p.currentToken();
    if (t != token) {
      throw invalid(what + " must be a JSON " + (token == JsonToken.START_OBJECT ? "object" : "array") + ", got "
          + (t == null ? "nothing" : p.getText()));
    }
  }

  private static String string(JsonParser p, String what) throws IOException {
    if (p.currentToken() != JsonToken.VALUE_STRING) {
      throw invalid(what + " must be a string, got " + p.getText());
    }
    return p.getText();
  }

  static VnrtRuntimeException invalid(String message) {
    return VnrtRuntimeException.invalid(message);
  }

  /**
   * Writes an inference response: JSON, with each output's data as a JSON array or, for binary
   * outputs, as bytes after the JSON. Returns the JSON part's length (the
   * Inference-Header-Content-Length) when any output went binary, else -1.
   */
  static int inferResponse(ModelInferResponse response, InferRequest request, ByteBuf out) throws IOException {
    List<ByteString> binary = new ArrayList<>();
    int start = out.writerIndex();
    try (JsonGenerator g = JSON.createGenerator((OutputStream) new ByteBufOutputStream(out))) {
      g.writeStartObject();
      g.writeStringField("model_name", response.getModelName());
      g.writeStringField("model_version", response.getModelVersion());
      if (!response.getId().isEmpty()) {
        g.writeStringField("id", response.getId());
      }
      g.writeArrayFieldStart("outputs");
      for (int i = 0; i < response.getOutputsCount(); i++) {
        ModelInferResponse.InferOutputTensor t = response.getOutputs(i);
        ByteString raw = i < response.getRawOutputContentsCount() ? response.getRawOutputContents(i) : ByteString.EMPTY;
        g.writeStartObject();
        g.writeStringField("name", t.getName());
        g.writeStringField("datatype", t.getDatatype());
        g.writeArrayFieldStart("shape");
        for (long d : t.getShapeList()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        boolean shm = t.getParametersMap().containsKey("shared_memory_region");
        if (shm || request.binary(t.getName())) {
          g.writeObjectFieldStart("parameters");
          for (Map.Entry<String, InferParameter> p : t.getParametersMap().entrySet()) {
            parameter(g, p.getKey(), p.getValue());
          }
          if (!shm) {
            g.writeNumberField("binary_data_size", raw.size());
            binary.add(raw);
          }
          g.writeEndObject();
        } else {
          g.writeFieldName("data");
          data(g, t.getDatatype(), raw);
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    int headerLength = out.writerIndex() - start;
    for (ByteString b : binary) {
      for (ByteBuffer piece : b.asReadOnlyByteBufferList()) {
        out.writeBytes(piece);
      }
    }
    return binary.isEmpty() ? -1 : headerLength;
  }

  private static void parameter(JsonGenerator g, String key, InferParameter v) throws IOException {
    switch (v.getParameterChoiceCase()) {
      case BOOL_PARAM -> g.writeBooleanField(key, v.getBoolParam());
      case INT64_PARAM -> g.writeNumberField(key, v.getInt64Param());
      case UINT64_PARAM -> {
        g.writeFieldName(key);
        g.writeNumber(new BigInteger(Long.toUnsignedString(v.getUint64Param())));
      }
      case DOUBLE_PARAM -> g.writeNumberField(key, v.getDoubleParam());
      case STRING_PARAM -> g.writeStringField(key, v.getStringParam());
      case PARAMETERCHOICE_NOT_SET -> g.writeNullField(key);
    }
  }

  /** An output's little-endian bytes as a flat JSON array. */
  private static void data(JsonGenerator g, String datatype, ByteString raw) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(raw.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    g.writeStartArray();
    while (b.hasRemaining()) {
      switch (datatype) {
        case "BOOL" -> g.writeBoolean(b.get() != 0);
        case "INT8" -> g.writeNumber(b.get());
        case "UINT8" -> g.writeNumber(Byte.toUnsignedInt(b.get()));
        case "INT16" -> g.writeNumber(b.getShort());
        case "UINT16" -> g.writeNumber(Short.toUnsignedInt(b.getShort()));
        case "INT32" -> g.writeNumber(b.getInt());
        case "UINT32" -> g.writeNumber(Integer.toUnsignedLong(b.getInt()));
        case "INT64" -> g.writeNumber(b.getLong());
        case "UINT64" -> g.writeNumber(new BigInteger(Long.toUnsignedString(b.getLong())));
        case "FP16" -> g.writeNumber(Float.float16ToFloat(b.getShort()));
        case "BF16" -> g.writeNumber(Float.intBitsToFloat((b.getShort() & 0xffff) << 16));
        case "FP32" -> g.writeNumber(b.getFloat());
        case "FP64" -> g.writeNumber(b.getDouble());
        default -> throw new IllegalStateException("no JSON form for datatype " + datatype);
      }
    }
    g.writeEndArray();
  }

  /**
   * A protobuf message as Triton's REST JSON writes it: proto field names, 64-bit integers as
   * numbers (not the strings of protobuf's own JSON), enums by name, every scalar and list field
   * (zero values included), message fields when set.
   */
  static void message(JsonGenerator g, Message m) throws IOException {
    g.writeStartObject();
    for (Descriptors.FieldDescriptor f : m.getDescriptorForType().getFields()) {
      boolean isMessage = f.getJavaType() == Descriptors.FieldDescriptor.JavaType.MESSAGE;
      if (f.getRealContainingOneof() != null || (isMessage && !f.isRepeated())) {
        if (!m.hasField(f)) {
          continue;
        }
      }
      g.writeFieldName(f.getName());
      if (f.isMapField()) {
        g.writeStartObject();
        for (Object entry : (List<?>) m.getField(f)) {
          Message e = (Message) entry;
          Descriptors.Descriptor d = e.getDescriptorForType();
          g.writeFieldName(String.valueOf(e.getField(d.findFieldByName("key"))));
          value(g, d.findFieldByName("value"), e.getField(d.findFieldByName("value")));
        }
        g.writeEndObject();
      } else if (f.isRepeated()) {
        g.writeStartArray();
        for (Object v : (List<?>) m.getField(f)) {
          value(g, f, v);
        }
        g.writeEndArray();
      } else {
        value(g, f, m.getField(f));
      }
    }
    g.writeEndObject();
  }

  private static void value(JsonGenerator g, Descriptors.FieldDescriptor f, Object v) throws IOException {
    switch (f.getType()) {
      case MESSAGE, GROUP -> message(g, (Message) v);
      case ENUM -> g.writeString(((Descriptors.EnumValueDescriptor) v).getName());
      case BOOL -> g.writeBoolean((Boolean) v);
      case STRING -> g.writeString((String) v);
      case BYTES -> g.writeBinary(((ByteString) v).toByteArray());
      case FLOAT -> g.writeNumber((Float) v);
      case DOUBLE -> g.writeNumber((Double) v);
      case UINT64, FIXED64 -> g.writeNumber(new BigInteger(Long.toUnsignedString((Long) v)));
      case UINT32, FIXED32 -> g.writeNumber(Integer.toUnsignedLong((Integer) v));
      case INT64, SINT64, SFIXED64 -> g.writeNumber((Long) v);
      default -> g.writeNumber((Integer) v);
    }
  }
}
