package dev.graft.sync.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.GetManifestRequest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.service.HostPort;
import dev.graft.service.Replicas;
import dev.graft.service.ServiceHost;
import dev.graft.service.TransportSecurity.ClientAuth;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.FakeInstaller;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.TestCertificates;
import dev.graft.sync.subscribe.WeightSubscriber;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mutual TLS through real servers and channels on loopback (the in-process transport has no
 * TLS), with certificates made here: who is admitted, who is refused and with which status, and
 * certificate rotation on disk. The policy server stands for every role server: they share
 * {@code ServiceHost}, which applies the security.
 */
class SecuredLinksTest {

  @TempDir
  Path dir;

  private final TestCertificates ca = TestCertificates.authority("graft-test-ca");
  private final List<AutoCloseable> open = new ArrayList<>();
  private WeightPublisher publisher;
  private Path caFile;
  private Path serverDir;

  @BeforeEach
  void publishOneVersion() {
    publisher = new WeightPublisher();
    publisher.publish(SyncFixtures.update(1, 1));
    caFile = ca.writeCa(dir.resolve("ca.crt"));
    serverDir = dir.resolve("server");
    ca.server("trainer").writeTo(serverDir);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private TransportSecurity serverTls() {
    return TransportSecurity.tls(serverDir.resolve("tls.crt"), serverDir.resolve("tls.key"), caFile);
  }

  private TransportSecurity client(String cn, TestCertificates issuer) {
    Path d = dir.resolve("client-" + cn + "-" + issuer.hashCode());
    issuer.client(cn).writeTo(d);
    return TransportSecurity.tls(d.resolve("tls.crt"), d.resolve("tls.key"), caFile);
  }

  private int serve(TransportSecurity security) throws Exception {
    PolicyServer server = PolicyServer.start(publisher, 0, 64 * 1024, Duration.ofSeconds(1), security);
    open.add(server);
    return server.port();
  }

  /** A channel as every replica client opens one (the trainer's to teachers and samplers). */
  private ManagedChannel channel(int port, TransportSecurity security) {
    Replicas replicas = Replicas.open(List.of(new HostPort("localhost", port)), 1 << 20, security);
    open.add(replicas);
    return replicas.channels().get(0);
  }

  private static ServingStatus health(ManagedChannel c) {
    return HealthGrpc.newBlockingStub(c).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }

  private static Status healthFails(ManagedChannel c) {
    return assertThrows(StatusRuntimeException.class, () -> health(c)).getStatus();
  }

  private static Status manifestFails(ManagedChannel c) {
    return assertThrows(StatusRuntimeException.class, () -> PolicyServiceGrpc.newBlockingStub(c)
        .withDeadlineAfter(10, TimeUnit.SECONDS).getManifest(GetManifestRequest.newBuilder().setVersion(1).build()))
        .getStatus();
  }

  @Test
  void tlsServer_servesAClientTrustingItsCa_andRefusesPlaintextAndUntrustingClients() throws Exception {
    int port = serve(serverTls());
    TransportSecurity trusting = TransportSecurity.tls(null, null, caFile);
    assertEquals(ServingStatus.SERVING, health(channel(port, trusting)));
    assertEquals(1, PolicyServiceGrpc.newBlockingStub(channel(port, trusting)).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getManifest(GetManifestRequest.newBuilder().setVersion(1).build()).getVersion());

    ManagedChannel plaintext = Grpc.newChannelBuilder("localhost:" + port, InsecureChannelCredentials.create()).build();
    open.add(plaintext::shutdownNow);
    assertEquals(Status.Code.UNAVAILABLE, healthFails(plaintext).getCode());

    Path otherCa = TestCertificates.authority("other-ca").writeCa(dir.resolve("other-ca.crt"));
    Status untrusted = healthFails(channel(port, TransportSecurity.tls(null, null, otherCa)));
    assertEquals(Status.Code.UNAVAILABLE, untrusted.getCode(), untrusted.toString());
  }

  @Test
  void serverCertificate_forAnotherHostName_isRefusedByTheClient() throws Exception {
    ca.server("teacher", "graft-teacher.graft.svc").writeTo(serverDir);
    int port = serve(serverTls());
    Status s = healthFails(channel(port, TransportSecurity.tls(null, null, caFile)));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), "localhost is not a name of the certificate: " + s);
    StringBuilder causes = new StringBuilder();
    for (Throwable t = s.getCause(); t != null; t = t.getCause()) {
      causes.append(t.getMessage()).append('\n');
    }
    assertTrue(causes.toString().contains("No subject alternative DNS name matching localhost"), causes.toString());
  }

  @Test
  void mutualTls_refusesClientsWithoutACertificateOrWithAnotherCasOne_andServesTheAuthorisedSampler()
      throws Exception {
    int port = serve(serverTls().withClientAuth(ClientAuth.REQUIRE).withAllowedClients(List.of("sampler")));

    Status noCert = healthFails(channel(port, TransportSecurity.tls(null, null, caFile)));
    assertEquals(Status.Code.UNAVAILABLE, noCert.getCode(), noCert.toString());
    Status wrongCa = healthFails(channel(port, client("sampler", TestCertificates.authority("rogue-ca"))));
    assertEquals(Status.Code.UNAVAILABLE, wrongCa.getCode(), wrongCa.toString());

    FakeInstaller installer = new FakeInstaller();
    try (WeightSubscriber subscriber = WeightSubscriber.builder().endpoint("localhost:" + port)
        .security(client("sampler", ca)).installer(installer).sleeper(d -> { }).build().start()) {
      assertEquals(1, subscriber.awaitFirstVersion(Duration.ofSeconds(20)));
      SyncFixtures.assertBitIdentical(SyncFixtures.weights(1), installer.installed().get(0).tensors());
    }
  }

  @Test
  void weightFetch_byAValidCertificateNotOnTheAllowList_isPermissionDenied_namingTheIdentity() throws Exception {
    int port = serve(serverTls().withClientAuth(ClientAuth.REQUIRE).withAllowedClients(List.of("sampler", "operator")));
    ManagedChannel intruder = channel(port, client("intruder", ca));

    Status s = assertThrows(StatusRuntimeException.class, () -> PolicyServiceGrpc.newBlockingStub(intruder)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchWeights(FetchWeightsRequest.newBuilder().setVersion(1).build()).hasNext()).getStatus();
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode(), s.toString());
    assertEquals("client intruder (CN=intruder) may not call graft.v1.PolicyService/FetchWeights;"
        + " allowed clients: operator, sampler", s.getDescription());
    assertEquals(Status.Code.PERMISSION_DENIED, manifestFails(intruder).getCode());
    assertEquals(ServingStatus.SERVING, health(intruder), "health stays open to every admitted client");
  }

  @Test
  void optionalClientAuth_callWithoutACertificate_isUnauthenticated_butHealthIsServed() throws Exception {
    int port = serve(serverTls().withClientAuth(ClientAuth.OPTIONAL).withAllowedClients(List.of("sampler")));
    ManagedChannel anonymous = channel(port, TransportSecurity.tls(null, null, caFile));

    Status s = manifestFails(anonymous);
    assertEquals(Status.Code.UNAUTHENTICATED, s.getCode(), s.toString());
    assertEquals("graft.v1.PolicyService/GetManifest needs a client certificate naming one of sampler;"
        + " the caller presented none", s.getDescription());
    assertEquals(ServingStatus.SERVING, health(anonymous));
    assertEquals(1, PolicyServiceGrpc.newBlockingStub(channel(port, client("sampler", ca)))
        .withDeadlineAfter(10, TimeUnit.SECONDS).getManifest(GetManifestRequest.newBuilder().setVersion(1).build())
        .getVersion());
  }

  @Test
  void plaintextHealthPort_servesHealthAlone_forProbesThatCannotSpeakTls() throws Exception {
    ServiceHost host = ServiceHost.start(new ServiceHost.Options("policy", 0, -1, Duration.ofSeconds(1),
            serverTls().withClientAuth(ClientAuth.REQUIRE).withAllowedClients(List.of("sampler"))
                .withPlaintextHealthPort(0)),
        executor -> List.of(new PolicyGrpcService(publisher)), List.of(PolicyServiceGrpc.SERVICE_NAME), true, null);
    open.add(host);
    ManagedChannel probe = Grpc.newChannelBuilder("localhost:" + host.plaintextHealthPort(),
        InsecureChannelCredentials.create()).build();
    open.add(probe::shutdownNow);
    assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(probe).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(PolicyServiceGrpc.SERVICE_NAME).build()).getStatus());
    assertEquals(Status.Code.UNIMPLEMENTED, manifestFails(probe).getCode(), "nothing but health without TLS");

    host.shutdown();
    assertEquals(ServingStatus.NOT_SERVING, health(probe), "probes see the drain");
  }

  @Test
  void rotatedServerCertificate_onDisk_isPresentedToNewConnections() throws Exception {
    TestCertificates.Issued first = ca.server("trainer").writeTo(serverDir);
    int port = serve(serverTls().withRefresh(Duration.ofMillis(50)));
    assertEquals(first.cert().getSerialNumber(), servedSerial(port));

    TestCertificates.Issued second = ca.server("trainer");
    second.replaceIn(serverDir);
    BigInteger want = second.cert().getSerialNumber();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    BigInteger seen = null;
    while (!want.equals(seen) && System.nanoTime() < deadline) {
      try {
        seen = servedSerial(port); // each on a new connection
      } catch (StatusRuntimeException e) {
        throw new AssertionError("a handshake failed during rotation: " + e.getStatus(), e);
      }
    }
    assertEquals(want, seen, "the server still presents serial " + seen + " after rotation");
  }

  @Test
  void rotatedCaFile_ofAClient_isTrustedByItsNextConnections() throws Exception {
    TestCertificates next = TestCertificates.authority("next-ca");
    next.server("trainer").writeTo(serverDir);
    int port = serve(TransportSecurity.tls(serverDir.resolve("tls.crt"), serverDir.resolve("tls.key"), null));
    Path clientCa = ca.writeCa(dir.resolve("client-ca.crt"));
    TransportSecurity client = TransportSecurity.tls(null, null, clientCa).withRefresh(Duration.ofMillis(50));
    assertEquals(Status.Code.UNAVAILABLE, healthFails(channel(port, client)).getCode(), "not trusted yet");

    next.writeCa(dir.resolve("next-ca.crt"));
    Files.move(dir.resolve("next-ca.crt"), clientCa, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    ServingStatus seen = null;
    while (seen == null && System.nanoTime() < deadline) {
      try {
        seen = health(channel(port, client)); // the client's channels share one reloading trust manager
      } catch (StatusRuntimeException e) {
        // still the old CA: the next check of the file has not run yet
      }
    }
    assertEquals(ServingStatus.SERVING, seen, "the client never trusted the rotated CA");
  }

  /**
   * The serial number of the certificate the server presents to a new connection, made with new
   * client credentials: a shared client context would resume its TLS session, in which the server
   * presents no certificate again.
   */
  private BigInteger servedSerial(int port) throws Exception {
    ManagedChannel c = Grpc.newChannelBuilder("localhost:" + port,
        TlsChannelCredentials.newBuilder().trustManager(caFile.toFile()).build()).build();
    try {
      ClientCall<HealthCheckRequest, HealthCheckResponse> call = c.newCall(HealthGrpc.getCheckMethod(),
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
      ClientCalls.blockingUnaryCall(call, HealthCheckRequest.getDefaultInstance());
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      return ((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber();
    } finally {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void tlsSettings_areListedTogether_whenInconsistent() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        TransportSecurity.tls(dir.resolve("missing.crt"), null, null).withClientAuth(ClientAuth.REQUIRE));
    assertTrue(e.getMessage().contains("only a certificate " + dir.resolve("missing.crt")), e.getMessage());
    assertTrue(e.getMessage().contains("the certificate (--tls-cert) file " + dir.resolve("missing.crt")
        + " does not exist"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () ->
        serverTls().withClientAuth(ClientAuth.NONE).withAllowedClients(Set.of("sampler")));
    assertTrue(e.getMessage().contains("set --tls-client-auth require"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> PolicyServer.start(publisher, 0, 64 * 1024,
        Duration.ofSeconds(1), TransportSecurity.tls(caFile, serverDir.resolve("tls.key"), caFile)));
    assertEquals("cannot load TLS files (certificate " + caFile + ", key " + serverDir.resolve("tls.key") + ", CA "
        + caFile + "; PEM certificates and a PKCS#8 PEM key expected): the key " + serverDir.resolve("tls.key")
        + " does not belong to the certificate " + caFile + " (CN=graft-test-ca)", e.getMessage());
  }
}
