package io.vnrt.runtime.cli;

import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.vnrt.client.VnrtException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;

/**
 * How every command reports what went wrong, on stderr and never with a stack trace: a usage
 * error (a bad flag or value) is its message and "see `vnrt CMD --help`", exit 2; a failure (the
 * daemon unreachable or refusing, a file that cannot be read) is one line saying what and what to
 * do, exit 1. A command throws {@link CommandFailure} for a failure it has put into words.
 */
final class Failures {
  /** Exit status of a failure at run time; usage errors keep picocli's 2. */
  static final int FAILED = 1;

  private Failures() {
  }

  /** A failure a command has explained: the message is shown as it is, after the command's name. */
  static final class CommandFailure extends RuntimeException {
    CommandFailure(String message, Throwable cause) {
      super(message, cause);
    }

    CommandFailure(String message) {
      super(message);
    }
  }

  /** Prints a usage error in two lines: what was wrong, and where the help is. */
  static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cl = e.getCommandLine();
    String message = e.getMessage();
    if (e instanceof CommandLine.UnmatchedArgumentException u) {
      List<String> suggestions = u.getSuggestions();
      if (!suggestions.isEmpty()) {
        message += "; did you mean " + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size())))
            + "?";
      }
    }
    String name = cl.getCommandSpec().qualifiedName();
    PrintWriter err = cl.getErr();
    err.println(name + ": " + message);
    err.println("see `" + name + " --help`");
    err.flush();
    return cl.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** Prints a failure in a line: the command's name and what went wrong; with VNRT_DEBUG=1 the stack trace too. */
  static int failure(Exception e, CommandLine cl, boolean debug) {
    PrintWriter err = cl.getErr();
    err.println(cl.getCommandSpec().qualifiedName() + ": " + describe(e, cl));
    if (debug) {
      e.printStackTrace(err);
    }
    err.flush();
    return FAILED;
  }

  private static String describe(Exception e, CommandLine cl) {
    if (e instanceof CommandFailure) {
      return e.getMessage();
    }
    if (e instanceof VnrtException || e instanceof StatusRuntimeException || e instanceof StatusException) {
      return target(cl).map(t -> t.explain(e)).orElse(e.getMessage());
    }
    if (e instanceof IOException io) {
      return io(io);
    }
    return "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage()
        + " (a bug in vnrt; VNRT_DEBUG=1 shows where)";
  }

  /** An I/O failure as a user reads it: the file and what is wrong with it. */
  static String io(IOException e) {
    return e instanceof FileSystemException f && f.getFile() != null ? f.getFile() + ": " + reason(e)
        : String.valueOf(e.getMessage());
  }

  /** What is wrong, without the file: "no such file", "permission denied", or the system's reason. */
  static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason();
    }
    return String.valueOf(e.getMessage());
  }

  /** The connection options of the command that failed, if it has them. */
  private static Optional<TargetOptions> target(CommandLine cl) {
    return cl.getCommandSpec().mixins().values().stream().map(CommandLine.Model.CommandSpec::userObject)
        .filter(TargetOptions.class::isInstance).map(TargetOptions.class::cast).findFirst();
  }
}
