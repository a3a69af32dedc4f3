package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.graft.kube.discovery.ReplicaCheck.Verdict;
import dev.graft.service.TransportSecurity;
import dev.graft.sync.TestCertificates;
import dev.graft.teacher.server.TeacherServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The check of a new teacher replica found through {@code k8s:///} connects the way the trainer's
 * channels do under mutual TLS: it presents the trainer's certificate and verifies the replica's
 * against the Service's name (the authority of the channel's calls), not the replica's address.
 */
class TeacherReplicaCheckTlsTest {

  private static final String SERVICE = "graft-teacher.graft.svc";
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  @TempDir
  Path dir;

  @Test
  void replicaUnderMutualTls_isAdmitted_onlyWithTheTrainersCertificate_andTheServicesName() throws Exception {
    TestCertificates ca = TestCertificates.authority("graft-ca");
    Path caFile = ca.writeCa(dir.resolve("ca.crt"));
    Path teacherTls = dir.resolve("teacher");
    ca.server("teacher", SERVICE).writeTo(teacherTls);
    Path trainerTls = dir.resolve("trainer");
    ca.client("trainer").writeTo(trainerTls);
    Path intruderTls = dir.resolve("intruder");
    ca.client("intruder").writeTo(intruderTls);
    TransportSecurity server = new TransportSecurity(true, teacherTls.resolve("tls.crt"), teacherTls.resolve("tls.key"),
        caFile, TransportSecurity.ClientAuth.REQUIRE, Set.of("trainer"), TransportSecurity.DEFAULT_REFRESH, -1);
    TransportSecurity trainer = TransportSecurity.tls(trainerTls.resolve("tls.crt"), trainerTls.resolve("tls.key"),
        caFile);
    TransportSecurity intruder = TransportSecurity.tls(intruderTls.resolve("tls.crt"),
        intruderTls.resolve("tls.key"), caFile);

    try (TeacherServer teacher = TeacherServer.builder().checkpoint(TinyBase.teacher()).port(0).security(server)
        .shutdownGrace(Duration.ofSeconds(1)).build().start()) {
      InetSocketAddress replica = new InetSocketAddress(InetAddress.getLoopbackAddress(), teacher.port());

      assertEquals(Verdict.Kind.ADMIT, new TeacherReplicaCheck(DEADLINE, trainer).check(replica, SERVICE).kind());

      Verdict otherName = new TeacherReplicaCheck(DEADLINE, trainer).check(replica, "graft-sampler.graft.svc");
      assertEquals(Verdict.Kind.RETRY, otherName.kind(), "the certificate does not name graft-sampler");
      assertFalse(otherName.reason().isEmpty());
      assertEquals(Verdict.Kind.RETRY, new TeacherReplicaCheck(DEADLINE, trainer).check(replica).kind(),
          "by address alone the name to verify is 127.0.0.1, which the certificate does not carry");
      assertEquals(Verdict.Kind.RETRY,
          new TeacherReplicaCheck(DEADLINE, TransportSecurity.plaintext()).check(replica, SERVICE).kind(),
          "a plaintext check cannot reach a TLS replica");
      Verdict notAllowed = new TeacherReplicaCheck(DEADLINE, intruder).check(replica, SERVICE);
      assertEquals(Verdict.Kind.RETRY, notAllowed.kind(), "intruder is not on the teacher's allow-list");
    }
  }
}
