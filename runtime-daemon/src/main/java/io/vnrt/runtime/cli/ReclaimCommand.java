package io.vnrt.runtime.cli;

import io.vnrt.client.VnrtClient;
import io.vnrt.proto.v1.AdminGrpc;
import io.vnrt.proto.v1.ReclaimSessionRequest;
import io.vnrt.proto.v1.ReclaimSessionResponse;
import io.vnrt.runtime.ByteSize;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code vnrt reclaim SESSION}: ends another client's session, freeing what it holds (needs the admin token). */
@Command(name = "reclaim", mixinStandardHelpOptions = true,
    description = "End a session and free everything it holds (Admin.ReclaimSession, needs the admin token).")
final class ReclaimCommand implements Callable<Integer> {
  @Mixin
  private TargetOptions target;

  @Parameters(index = "0", paramLabel = "SESSION", description = "The session's id as `vnrt sessions` shows it.")
  private String session;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    ReclaimSessionResponse freed;
    try (VnrtClient client = target.forAdmin().connect()) {
      freed = AdminGrpc.newBlockingStub(client.channel())
          .reclaimSession(ReclaimSessionRequest.newBuilder().setSessionId(session).build());
    }
    spec.commandLine().getOut().printf("reclaimed session %s: freed %d tensor(s), %s%n", session,
        freed.getTensorsFreed(), ByteSize.format(freed.getBytesFreed()));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
