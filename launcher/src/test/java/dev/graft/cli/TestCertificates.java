package dev.graft.cli;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority for tests of the secured links, made with Bouncy Castle: it issues
 * server certificates for localhost / 127.0.0.1 and client certificates for a common name, and
 * writes them as the PEM files a Kubernetes TLS Secret holds ({@code tls.crt}, {@code tls.key},
 * {@code ca.crt}). EC P-256 keys, so a test makes several in milliseconds.
 */
public final class TestCertificates {

  private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime());

  private final String name;
  private final KeyPair keys;
  private final X509Certificate cert;

  private TestCertificates(String name, KeyPair keys, X509Certificate cert) {
    this.name = name;
    this.keys = keys;
    this.cert = cert;
  }

  /** A self-signed CA named {@code name}. */
  public static TestCertificates authority(String name) {
    KeyPair keys = newKeys();
    X500Name subject = new X500Name("CN=" + name);
    try {
      X509v3CertificateBuilder b = builder(subject, subject, keys)
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      return new TestCertificates(name, keys, sign(b, keys));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A server certificate for {@code cn} with SANs localhost and 127.0.0.1. */
  public Issued server(String cn) {
    return issue(cn, KeyPurposeId.id_kp_serverAuth, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
  }

  /** A server certificate for {@code cn} naming only {@code dnsName}. */
  public Issued server(String cn, String dnsName) {
    return issue(cn, KeyPurposeId.id_kp_serverAuth,
        new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
  }

  /** A client certificate whose identity is its subject CN alone. */
  public Issued client(String cn) {
    return issue(cn, KeyPurposeId.id_kp_clientAuth, null);
  }

  /** Writes this CA's certificate as PEM to {@code file}. */
  public Path writeCa(Path file) {
    write(file, pem(cert));
    return file;
  }

  /** A certificate and key this CA signed. */
  public record Issued(X509Certificate cert, String certPem, String keyPem) {
    /** Writes {@code tls.crt} and {@code tls.key} into {@code dir} (created), as a mounted Secret holds them. */
    public Issued writeTo(Path dir) {
      try {
        Files.createDirectories(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      write(dir.resolve("tls.key"), keyPem);
      write(dir.resolve("tls.crt"), certPem);
      return this;
    }

    /** Replaces {@code tls.key}, then {@code tls.crt}, in {@code dir}, each file atomically. */
    public void replaceIn(Path dir) {
      replace(dir.resolve("tls.key"), keyPem);
      replace(dir.resolve("tls.crt"), certPem);
    }
  }

  private Issued issue(String cn, KeyPurposeId purpose, GeneralNames sans) {
    KeyPair leaf = newKeys();
    try {
      X509v3CertificateBuilder b = builder(new X500Name("CN=" + name), new X500Name("CN=" + cn), leaf)
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
      if (sans != null) {
        b.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      X509Certificate c = sign(b, keys);
      StringWriter key = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(key)) {
        w.writeObject(new JcaPKCS8Generator(leaf.getPrivate(), null)); // PKCS#8: "BEGIN PRIVATE KEY"
      }
      return new Issued(c, pem(c) + pem(cert), key.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIALS.incrementAndGet()),
        Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair newKeys() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(Object o) {
    StringWriter s = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(s)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return s.toString();
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void replace(Path file, String text) {
    try {
      Path tmp = Files.createTempFile(file.getParent(), ".swap", ".pem");
      Files.writeString(tmp, text, StandardCharsets.US_ASCII);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
