package dev.graft.cli;

import dev.graft.service.TransportSecurity;
import java.nio.file.Path;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/**
 * {@code --tls-cert}, {@code --tls-key}, {@code --tls-ca} and {@code --plaintext}: how a client
 * command ({@code graft status}) reaches a role, and the part of {@link TlsOptions} every role
 * shares. Each option also reads an environment variable, so certificates mounted from a
 * Kubernetes Secret are named once in the pod spec.
 */
final class TlsClientOptions {

  @Option(names = "--tls-cert", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_CERT}",
      description = "Certificate chain (PEM) this process presents: a server's certificate, and its identity as a"
          + " client under mutual TLS. Reloaded when the file changes. Env GRAFT_TLS_CERT.")
  Path cert;

  @Option(names = "--tls-key", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_KEY}",
      description = "Private key (PKCS#8 PEM) of --tls-cert. Env GRAFT_TLS_KEY.")
  Path key;

  @Option(names = "--tls-ca", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_CA}",
      description = "CA certificates (PEM) trusted for peers: servers verify client certificates with them,"
          + " clients the servers' (default for clients: the system's roots). Env GRAFT_TLS_CA.")
  Path ca;

  @Option(names = "--plaintext", defaultValue = "${env:GRAFT_PLAINTEXT:-false}",
      description = "Run every link of this process without TLS (a trusted network or loopback only)."
          + " Env GRAFT_PLAINTEXT.")
  boolean plaintext;

  /**
   * The security of a client command: TLS when any file is given, plaintext when asked for.
   *
   * @param command how messages name the command ("graft status")
   * @throws IllegalArgumentException when neither or both are given, or for an unreadable file
   */
  TransportSecurity security(String command) {
    return resolve(command, cert != null || key != null || ca != null, false, null);
  }

  /**
   * Plaintext when asked for (and nothing else given), else what {@code tls} makes.
   *
   * @param anyTls whether any TLS setting was given
   * @param needsIdentity whether the command serves, and so needs a certificate of its own
   */
  TransportSecurity resolve(String command, boolean anyTls, boolean needsIdentity,
      Supplier<TransportSecurity> tls) {
    if (plaintext) {
      if (anyTls) {
        throw new IllegalArgumentException(command + ": --plaintext and the --tls-* options (or GRAFT_TLS_*"
            + " variables) exclude each other; give one or the other");
      }
      return TransportSecurity.plaintext();
    }
    if (needsIdentity ? cert == null && key == null : !anyTls) {
      throw new IllegalArgumentException(command + " needs TLS settings or --plaintext: give --tls-cert and"
          + " --tls-key (with --tls-ca for mutual TLS), or GRAFT_TLS_CERT/GRAFT_TLS_KEY/GRAFT_TLS_CA, or"
          + " --plaintext (GRAFT_PLAINTEXT=true) to run without encryption");
    }
    return tls != null ? tls.get() : TransportSecurity.tls(cert, key, ca);
  }
}
