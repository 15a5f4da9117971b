package io.vnrt.runtime.cli;

import io.vnrt.runtime.conformance.ConformanceRunner;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code vnrt conformance}: runs ONNX backend test directories through the engine (the runner parses its own flags). */
@Command(name = "conformance",
    description = "Run ONNX backend node tests: DIR... [--list FILE] [--filter REGEX] [--cores N] [--timeout S]."
        + " Exit 0 when all pass, 1 on failures, 2 on usage or I/O errors.")
final class ConformanceCommand implements Callable<Integer> {
  /** Everything after "conformance", in order: Main makes unknown options positional for this command. */
  @Parameters(paramLabel = "ARG", arity = "0..*", description = "Test directories and runner options (see --help).")
  private List<String> args = new ArrayList<>();

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    List<String> all = args;
    PrintStream out = new PrintStream(new WriterStream(spec.commandLine().getOut()), true);
    PrintStream err = new PrintStream(new WriterStream(spec.commandLine().getErr()), true);
    int code = ConformanceRunner.run(all.toArray(String[]::new), out, err);
    out.flush();
    err.flush();
    return code;
  }

  /** A byte stream over picocli's writers, so tests capturing them see the runner's output. */
  private static final class WriterStream extends java.io.OutputStream {
    private final java.io.PrintWriter writer;

    WriterStream(java.io.PrintWriter writer) {
      this.writer = writer;
    }

    @Override
    public void write(int b) {
      writer.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writer.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public void flush() {
      writer.flush();
    }
  }
}
