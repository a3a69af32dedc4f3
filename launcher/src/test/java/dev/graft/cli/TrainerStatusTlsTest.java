package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.service.TransportSecurity;
import dev.graft.sync.TestCertificates;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code graft status} through a port-forward: the trainer's certificate names its Service
 * ({@code graft-trainer}), not {@code localhost}, so the operator names it with
 * {@code --tls-server-name}; the operator's certificate is what the trainer allows.
 */
class TrainerStatusTlsTest {

  @TempDir
  Path dir;

  @Test
  void statusThroughAForward_verifiesTheServiceName_givenWithTlsServerName() throws Exception {
    TestCertificates ca = TestCertificates.authority("graft-ca");
    Path caFile = ca.writeCa(dir.resolve("ca.crt"));
    Path trainerTls = dir.resolve("trainer");
    ca.server("trainer", "graft-trainer").writeTo(trainerTls);
    Path operatorTls = dir.resolve("operator");
    ca.client("operator").writeTo(operatorTls);
    TransportSecurity server = new TransportSecurity(true, trainerTls.resolve("tls.crt"), trainerTls.resolve("tls.key"),
        caFile, TransportSecurity.ClientAuth.REQUIRE, Set.of("sampler", "operator"), TransportSecurity.DEFAULT_REFRESH,
        -1);
    try (TrainerServer trainer = TrainerServer.start(0, -1, new RunStatus("run-a"), null, null, server)) {
      List<String> args = List.of("status", "localhost:" + trainer.port(),
          "--tls-cert", operatorTls.resolve("tls.crt").toString(), "--tls-key", operatorTls.resolve("tls.key").toString(),
          "--tls-ca", caFile.toString());

      assertEquals(0, graft(with(args, "--tls-server-name", "graft-trainer")), "the certificate names graft-trainer");
      assertEquals(3, graft(args), "localhost is not a name of the trainer's certificate");
      assertEquals(3, graft(with(args, "--tls-server-name", "graft-sampler")));
    }
  }

  @Test
  void tlsServerName_isRefusedWithPlaintext() {
    StringWriter err = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute("status", "localhost:1", "--plaintext", "--tls-server-name", "graft-trainer"));
    assertTrue(err.toString().contains("--tls-server-name 'graft-trainer' must be a DNS name (a-z, 0-9, '-', '.')"
        + " and goes with TLS, not --plaintext"), err.toString());
  }

  private static int graft(List<String> args) {
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(new StringWriter(), true));
    return cl.execute(args.toArray(String[]::new));
  }

  private static List<String> with(List<String> args, String... more) {
    List<String> out = new ArrayList<>(args);
    out.addAll(List.of(more));
    return out;
  }
}
