package dev.graft.service;

import java.util.ArrayList;
import java.util.List;

/**
 * A validated {@code host:port} address of a service replica: the one parser every role, client
 * and command uses.
 */
public record HostPort(String host, int port) {

  public HostPort {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("an endpoint needs a host");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("endpoint port (" + port + ") must be in 1..65535");
    }
  }

  /**
   * Parses {@code host:port} (an IPv6 host in brackets, {@code [::1]:50051}).
   *
   * @throws IllegalArgumentException naming the text when the host is empty or the port is not a
   *     number in 1..65535
   */
  public static HostPort parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("an endpoint must be host:port, e.g. localhost:50051, not null");
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("endpoint '" + text + "' must be host:port, e.g. localhost:50051");
    }
    String host = text.substring(0, colon).trim();
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("endpoint '" + text + "' has a port that is not a number");
    }
    if (host.isEmpty() || port < 1 || port > 65535) {
      throw new IllegalArgumentException("endpoint '" + text + "' needs a host and a port in 1..65535");
    }
    return new HostPort(host, port);
  }

  /** Parses every entry, in order. */
  public static List<HostPort> parseAll(List<String> texts) {
    List<HostPort> out = new ArrayList<>(texts.size());
    texts.forEach(t -> out.add(parse(t)));
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
