package dev.graft.service;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
 * Secret volume swaps every file at once on rotation). A change that cannot be loaded is logged
 * and tried again at the next check; the previous certificates stay in use meanwhile.
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
        keyManager.updateIdentityCredentials(cert.toFile(), key.toFile());
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

  private String describe(Exception e) {
    return "cannot load TLS files (certificate " + cert + ", key " + key + ", CA " + ca
        + "; PEM certificates and a PKCS#8 PEM key expected): " + e.getMessage();
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
