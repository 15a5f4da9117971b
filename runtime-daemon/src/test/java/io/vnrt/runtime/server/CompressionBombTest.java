package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.vnrt.client.Session;
import io.vnrt.proto.v1.DataType;
import io.vnrt.proto.v1.ExecuteInput;
import io.vnrt.proto.v1.ExecuteRequest;
import io.vnrt.proto.v1.ExecutionGrpc;
import io.vnrt.proto.v1.InlineTensor;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A gzip bomb: a small compressed message that inflates past the daemon's message limit is
 * refused with RESOURCE_EXHAUSTED (not grpc-java's UNKNOWN), and the daemon keeps serving.
 */
class CompressionBombTest {
  /** The daemon's --max-message-size here: the bomb inflates to 16 times it. */
  private static final long LIMIT = 4L << 20;

  @Test
  void aMessageThatInflatesPastTheLimitIsResourceExhausted() throws Exception {
    try (AbstractEndToEndTest.Fixture f = TcpEndToEndTest.tcp(RuntimeConfig.defaults().withTopology(Topology.of(
        Profile.TRN1, Optional.of(1), Optional.empty(), Optional.of(64L << 20), Optional.empty())),
        new DaemonServer.Options(Optional.empty(), Duration.ZERO, LIMIT))) {
      Session session = f.client().openSession("bomb");
      Metadata h = new Metadata();
      h.put(Session.SESSION_ID_KEY, session.id());
      ExecutionGrpc.ExecutionBlockingStub exec = ExecutionGrpc.newBlockingStub(f.rawChannel())
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h)).withCompression("gzip")
          .withDeadlineAfter(60, TimeUnit.SECONDS);
      // 64 MiB of zeros: about 64 KiB on the wire, 16 times the daemon's limit once inflated
      ExecuteRequest bomb = ExecuteRequest.newBuilder().setModelId("m-0").addInputs(ExecuteInput.newBuilder()
          .setName("x").setInline(InlineTensor.newBuilder().setDtype(DataType.DATA_TYPE_FLOAT32).addShape(16L << 20)
              .setData(ByteString.copyFrom(new byte[64 << 20])))).build();
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> exec.execute(bomb));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), String.valueOf(e.getStatus()));
      assertFalse(MalformedModelFuzzTest.JAVA_NAME.matcher(String.valueOf(e.getStatus().getDescription())).find(),
          e.getStatus().getDescription());
      assertTrue(f.client().openSession("after").id().length() > 0, "the daemon keeps serving");
    }
  }
}
