package dev.graft.service;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authorises calls by the identity in the client's TLS certificate: its subject common name or a
 * DNS subject alternative name must be on the allow-list. A call over a connection without a
 * verified client certificate ends UNAUTHENTICATED; one whose certificate names no allowed
 * identity ends PERMISSION_DENIED, naming the identity. {@link ServiceHost} puts it in front of a
 * role's services, never in front of health or reflection.
 */
public final class AllowedClients implements ServerInterceptor {

  private final Set<String> allowed;

  /** @throws IllegalArgumentException for an empty list */
  public AllowedClients(Collection<String> identities) {
    if (identities.isEmpty()) {
      throw new IllegalArgumentException("an allow-list of client identities needs at least one identity");
    }
    this.allowed = Set.copyOf(identities);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    X509Certificate peer = session == null ? null : peerCertificate(session);
    if (peer == null) {
      return refuse(call, Status.UNAUTHENTICATED.withDescription(method + " needs a client certificate"
          + " naming one of " + String.join(", ", sorted()) + "; the caller presented none"));
    }
    List<String> identities = identities(peer);
    if (identities.stream().noneMatch(allowed::contains)) {
      String who = identities.isEmpty() ? "with no CN or DNS name" : String.join("/", identities);
      return refuse(call, Status.PERMISSION_DENIED.withDescription("client " + who + " ("+ peer.getSubjectX500Principal().getName() + ") may not call " + method + "; allowed clients: "
          + String.join(", ", sorted())));
    }
    return next.startCall(call, headers);
  }

  /**
   * The identities a certificate names, subject CN first, then its DNS subject alternative names.
   */
  public static List<String> identities(X509Certificate cert) {
    Set<String> ids = new LinkedHashSet<>();
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          ids.add(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      // an unparseable subject names nobody; the SANs may still
    }
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(2).equals(san.get(0))) { // dNSName
            ids.add(san.get(1).toString());
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no readable SANs: the CN alone decides
    }
    return new ArrayList<>(ids);
  }

  private static X509Certificate peerCertificate(SSLSession session) {
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private List<String> sorted() {
    return allowed.stream().sorted().toList();
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
