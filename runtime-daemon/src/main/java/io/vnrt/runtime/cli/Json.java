package io.vnrt.runtime.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.MessageOrBuilder;
import io.vnrt.runtime.logging.JsonText;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CLI's JSON output. Protobuf messages come out with the field names, enum names and shapes of
 * protobuf's JSON mapping, every field without presence included (as {@code JsonFormat}'s
 * alwaysPrintFieldsWithNoPresence does), but with 64-bit integers as JSON numbers: the mapping
 * writes them as strings, which tools such as jq then cannot add or compare. Plain values
 * (maps, lists, strings, numbers, booleans) are written the same way.
 */
final class Json {
  private Json() {
  }

  /** The message (or plain value) as indented JSON, one field a line. */
  static String pretty(Object value) {
    StringBuilder out = new StringBuilder();
    write(tree(value), out, "\n");
    return out.toString();
  }

  /** The message (or plain value) as JSON on one line, without insignificant whitespace. */
  static String compact(Object value) {
    StringBuilder out = new StringBuilder();
    write(tree(value), out, null);
    return out.toString();
  }

  /** Messages become maps in field order; everything else is left as it is. */
  private static Object tree(Object value) {
    return value instanceof MessageOrBuilder m ? message(m) : value;
  }

  private static Map<String, Object> message(MessageOrBuilder m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
      if (f.isMapField()) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (Object entry : (List<?>) m.getField(f)) {
          MessageOrBuilder e = (MessageOrBuilder) entry;
          FieldDescriptor key = e.getDescriptorForType().findFieldByNumber(1);
          FieldDescriptor val = e.getDescriptorForType().findFieldByNumber(2);
          map.put(String.valueOf(scalar(key, e.getField(key))), scalar(val, e.getField(val)));
        }
        out.put(f.getJsonName(), map);
      } else if (f.isRepeated()) {
        List<Object> list = new ArrayList<>();
        for (Object element : (List<?>) m.getField(f)) {
          list.add(scalar(f, element));
        }
        out.put(f.getJsonName(), list);
      } else if (!f.hasPresence() || m.hasField(f)) {
        out.put(f.getJsonName(), scalar(f, m.getField(f)));
      }
    }
    return out;
  }

  private static Object scalar(FieldDescriptor f, Object v) {
    return switch (f.getType()) {
      case MESSAGE, GROUP -> message((MessageOrBuilder) v);
      case ENUM -> {
        EnumValueDescriptor e = (EnumValueDescriptor) v;
        yield e.getIndex() < 0 ? e.getNumber() : e.getName();
      }
      case UINT64, FIXED64 -> new BigInteger(Long.toUnsignedString((Long) v));
      case UINT32, FIXED32 -> Integer.toUnsignedLong((Integer) v);
      case BYTES -> Base64.getEncoder().encodeToString(((ByteString) v).toByteArray());
      case FLOAT, DOUBLE -> {
        double d = ((Number) v).doubleValue();
        yield Double.isFinite(d) ? v : Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
      }
      default -> v;
    };
  }

  /** Writes a tree; {@code newline} is the line break plus the current indent, or null for one line. */
  private static void write(Object v, StringBuilder out, String newline) {
    if (v instanceof Map<?, ?> map) {
      out.append('{');
      String inner = newline == null ? null : newline + "  ";
      int n = 0;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.append(n++ == 0 ? "" : ",");
        if (inner != null) {
          out.append(inner);
        }
        JsonText.quote(out, String.valueOf(e.getKey()));
        out.append(newline == null ? ":" : ": ");
        write(e.getValue(), out, inner);
      }
      if (n > 0 && newline != null) {
        out.append(newline);
      }
      out.append('}');
    } else if (v instanceof List<?> list) {
      out.append('[');
      String inner = newline == null ? null : newline + "  ";
      for (int i = 0; i < list.size(); i++) {
        out.append(i == 0 ? "" : ",");
        if (inner != null) {
          out.append(inner);
        }
        write(list.get(i), out, inner);
      }
      if (!list.isEmpty() && newline != null) {
        out.append(newline);
      }
      out.append(']');
    } else if (v instanceof MessageOrBuilder m) {
      write(message(m), out, newline);
    } else if (v instanceof Number || v instanceof Boolean) {
      out.append(v);
    } else if (v == null) {
      out.append("null");
    } else {
      JsonText.quote(out, v.toString());
    }
  }
}
