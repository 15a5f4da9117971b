package io.vnrt.runtime.exec;

import java.util.List;

/**
 * The inputs (or caller-provided outputs) of an execution do not match what the model takes:
 * unknown or missing names, wrong dtypes, ranks or dims, symbols bound twice, or input shapes at
 * which the model cannot run. The caller's fault, answered EXEC_BAD_INPUT; any other exception
 * out of an execution is the daemon's. Extends IllegalArgumentException so that tools which only
 * run models locally may treat it as any bad argument.
 */
public final class InputMismatchException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;
  private final String expected;

  /**
   * @param problems every problem found, each a sentence fragment ("missing input 'x' (float32[N,3])")
   * @param expected what the model takes, e.g. "x: float32[N,3], y: int64[N]"; empty when it does not help
   */
  public InputMismatchException(List<String> problems, String expected) {
    super(String.join("; ", problems) + (expected.isEmpty() ? "" : " (the model expects: " + expected + ")"));
    this.problems = List.copyOf(problems);
    this.expected = expected;
  }

  /** Every problem found. */
  public List<String> problems() {
    return problems;
  }

  /** What the model takes, or empty. */
  public String expected() {
    return expected;
  }
}
