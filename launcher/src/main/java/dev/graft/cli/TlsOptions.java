package dev.graft.cli;

import dev.graft.service.TransportSecurity;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code --tls-*} and {@code --plaintext} of a role: how its server and its channels to other
 * roles are secured. A role refuses to start unless it is given a certificate or told
 * {@code --plaintext}; every option also reads an environment variable, so certificates mounted
 * from a Kubernetes Secret are named in the pod spec.
 */
final class TlsOptions {

  @Mixin
  TlsClientOptions files = new TlsClientOptions();

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

  /**
   * The security the options ask for: of the role's server, and of its channels to other roles.
   *
   * @param command how messages name the command ("graft teacher")
   * @throws IllegalArgumentException when neither a certificate nor --plaintext is given, when
   *     both are, or for an inconsistent or unreadable setting (every problem at once)
   */
  TransportSecurity security(String command) {
    boolean anyTls = files.cert != null || files.key != null || files.ca != null
        || !"none".equalsIgnoreCase(clientAuth.strip()) || (allowedClients != null && !allowedClients.isEmpty())
        || plaintextHealthPort != -1;
    return files.resolve(command, anyTls, true, () -> {
      TransportSecurity.ClientAuth auth = TransportSecurity.ClientAuth.parse(clientAuth);
      Set<String> allowed = allowedClients == null ? Set.of()
          : allowedClients.stream().map(String::strip).collect(Collectors.toSet());
      return new TransportSecurity(true, files.cert, files.key, files.ca, auth, allowed,
          TransportSecurity.DEFAULT_REFRESH, plaintextHealthPort); // one constructor: every problem at once
    });
  }
}
