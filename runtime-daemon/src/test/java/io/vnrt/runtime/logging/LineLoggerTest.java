package io.vnrt.runtime.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/** The SLF4J provider: SLF4J finds it, lines are whole, JSON parses, MDC entries are on the line. */
class LineLoggerTest {
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private PrintStream before;
  private final Logger log = LoggerFactory.getLogger("io.vnrt.test.Component");

  @BeforeEach
  void capture() {
    before = LogSettings.redirect(new PrintStream(captured, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    LogSettings.configure(LogFormat.TEXT, Level.INFO);
    LogSettings.redirect(before);
    MDC.clear();
  }

  private String[] lines() {
    return captured.toString(StandardCharsets.UTF_8).split("\n");
  }

  @Test
  void slf4jUsesThisProvider() {
    assertEquals("io.vnrt.runtime.logging.LineLogger", log.getClass().getName());
  }

  @Test
  void jsonLinesParseWithEscapesMdcAndStackTraces() {
    LogSettings.configure(LogFormat.JSON, Level.INFO);
    MDC.put("request_id", "r-1");
    log.info("a \"quoted\" {} with\nnewline\tand \\ and \u0001", "value");
    MDC.remove("request_id");
    log.warn("failed", new IllegalStateException("boom"));
    log.debug("below the threshold");

    String[] lines = lines();
    assertEquals(2, lines.length, captured.toString(StandardCharsets.UTF_8));
    JsonObject first = JsonParser.parseString(lines[0]).getAsJsonObject();
    assertEquals("a \"quoted\" value with\nnewline\tand \\ and \u0001", first.get("msg").getAsString());
    assertEquals("INFO", first.get("level").getAsString());
    assertEquals("io.vnrt.test.Component", first.get("logger").getAsString());
    assertEquals("r-1", first.get("request_id").getAsString());
    assertTrue(first.get("ts").getAsString().endsWith("Z"));
    JsonObject second = JsonParser.parseString(lines[1]).getAsJsonObject();
    assertFalse(second.has("request_id"));
    assertEquals("java.lang.IllegalStateException: boom", second.get("error").getAsString());
    assertTrue(second.get("stack").getAsString().contains("LineLoggerTest"));
  }

  @Test
  void textLinesCarryLevelShortNameAndMdc() {
    LogSettings.configure(LogFormat.TEXT, Level.DEBUG);
    MDC.put("request_id", "abc");
    log.debug("opened {} of {}", 1, 2);
    String line = lines()[0];
    assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z \\[DEBUG] Component - opened 1 of 2 request_id=abc"),
        line);
  }

  @Test
  void quieterLoggersAndBadSettings() {
    LogSettings.configure(LogFormat.TEXT, Level.TRACE);
    assertFalse(LoggerFactory.getLogger("io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap").isWarnEnabled());
    assertTrue(log.isTraceEnabled());
    IllegalArgumentException format = assertThrows(IllegalArgumentException.class, () -> LogFormat.parse("xml"));
    assertEquals("unknown log format 'xml': expected text or json", format.getMessage());
    assertEquals(Level.WARN, LogSettings.parseLevel("Warn"));
    assertThrows(IllegalArgumentException.class, () -> LogSettings.parseLevel("verbose"));
  }
}
