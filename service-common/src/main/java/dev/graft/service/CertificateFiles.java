package dev.graft.service;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a certificate and key into a key manager and CA certificates into a trust manager, then
 * checks the files every period and loads them again when their content changed (a Kubernetes
 * Secret volume swaps every file at once on rotation). A change that cannot be loaded, or a key
 * that does not belong to its certificate (a pair replaced one file at a time, caught between the
 * two), is logged and tried again at the next check; the previous certificates stay in use
 * meanwhile.
 *
 * <p>grpc-util's own file watching checks at most once a minute and by modification time; this
 * checks by content at any period, so tests can rotate certificates in milliseconds.
 */
final class CertificateFiles implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CertificateFiles.class);
  private static final ScheduledExecutorService CHECKS = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "graft-tls-reload");
    t.setDaemon(true);
    return t;
  });

  private static final String ALIAS = "default"; // the one alias of AdvancedTlsX509KeyManager

  private final Path cert;
  private final Path key;
  private final Path ca;
  private final AdvancedTlsX509KeyManager keyManager; // null without an identity
  private final AdvancedTlsX509TrustManager trustManager; // null without a CA
  private byte[] identityDigest;
  private byte[] caDigest;
  private final ScheduledFuture<?> checks;

  /**
   * Loads the files once and schedules the checks.
   *
   * @param cert PEM certificate chain, or null (then {@code key} is null too)
   * @param ca PEM CA certificates, or null
   * @throws IllegalArgumentException when a file cannot be read or parsed, naming it
   */
  CertificateFiles(Path cert, Path key, Path ca, AdvancedTlsX509TrustManager.Verification verification,
      Duration period) {
    this.cert = cert;
    this.key = key;
    this.ca = ca;
    this.keyManager = cert == null ? null : new AdvancedTlsX509KeyManager();
    try {
      this.trustManager = ca == null ? null
          : AdvancedTlsX509TrustManager.newBuilder().setVerification(verification).build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a trust manager", e);
    }
    try {
      check(true);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(describe(e), e);
    }
    this.checks = CHECKS.scheduleWithFixedDelay(this::checkAndLog, period.toNanos(), period.toNanos(),
        TimeUnit.NANOSECONDS);
  }

  AdvancedTlsX509KeyManager keyManager() {
    return keyManager;
  }

  AdvancedTlsX509TrustManager trustManager() {
    return trustManager;
  }

  private void checkAndLog() {
    try {
      check(false);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      log.warn("{}; the previous certificates stay in use until the next check", describe(e));
    }
  }

  private synchronized void check(boolean first) throws IOException, GeneralSecurityException {
    if (keyManager != null) {
      byte[] d = digest(cert, key);
      if (!Arrays.equals(d, identityDigest)) {
        AdvancedTlsX509KeyManager parsed = new AdvancedTlsX509KeyManager(); // parses; installs nothing yet
        parsed.updateIdentityCredentials(cert.toFile(), key.toFile());
        X509Certificate[] chain = parsed.getCertificateChain(ALIAS);
        PrivateKey privateKey = parsed.getPrivateKey(ALIAS);
        checkPair(chain[0], privateKey); // a half-replaced pair waits for the next check
        keyManager.updateIdentityCredentials(chain, privateKey);
        identityDigest = d;
        if (!first) {
          log.info("loaded the changed TLS certificate {}", cert);
        }
      }
    }
    if (trustManager != null) {
      byte[] d = digest(ca);
      if (!Arrays.equals(d, caDigest)) {
        trustManager.updateTrustCredentials(ca.toFile());
        caDigest = d;
        if (!first) {
          log.info("loaded the changed TLS CA certificates {}", ca);
        }
      }
    }
  }

  /** @throws GeneralSecurityException unless {@code key} signs what {@code cert}'s public key verifies */
  private void checkPair(X509Certificate leaf, PrivateKey privateKey) throws GeneralSecurityException {
    String algorithm = switch (privateKey.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null; // no check for other kinds; the handshake will tell
    };
    if (algorithm == null) {
      return;
    }
    byte[] probe = "graft key check".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(privateKey);
    signer.update(probe);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    verifier.initVerify(leaf.getPublicKey());
    verifier.update(probe);
    if (!verifier.verify(signature)) {
      throw new GeneralSecurityException("the key " + key + " does not belong to the certificate " + cert
          + " (" + leaf.getSubjectX500Principal().getName() + ")");
    }
  }

  private String describe(Exception e) {
    String identity = cert == null ? "" : "certificate " + cert + ", key " + key;
    String trust = ca == null ? "" : "CA " + ca;
    String files = identity.isEmpty() || trust.isEmpty() ? identity + trust : identity + ", " + trust;
    return "cannot load TLS files (" + files + "; PEM certificates and a PKCS#8 PEM key expected): "
        + e.getMessage();
  }

  private static byte[] digest(Path... files) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Path f : files) {
        md.update(Files.readAllBytes(f));
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Stops the checks. */
  @Override
  public void close() {
    checks.cancel(false);
  }
}
