package dev.graft.cli;

import dev.graft.service.TransportSecurity;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Option;

/**
 * {@code --tls-*} and {@code --plaintext}: how a role's server and its channels to other roles are
 * secured. A role refuses to start unless it is given a certificate or told {@code --plaintext};
 * every option also reads an environment variable, so certificates mounted from a Kubernetes
 * Secret are named in the pod spec.
 */
final class TlsOptions {

  @Option(names = "--tls-cert", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_CERT}",
      description = "Certificate chain (PEM) this process presents: its server certificate, and its identity as a"
          + " client under mutual TLS. Reloaded when the file changes. Env GRAFT_TLS_CERT.")
  Path cert;

  @Option(names = "--tls-key", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_KEY}",
      description = "Private key (PKCS#8 PEM) of --tls-cert. Env GRAFT_TLS_KEY.")
  Path key;

  @Option(names = "--tls-ca", paramLabel = "PEM", defaultValue = "${env:GRAFT_TLS_CA}",
      description = "CA certificates (PEM) trusted for peers: servers verify client certificates with them,"
          + " clients the servers' (default for clients: the system's roots). Env GRAFT_TLS_CA.")
  Path ca;

  @Option(names = "--tls-client-auth", paramLabel = "MODE", defaultValue = "${env:GRAFT_TLS_CLIENT_AUTH:-none}",
      description = "Whether this server asks clients for a certificate signed by --tls-ca: none, optional or"
          + " require (mutual TLS). Default: ${DEFAULT-VALUE} (env GRAFT_TLS_CLIENT_AUTH).")
  String clientAuth;

  @Option(names = "--tls-allowed-clients", paramLabel = "ID", split = ",",
      defaultValue = "${env:GRAFT_TLS_ALLOWED_CLIENTS}",
      description = "Client identities (certificate CN or DNS SAN) this server's role services accept; others get"
          + " PERMISSION_DENIED, calls without a certificate UNAUTHENTICATED. Health and reflection stay open."
          + " Required by the trainer under TLS (for example sampler,operator). Env GRAFT_TLS_ALLOWED_CLIENTS.")
  List<String> allowedClients;

  @Option(names = "--plaintext-health-port", paramLabel = "PORT",
      defaultValue = "${env:GRAFT_PLAINTEXT_HEALTH_PORT:--1}",
      description = "Under TLS, also serve gRPC health alone without TLS on this port, for probes that cannot speak"
          + " TLS (Kubernetes' native gRPC probes); -1 serves none. Default: ${DEFAULT-VALUE}"
          + " (env GRAFT_PLAINTEXT_HEALTH_PORT).")
  int plaintextHealthPort;

  @Option(names = "--plaintext", defaultValue = "${env:GRAFT_PLAINTEXT:-false}",
      description = "Run every link of this process without TLS (a trusted network or loopback only)."
          + " Env GRAFT_PLAINTEXT.")
  boolean plaintext;

  /**
   * The security the options ask for.
   *
   * @param command how messages name the command ("graft teacher")
   * @param needsIdentity whether the command serves, and so needs a certificate of its own
   * @throws IllegalArgumentException when neither certificates nor --plaintext are given, when
   *     both are, or for an inconsistent or unreadable setting
   */
  TransportSecurity security(String command, boolean needsIdentity) {
    boolean anyTls = cert != null || key != null || ca != null || !"none".equalsIgnoreCase(clientAuth.strip())
        || (allowedClients != null && !allowedClients.isEmpty()) || plaintextHealthPort != -1;
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
    TransportSecurity.ClientAuth auth = TransportSecurity.ClientAuth.parse(clientAuth);
    Set<String> allowed = allowedClients == null ? Set.of()
        : allowedClients.stream().map(String::strip).collect(Collectors.toSet());
    return new TransportSecurity(true, cert, key, ca, auth, allowed, TransportSecurity.DEFAULT_REFRESH,
        needsIdentity ? plaintextHealthPort : -1); // one constructor: every problem at once
  }
}
