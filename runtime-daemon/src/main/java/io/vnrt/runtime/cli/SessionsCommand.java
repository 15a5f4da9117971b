package io.vnrt.runtime.cli;

import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.AdminGrpc;
import io.vnrt.proto.v1.ListSessionsRequest;
import io.vnrt.proto.v1.ListSessionsResponse;
import io.vnrt.proto.v1.QuotaUsage;
import io.vnrt.proto.v1.SessionSummary;
import io.vnrt.runtime.ByteSize;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vnrt sessions}: every open session with its quota use (Admin.ListSessions, needs the admin token). */
@Command(name = "sessions", mixinStandardHelpOptions = true,
    description = "List every open session of the daemon with its tensors and quota use (needs the admin token).")
final class SessionsCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Option(names = "--json", description = "Print JSON (protobuf's mapping of ListSessionsResponse, with numbers as "
      + "numbers) instead of a table.")
  private boolean json;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    ListSessionsResponse sessions;
    try (VnrtClient client = target.forAdmin().connect()) {
      sessions = AdminGrpc.newBlockingStub(client.channel()).listSessions(ListSessionsRequest.getDefaultInstance());
    }
    if (json) {
      out.println(Json.pretty(sessions));
      out.flush();
      return 0;
    }
    TextTable table = new TextTable("SESSION", "CLIENT", "TENSORS", "CALLS", "IDLE", "HBM", "MODELS", "EXECUTIONS");
    for (SessionSummary s : sessions.getSessionsList()) {
      table.row(s.getSessionId(), s.getClientName(), s.getTensorCount(), s.getActiveCalls(),
          String.format("%.1f s", s.getIdleMs() / 1000.0), quota(s, 0, true), quota(s, 1, false),
          quota(s, 2, false));
    }
    out.printf("%d open session(s)%s%n", sessions.getSessionsCount(),
        sessions.getMaxSessions() == 0 ? "" : " of at most " + sessions.getMaxSessions());
    out.print(table.render());
    out.flush();
    return 0;
  }

  private static String quota(SessionSummary s, int index, boolean bytes) {
    QuotaUsage q = s.getQuotas(index);
    String used = bytes ? ByteSize.format(q.getUsed()) : String.valueOf(q.getUsed());
    if (q.getLimit() == 0) {
      return used;
    }
    return used + " / " + (bytes ? ByteSize.format(q.getLimit()) : String.valueOf(q.getLimit()));
  }
}
