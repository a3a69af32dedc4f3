package dev.graft.trainer.distill;

import java.util.ArrayList;
import java.util.List;

/** {@code host:port} addresses of service replicas. */
public final class Endpoints {

  private Endpoints() {}

  /** A validated address. */
  public record Address(String host, int port) {
    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  /**
   * Parses {@code host:port}.
   *
   * @throws IllegalArgumentException naming the text when the host is empty or the port is not in
   *     1..65535
   */
  public static Address parse(String text) {
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
    return new Address(host, port);
  }

  /** Parses every entry. */
  public static List<Address> parseAll(List<String> texts) {
    List<Address> out = new ArrayList<>();
    texts.forEach(t -> out.add(parse(t)));
    return out;
  }
}
