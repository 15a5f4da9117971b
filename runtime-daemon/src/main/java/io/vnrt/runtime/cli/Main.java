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
        ConformanceCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class Main implements Runnable {
  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with every subcommand registered, reading the process's environment. */
  public static CommandLine commandLine() {
    return commandLine(System.getenv());
  }

  /** The command line with every subcommand registered; the daemon reads its VNRT_* settings from {@code env}. */
  static CommandLine commandLine(Map<String, String> env) {
    CommandLine cl = new CommandLine(new Main(), new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> type) throws Exception {
        return type == DaemonCommand.class ? type.cast(new DaemonCommand(env)) : CommandLine.defaultFactory()
            .create(type);
      }
    });
    // the conformance runner parses its own flags: hand them over in order
    cl.getSubcommands().get("conformance").setUnmatchedOptionsArePositionalParams(true);
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
