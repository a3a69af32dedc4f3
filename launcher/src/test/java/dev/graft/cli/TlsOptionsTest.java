package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.service.TransportSecurity.ClientAuth;
import dev.graft.service.TransportSecurity;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine;

class TlsOptionsTest {

  @Command(name = "holder")
  static final class Holder {
    @Mixin
    TlsOptions tls = new TlsOptions();
  }

  private static TlsOptions parse(String... args) {
    Holder h = new Holder();
    new CommandLine(h).parseArgs(args);
    return h.tls;
  }

  @Command(name = "client")
  static final class ClientHolder {
    @Mixin
    TlsClientOptions tls = new TlsClientOptions();
  }

  private static TlsClientOptions parseClient(String... args) {
    ClientHolder h = new ClientHolder();
    new CommandLine(h).parseArgs(args);
    return h.tls;
  }

  private static String refusal(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute(args), err.toString());
    return err.toString();
  }

  @Test
  void roles_withoutCertificatesOrPlaintext_refuseToStart_sayingWhatToGive(@TempDir Path home) {
    String teacher = refusal("--home", home.toString(), "teacher", "--port", "0", "--metrics-port", "-1");
    assertTrue(teacher.contains("graft teacher needs TLS settings or --plaintext: give --tls-cert and --tls-key"),
        teacher);
    String sampler = refusal("--home", home.toString(), "sampler", "--trainer", "localhost:1");
    assertTrue(sampler.contains("graft sampler needs TLS settings or --plaintext"), sampler);
    String status = refusal("status", "localhost:1");
    assertTrue(status.contains("graft status needs TLS settings or --plaintext"), status);
  }

  @Test
  void plaintextAndCertificates_excludeEachOther(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("tls.crt"), "x");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("--plaintext", "--tls-cert", cert.toString()).security("graft teacher"));
    assertEquals("graft teacher: --plaintext and the --tls-* options (or GRAFT_TLS_* variables) exclude each other;"
        + " give one or the other", e.getMessage());
    assertEquals(TransportSecurity.plaintext(), parse("--plaintext").security("graft teacher"));
  }

  @Test
  void mutualTlsOptions_becomeOneTransportSecurity(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("tls.crt"), "c");
    Path key = Files.writeString(dir.resolve("tls.key"), "k");
    Path ca = Files.writeString(dir.resolve("ca.crt"), "a");
    TransportSecurity s = parse("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", ca.toString(),
        "--tls-client-auth", "require", "--tls-allowed-clients", "sampler, operator").security("graft trainer");
    assertEquals(TransportSecurity.tls(cert, key, ca).withClientAuth(ClientAuth.REQUIRE)
        .withAllowedClients(List.of("operator", "sampler")), s);
    assertEquals("mutual TLS, clients operator,sampler", s.describe());

    // a client without an identity of its own: the CA alone
    assertEquals(TransportSecurity.tls(null, null, ca), parseClient("--tls-ca", ca.toString()).security("graft status"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("--tls-ca", ca.toString()).security("graft sampler"));
    assertTrue(e.getMessage().startsWith("graft sampler needs TLS settings or --plaintext"), e.getMessage());
  }

  @Test
  void inconsistentTlsOptions_areRefusedWithEveryProblem(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("tls.crt"), "c");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("--tls-cert",
        cert.toString(), "--tls-client-auth", "require").security("graft teacher"));
    assertTrue(e.getMessage().contains("only a certificate " + cert), e.getMessage());
    assertTrue(e.getMessage().contains("client auth require verifies client certificates against a CA: set --tls-ca"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> parse("--tls-cert", cert.toString(), "--tls-key",
        cert.toString(), "--tls-client-auth", "sometimes").security("graft teacher"));
    assertEquals("client auth 'sometimes' must be one of none, optional, require", e.getMessage());
  }
}
