package io.vnrt.runtime.logging;

/** JSON string literals, for the JSON log lines and the CLI's JSON output. */
public final class JsonText {
  private JsonText() {
  }

  /** Appends {@code s} as a JSON string literal (RFC 8259 escaping); null as "null". */
  public static void quote(StringBuilder out, String s) {
    out.append('"');
    String text = s == null ? "null" : s;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
