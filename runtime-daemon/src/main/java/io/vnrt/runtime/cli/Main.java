package io.vnrt.runtime.cli;

import io.vnrt.runtime.VnrtRuntime;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vnrt} command: one subcommand per tool. Add a tool by listing its class below. */
@Command(name = "vnrt", mixinStandardHelpOptions = true, version = "vnrt " + VnrtRuntime.VERSION,
    description = "A device runtime: virtual accelerator devices with off-heap HBM, served over gRPC.",
    subcommands = {
        DaemonCommand.class,
        LsCommand.class,
        MemCommand.class,
        HealthCommand.class,
        SessionsCommand.class,
        ReclaimCommand.class,
        MonitorCommand.class,
        TopCommand.class,
        RunCommand.class,
        AotTrainCommand.class,
        ConformanceCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class Main implements Runnable {
  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    StandardError.reclaim();
    System.exit(commandLine().execute(args));
  }

  /** The command line with every subcommand registered, reading the process's environment. */
  public static CommandLine commandLine() {
    return commandLine(System.getenv());
  }

  /**
   * The command line with every subcommand registered; the daemon's settings and the client
   * commands' connection defaults (VNRT_*) come from {@code env}. Usage errors exit 2 and
   * failures 1, each with a line or two on stderr and no stack trace (VNRT_DEBUG=1 adds it).
   */
  static CommandLine commandLine(Map<String, String> env) {
    CommandLine cl = new CommandLine(new Main(), new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> type) throws Exception {
        if (type == DaemonCommand.class) {
          return type.cast(new DaemonCommand(env));
        }
        if (type == TargetOptions.class) {
          return type.cast(new TargetOptions(env));
        }
        return CommandLine.defaultFactory().create(type);
      }
    });
    // the conformance runner parses its own flags: hand them over in order
    cl.getSubcommands().get("conformance").setUnmatchedOptionsArePositionalParams(true);
    boolean debug = "1".equals(env.get("VNRT_DEBUG"));
    cl.setParameterExceptionHandler(Failures::usageError);
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> Failures.failure(e, commandLine, debug));
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
