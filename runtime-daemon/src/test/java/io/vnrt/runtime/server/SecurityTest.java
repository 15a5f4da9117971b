package io.vnrt.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.vnrt.client.ConnectOptions;
import io.vnrt.client.DType;
import io.vnrt.client.DeviceTensor;
import io.vnrt.client.Session;
import io.vnrt.client.TensorSpec;
import io.vnrt.client.VnrtClient;
import io.vnrt.client.VnrtException;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.AdminGrpc;
import io.vnrt.proto.v1.ListSessionsRequest;
import io.vnrt.proto.v1.ListSessionsResponse;
import io.vnrt.proto.v1.ReclaimSessionRequest;
import io.vnrt.proto.v1.ReclaimSessionResponse;
import io.vnrt.runtime.RuntimeConfig;
import io.vnrt.runtime.VnrtRuntime;
import io.vnrt.runtime.exec.Profile;
import io.vnrt.runtime.exec.Topology;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, mutual TLS and bearer tokens against a real daemon and the real SDK: what is refused is
 * refused with the right status, what is right is accepted, and a refusal leaves the daemon serving.
 */
class SecurityTest {
  private static final String USER_TOKEN = "user-token-0123456789abcdef";
  private static final String ADMIN_TOKEN = "admin-token-0123456789abcdef";

  @TempDir
  static Path certDir;
  private static TestCertificates certs;

  @TempDir
  Path dir;
  private VnrtRuntime runtime;
  private DaemonServer server;

  @BeforeAll
  static void makeCertificates() throws Exception {
    certs = TestCertificates.create(certDir);
  }

  @BeforeEach
  void startRuntime() throws Exception {
    runtime = VnrtRuntime.start(RuntimeConfig.defaults().withHostMemoryBytes(1 << 20).withTopology(
        Topology.of(Profile.CPU, Optional.empty(), Optional.of(1), Optional.of(4L << 20), Optional.empty())));
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    runtime.close();
  }

  private String serve(Security security) throws Exception {
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(
        Optional.of(new InetSocketAddress("127.0.0.1", 0)), Optional.empty(), Optional.empty()), security);
    return "localhost:" + server.tcpAddress().orElseThrow().getPort();
  }

  private static Security tls(String serverCert, Optional<Path> clientCa) {
    return new Security(Optional.of(new Security.Tls(certs.cert(serverCert), certs.key(serverCert), clientCa)),
        Optional.empty(), Optional.empty());
  }

  /** Opens a session and round-trips a tensor: the connection is fully usable. */
  private static void assertWorks(String target, ConnectOptions options) {
    try (VnrtClient client = VnrtClient.connect(target, options); Session s = client.openSession("sec");
         DeviceTensor t = s.allocate(TensorSpec.of(DType.FLOAT32, 4), 0)) {
      t.write(new float[] {1, 2, 3, 4});
      assertEquals(4f, t.readFloats()[3]);
    }
  }

  private static Status.Code refusal(String target, ConnectOptions options) {
    try (VnrtClient client = VnrtClient.connect(target, options)) {
      return assertThrows(VnrtException.class, client::runtimeInfo).code();
    }
  }

  private static Path file(Path dir, String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  @Test
  void tlsIsAcceptedByAClientTrustingItsCaAndRefusedOtherwise() throws Exception {
    String target = serve(tls("server", Optional.empty()));
    assertWorks(target, ConnectOptions.plaintext().withTrustedCa(certs.cert("ca")));
    assertEquals(Status.Code.UNAVAILABLE, refusal(target, ConnectOptions.plaintext()
        .withTrustedCa(certs.cert("other-ca"))), "a server certificate from a CA the client does not trust");
    assertEquals(Status.Code.UNAVAILABLE, refusal(target, ConnectOptions.plaintext()),
        "a plaintext client on a TLS port");
    assertWorks(target, ConnectOptions.plaintext().withTrustedCa(certs.cert("ca")));
  }

  @Test
  void aHealthOnlyPlaintextListenerServesProbesBesideATlsAndTokenPort() throws Exception {
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.of(new InetSocketAddress("127.0.0.1", 0)),
        Optional.empty(), Optional.empty(), Optional.of(new InetSocketAddress("127.0.0.1", 0))),
        new Security(tls("server", Optional.empty()).tls(), Optional.of(USER_TOKEN), Optional.empty()));
    String probe = "localhost:" + server.healthAddress().orElseThrow().getPort();
    io.grpc.ManagedChannel channel = io.grpc.Grpc.newChannelBuilder(probe, io.grpc.InsecureChannelCredentials.create())
        .build();
    try {
      var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(channel);
      assertEquals(io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING,
          health.check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()).getStatus());
      // nothing but health there: the runtime's services need the TLS port and the token
      io.grpc.StatusRuntimeException e = assertThrows(io.grpc.StatusRuntimeException.class,
          () -> io.vnrt.proto.v1.RuntimeGrpc.newBlockingStub(channel)
              .getRuntimeInfo(io.vnrt.proto.v1.GetRuntimeInfoRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
      server.beginDrain();
      assertEquals(io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING,
          health.check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()).getStatus());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void anExpiredServerCertificateIsRefused() throws Exception {
    String target = serve(tls("expired-server", Optional.empty()));
    assertEquals(Status.Code.UNAVAILABLE, refusal(target, ConnectOptions.plaintext()
        .withTrustedCa(certs.cert("ca"))));
  }

  @Test
  void mutualTlsNeedsAValidClientCertificate() throws Exception {
    String target = serve(tls("server", Optional.of(certs.cert("ca"))));
    ConnectOptions trusting = ConnectOptions.plaintext().withTrustedCa(certs.cert("ca"));
    assertEquals(Status.Code.UNAVAILABLE, refusal(target, trusting), "no client certificate");
    assertEquals(Status.Code.UNAVAILABLE, refusal(target,
        trusting.withClientCertificate(certs.cert("expired-client"), certs.key("expired-client"))), "expired");
    assertEquals(Status.Code.UNAVAILABLE, refusal(target,
        trusting.withClientCertificate(certs.cert("foreign-client"), certs.key("foreign-client"))), "wrong CA");
    assertWorks(target, trusting.withClientCertificate(certs.cert("client"), certs.key("client")));
  }

  @Test
  void unreadableTlsFilesFailAtStartNamingTheFile() {
    Path missing = dir.resolve("missing.pem");
    Exception e = assertThrows(Exception.class, () -> serve(new Security(
        Optional.of(new Security.Tls(missing, certs.key("server"), Optional.empty())), Optional.empty(),
        Optional.empty())));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void tokensAreCheckedWithTheRightStatusAndProbesStayOpen() throws Exception {
    String target = serve(new Security(Optional.empty(), Optional.of(USER_TOKEN), Optional.of(ADMIN_TOKEN)));
    assertEquals(Status.Code.UNAUTHENTICATED, refusal(target, ConnectOptions.plaintext()), "no token");
    assertEquals(Status.Code.PERMISSION_DENIED, refusal(target,
        ConnectOptions.plaintext().withBearerToken("wrong-token-0123456789")), "wrong token");
    assertWorks(target, ConnectOptions.plaintext().withBearerToken(USER_TOKEN));
    assertWorks(target, ConnectOptions.plaintext().withBearerToken(ADMIN_TOKEN));

    Transports.OwnedChannel raw = Transports.open(target);
    try {
      assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(raw.channel())
          .check(HealthCheckRequest.getDefaultInstance()).getStatus(), "health needs no token");
    } finally {
      raw.shutdown();
    }
  }

  @Test
  void adminCallsNeedTheAdminTokenAndReclaimFreesAnotherSession() throws Exception {
    String target = serve(new Security(Optional.empty(), Optional.of(USER_TOKEN), Optional.of(ADMIN_TOKEN)));
    try (VnrtClient user = VnrtClient.connect(target, ConnectOptions.plaintext().withBearerToken(USER_TOKEN));
         VnrtClient admin = VnrtClient.connect(target, ConnectOptions.plaintext().withBearerToken(ADMIN_TOKEN));
         VnrtClient anonymous = VnrtClient.connect(target)) {
      Session victim = user.openSession("victim");
      victim.allocate(TensorSpec.raw(1 << 20), 0);
      assertEquals(1 << 20, runtime.devices().device(0).pool().usedBytes());

      StatusRuntimeException denied = assertThrows(StatusRuntimeException.class, () -> AdminGrpc
          .newBlockingStub(user.channel()).listSessions(ListSessionsRequest.getDefaultInstance()));
      assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode());
      assertTrue(denied.getStatus().getDescription().contains("admin token"), denied.getStatus().getDescription());
      StatusRuntimeException anon = assertThrows(StatusRuntimeException.class, () -> AdminGrpc
          .newBlockingStub(anonymous.channel()).listSessions(ListSessionsRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAUTHENTICATED, anon.getStatus().getCode());

      ListSessionsResponse list = AdminGrpc.newBlockingStub(admin.channel())
          .listSessions(ListSessionsRequest.getDefaultInstance());
      assertEquals(1, list.getSessionsCount());
      assertEquals("victim", list.getSessions(0).getClientName());
      assertEquals(1, list.getSessions(0).getTensorCount());
      assertEquals(1 << 20, list.getSessions(0).getQuotas(0).getUsed());

      ReclaimSessionResponse freed = AdminGrpc.newBlockingStub(admin.channel()).reclaimSession(
          ReclaimSessionRequest.newBuilder().setSessionId(list.getSessions(0).getSessionId()).build());
      assertEquals(1, freed.getTensorsFreed());
      assertEquals(1 << 20, freed.getBytesFreed());
      assertEquals(0, runtime.devices().device(0).pool().usedBytes());
      VnrtException gone = assertThrows(VnrtException.class, victim::tensors);
      assertEquals(Status.Code.UNAUTHENTICATED, gone.code());
      assertTrue(gone.getMessage().contains("reclaimed by an administrator"), gone.getMessage());

      StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> AdminGrpc
          .newBlockingStub(admin.channel()).reclaimSession(ReclaimSessionRequest.newBuilder()
              .setSessionId("deadbeef").build()));
      assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    }
  }

  @Test
  void adminIsDisabledWithoutAnAdminToken() throws Exception {
    String target = serve(new Security(Optional.empty(), Optional.of(USER_TOKEN), Optional.empty()));
    try (VnrtClient user = VnrtClient.connect(target, ConnectOptions.plaintext().withBearerToken(USER_TOKEN))) {
      StatusRuntimeException denied = assertThrows(StatusRuntimeException.class, () -> AdminGrpc
          .newBlockingStub(user.channel()).listSessions(ListSessionsRequest.getDefaultInstance()));
      assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode());
      assertTrue(denied.getStatus().getDescription().contains("--admin-token-file"));
    }
  }

  @Test
  void theUnixSocketIsOwnerOnlyAndChecksTokensToo() throws Exception {
    Path socket = dir.resolve("vnrt.sock");
    server = DaemonServer.start(runtime, new DaemonServer.Listeners(Optional.empty(), Optional.of(socket),
        Optional.empty()), new Security(Optional.empty(), Optional.of(USER_TOKEN), Optional.empty()));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    try (var entries = Files.list(dir)) {
      assertEquals(1, entries.count(), "the staging directory is gone");
    }
    assertEquals(Status.Code.UNAUTHENTICATED, refusal("unix:" + socket, ConnectOptions.plaintext()));
    assertWorks("unix:" + socket, ConnectOptions.plaintext().withBearerToken(USER_TOKEN));
  }

  @Test
  void tokenFilesAreReadStrictly() throws Exception {
    assertEquals(USER_TOKEN, Security.readToken(file(dir, "t", USER_TOKEN + "\n"), "--auth-token-file"));
    Exception empty = assertThrows(Exception.class, () -> Security.readToken(file(dir, "e", "\n"),
        "--auth-token-file"));
    assertTrue(empty.getMessage().contains("--auth-token-file") && empty.getMessage().contains("empty"));
    Exception shortOne = assertThrows(Exception.class, () -> Security.readToken(file(dir, "s", "abc"),
        "--admin-token-file"));
    assertTrue(shortOne.getMessage().contains("at least 16"), shortOne.getMessage());
  }
}
