package dev.graft.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A validated address of a service: the one parser every role, client and command uses. Either a
 * fixed {@code host:port} replica, or {@code scheme:///host:port} — a name that a gRPC name
 * resolver turns into a changing set of replicas, balanced round-robin by one channel:
 * {@code dns:///svc.ns.svc.cluster.local:50051} (the A records of a headless Service) or
 * {@code k8s:///svc.ns:50051} (the ready endpoints of a Kubernetes Service, followed by the
 * launcher's EndpointSlice resolver).
 *
 * @param scheme the name resolver's scheme, or null for a fixed {@code host:port}
 * @param host the host (for {@code k8s}, {@code service.namespace})
 * @param port the port
 */
public record HostPort(String scheme, String host, int port) {

  /** Schemes an endpoint may name. */
  public static final Set<String> SCHEMES = Set.of("dns", "k8s");

  public HostPort {
    if (scheme != null && !SCHEMES.contains(scheme)) {
      throw new IllegalArgumentException("endpoint scheme '" + scheme + "' is not one of " + SCHEMES.stream().sorted().toList());
    }
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("an endpoint needs a host");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("endpoint port (" + port + ") must be in 1..65535");
    }
  }

  /** A fixed {@code host:port} replica. */
  public HostPort(String host, int port) {
    this(null, host, port);
  }

  /**
   * Parses {@code host:port} (an IPv6 host in brackets, {@code [::1]:50051}), or
   * {@code dns:///host:port} / {@code k8s:///service.namespace:port}.
   *
   * @throws IllegalArgumentException naming the text when the host is empty, the port is not a
   *     number in 1..65535, or the scheme is not {@code dns} or {@code k8s}
   */
  public static HostPort parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("an endpoint must be host:port, e.g. localhost:50051, not null");
    }
    String scheme = null;
    String address = text;
    int sep = text.indexOf("://");
    if (sep >= 0) {
      scheme = text.substring(0, sep);
      if (!SCHEMES.contains(scheme) || !text.startsWith(":///", sep)) {
        throw new IllegalArgumentException("endpoint '" + text + "' must be host:port, dns:///host:port or"
            + " k8s:///service.namespace:port");
      }
      address = text.substring(sep + 4);
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException("endpoint '" + text + "' must be host:port, e.g. localhost:50051");
    }
    String host = address.substring(0, colon).trim();
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("endpoint '" + text + "' has a port that is not a number");
    }
    if (host.isEmpty() || port < 1 || port > 65535) {
      throw new IllegalArgumentException("endpoint '" + text + "' needs a host and a port in 1..65535");
    }
    return new HostPort(scheme, host, port);
  }

  /** Parses every entry, in order. */
  public static List<HostPort> parseAll(List<String> texts) {
    List<HostPort> out = new ArrayList<>(texts.size());
    texts.forEach(t -> out.add(parse(t)));
    return List.copyOf(out);
  }

  /** Whether a name resolver finds the replicas (one channel balances over all of them). */
  public boolean resolved() {
    return scheme != null;
  }

  /** The gRPC channel target: {@code host:port}, or {@code scheme:///host:port}. */
  @Override
  public String toString() {
    return (scheme == null ? "" : scheme + ":///") + host + ":" + port;
  }
}
