package dev.graft.service;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * How a process's gRPC links are secured: plaintext, or TLS from PEM files with optional mutual
 * TLS and an allow-list of client identities. Every server ({@link ServiceHost}) and every client
 * channel ({@link Replicas}, the weight subscriber, the CLI's clients) takes its credentials from
 * here, so a link's security is decided in one place.
 *
 * <p>The certificate, key and CA files are checked every {@link #refresh()} and loaded again when
 * their content changed, into grpc-util's {@code AdvancedTlsX509KeyManager} /
 * {@code AdvancedTlsX509TrustManager}: certificates mounted from a Kubernetes Secret are picked
 * up on rotation by new connections (connections already open keep their session).
 *
 * @param tls false for plaintext (then every other setting is empty)
 * @param cert PEM certificate chain this process presents: required to serve, optional for a
 *     client (its identity under mutual TLS)
 * @param key PEM private key of {@code cert} (PKCS#8)
 * @param ca PEM certificates this process trusts: a server verifies client certificates with
 *     them, a client the server's; null for a client means the system's trusted roots
 * @param clientAuth whether a server asks for and requires client certificates
 * @param allowedClients identities (certificate subject CN or DNS subject alternative name) a
 *     server's role services accept; empty accepts every client the handshake admitted. Health and
 *     reflection stay open.
 * @param refresh how often the files are checked for changes
 * @param plaintextHealthPort a server's second port serving gRPC health alone without TLS, for
 *     probes that cannot speak TLS (the kubelet's native gRPC probes); 0 picks a free one, -1 (the
 *     default) serves none. Only with TLS: a plaintext server answers health on its own port.
 */
public record TransportSecurity(boolean tls, Path cert, Path key, Path ca, ClientAuth clientAuth,
    Set<String> allowedClients, Duration refresh, int plaintextHealthPort) {

  /** Whether a TLS server asks clients for a certificate. */
  public enum ClientAuth {
    /** No client certificates (TLS only). */
    NONE,
    /** Verified when presented; role services with an allow-list still refuse calls without one. */
    OPTIONAL,
    /** The handshake fails without a certificate the CA signed (mutual TLS). */
    REQUIRE;

    TlsServerCredentials.ClientAuth grpc() {
      return TlsServerCredentials.ClientAuth.valueOf(name());
    }

    /** @throws IllegalArgumentException naming the accepted values */
    public static ClientAuth parse(String text) {
      for (ClientAuth a : values()) {
        if (a.name().equalsIgnoreCase(text.strip())) {
          return a;
        }
      }
      throw new IllegalArgumentException("client auth '" + text + "' must be one of none, optional, require");
    }
  }

  /** How often certificate files are checked for changes unless {@link #withRefresh} says otherwise. */
  public static final Duration DEFAULT_REFRESH = Duration.ofMinutes(1);

  private static final TransportSecurity PLAINTEXT =
      new TransportSecurity(false, null, null, null, ClientAuth.NONE, Set.of(), DEFAULT_REFRESH, -1);

  /**
   * @throws IllegalArgumentException listing every inconsistent or unreadable setting
   */
  public TransportSecurity {
    clientAuth = clientAuth == null ? ClientAuth.NONE : clientAuth;
    allowedClients = allowedClients == null ? Set.of() : Set.copyOf(allowedClients);
    List<String> problems = new ArrayList<>();
    if (refresh == null || refresh.isNegative() || refresh.isZero()) {
      problems.add("the certificate refresh period (" + refresh + ") must be > 0");
    }
    if (plaintextHealthPort < -1 || plaintextHealthPort > 65535) {
      problems.add("the plaintext health port (" + plaintextHealthPort + ") must be in [-1, 65535]");
    }
    if (!tls) {
      if (cert != null || key != null || ca != null || clientAuth != ClientAuth.NONE || !allowedClients.isEmpty()
          || plaintextHealthPort != -1) {
        problems.add("plaintext takes no certificate, key, CA, client auth, allowed clients or plaintext health"
            + " port (the gRPC port itself serves health)");
      }
    } else {
      if ((cert == null) != (key == null)) {
        problems.add("a certificate (--tls-cert) and its key (--tls-key) go together; got "
            + (cert == null ? "only a key " + key : "only a certificate " + cert));
      }
      readable("certificate (--tls-cert)", cert, problems);
      readable("key (--tls-key)", key, problems);
      readable("CA (--tls-ca)", ca, problems);
      if (clientAuth != ClientAuth.NONE && ca == null) {
        problems.add("client auth " + clientAuth.name().toLowerCase() + " verifies client certificates"
            + " against a CA: set --tls-ca");
      }
      if (!allowedClients.isEmpty() && clientAuth == ClientAuth.NONE) {
        problems.add("allowed clients " + allowedClients + " are told apart by client certificate: set"
            + " --tls-client-auth require (or optional)");
      }
      allowedClients.forEach(c -> {
        if (c.isBlank()) {
          problems.add("an allowed client identity is blank");
        }
      });
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid TLS settings: " + String.join("; ", problems));
    }
  }

  private static void readable(String what, Path file, List<String> problems) {
    if (file != null && !Files.isReadable(file)) {
      problems.add("the " + what + " file " + file + " does not exist or cannot be read");
    }
  }

  /** Plaintext links: for loopback and tests, never a default of a role command. */
  public static TransportSecurity plaintext() {
    return PLAINTEXT;
  }

  /**
   * TLS presenting {@code cert}/{@code key} (both null for a client without an identity),
   * trusting {@code ca} (null: the system's roots, client side only), no client certificates.
   */
  public static TransportSecurity tls(Path cert, Path key, Path ca) {
    return new TransportSecurity(true, cert, key, ca, ClientAuth.NONE, Set.of(), DEFAULT_REFRESH, -1);
  }

  /** The same, with servers asking for client certificates as {@code auth} says. */
  public TransportSecurity withClientAuth(ClientAuth auth) {
    return new TransportSecurity(tls, cert, key, ca, auth, allowedClients, refresh, plaintextHealthPort);
  }

  /** The same, with servers accepting only these client identities on their role services. */
  public TransportSecurity withAllowedClients(Collection<String> identities) {
    return new TransportSecurity(tls, cert, key, ca, clientAuth, Set.copyOf(identities), refresh, plaintextHealthPort);
  }

  /** The same, checking the files for changes every {@code period}. */
  public TransportSecurity withRefresh(Duration period) {
    return new TransportSecurity(tls, cert, key, ca, clientAuth, allowedClients, period, plaintextHealthPort);
  }

  /** The same, with servers also answering health without TLS on {@code port} (0: any free one). */
  public TransportSecurity withPlaintextHealthPort(int port) {
    return new TransportSecurity(tls, cert, key, ca, clientAuth, allowedClients, refresh, port);
  }

  /** "plaintext", or "TLS" / "mutual TLS" with the allow-list, for start-up lines. */
  public String describe() {
    if (!tls) {
      return "plaintext";
    }
    String mode = switch (clientAuth) {
      case NONE -> "TLS";
      case OPTIONAL -> "TLS, client certificates optional";
      case REQUIRE -> "mutual TLS";
    };
    return mode + (allowedClients.isEmpty() ? "" : ", clients " + String.join(",", new TreeSet<>(allowedClients)));
  }

  /**
   * Credentials for a server, reloading the files until {@link Opened#close()}.
   *
   * @throws IllegalArgumentException without a certificate, or when a file cannot be parsed
   */
  public Opened<ServerCredentials> openServer() {
    if (!tls) {
      return new Opened<>(InsecureServerCredentials.create(), null);
    }
    if (cert == null) {
      throw new IllegalArgumentException("a TLS server needs a certificate and key (--tls-cert, --tls-key)");
    }
    CertificateFiles files = new CertificateFiles(cert, key, ca,
        AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION, refresh);
    TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder().keyManager(files.keyManager())
        .clientAuth(clientAuth.grpc());
    if (files.trustManager() != null) {
      b.trustManager(files.trustManager());
    }
    return new Opened<>(b.build(), files);
  }

  /**
   * Credentials for client channels, reloading the files until {@link Opened#close()}: the owner
   * of the channels closes them after the channels. Servers' host names are verified against their
   * certificates.
   *
   * @throws IllegalArgumentException when a file cannot be parsed
   */
  public Opened<ChannelCredentials> openClient() {
    if (!tls) {
      return new Opened<>(InsecureChannelCredentials.create(), null);
    }
    CertificateFiles files = new CertificateFiles(cert, key, ca,
        AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION, refresh);
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    if (files.keyManager() != null) {
      b.keyManager(files.keyManager());
    }
    if (files.trustManager() != null) {
      b.trustManager(files.trustManager());
    }
    return new Opened<>(b.build(), files);
  }

  /**
   * Credentials and the file checks behind them.
   *
   * @param <C> server or channel credentials
   */
  public static final class Opened<C> implements AutoCloseable {
    private final C credentials;
    private final CertificateFiles files; // null for plaintext

    private Opened(C credentials, CertificateFiles files) {
      this.credentials = credentials;
      this.files = files;
    }

    public C credentials() {
      return credentials;
    }

    /** Stops checking the files; connections made go on. Idempotent. */
    @Override
    public void close() {
      if (files != null) {
        files.close();
      }
    }
  }
}
