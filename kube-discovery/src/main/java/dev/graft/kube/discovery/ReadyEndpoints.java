package dev.graft.kube.discovery;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The replicas a set of EndpointSlices makes ready to serve a port: every IPv4 or IPv6 address of
 * an endpoint whose {@code ready} condition is true or unset (the API says to read unset as
 * ready) and whose {@code terminating} condition is not true.
 *
 * <p>Which port of a slice: the one whose number is the target's port, else the one named
 * {@code grpc}, else the only one; a slice with several ports and none of these is skipped. (A
 * slice has one port list for all its endpoints, so replicas on different ports come in different
 * slices.)
 */
public final class ReadyEndpoints {

  /** The port name preferred when no slice port has the target's number. */
  public static final String GRPC_PORT_NAME = "grpc";

  private ReadyEndpoints() {}

  /**
   * One ready replica.
   *
   * @param address where it serves
   * @param pod the pod the endpoint points at, or the slice name when it names none (for messages)
   */
  public record Replica(InetSocketAddress address, String pod) {
    @Override
    public String toString() {
      return address.getAddress().getHostAddress() + ":" + address.getPort() + " (" + pod + ")";
    }
  }

  /** The ready replicas of {@code slices} on {@code port}, sorted by address, without duplicates. */
  public static List<Replica> of(Collection<EndpointSlice> slices, int port) {
    List<Replica> out = new ArrayList<>();
    for (EndpointSlice slice : slices) {
      String type = slice.getAddressType();
      Optional<Integer> chosen = port(slice.getPorts(), port);
      if (chosen.isEmpty() || !("IPv4".equals(type) || "IPv6".equals(type)) || slice.getEndpoints() == null) {
        continue;
      }
      for (Endpoint e : slice.getEndpoints()) {
        if (!ready(e) || e.getAddresses() == null) {
          continue;
        }
        String pod = e.getTargetRef() != null && e.getTargetRef().getName() != null
            ? e.getTargetRef().getName() : slice.getMetadata().getName();
        for (String ip : e.getAddresses()) {
          literal(ip).ifPresent(a -> out.add(new Replica(new InetSocketAddress(a, chosen.get()), pod)));
        }
      }
    }
    return out.stream().distinct()
        .sorted(Comparator.comparing((Replica r) -> r.address().getAddress().getHostAddress())
            .thenComparingInt(r -> r.address().getPort()))
        .toList();
  }

  static boolean ready(Endpoint e) {
    var c = e.getConditions();
    if (c == null) {
      return true;
    }
    return !Boolean.FALSE.equals(c.getReady()) && !Boolean.TRUE.equals(c.getTerminating());
  }

  private static Optional<Integer> port(List<EndpointPort> ports, int wanted) {
    if (ports == null || ports.isEmpty()) {
      return Optional.empty();
    }
    for (EndpointPort p : ports) {
      if (p.getPort() != null && p.getPort() == wanted) {
        return Optional.of(wanted);
      }
    }
    for (EndpointPort p : ports) {
      if (GRPC_PORT_NAME.equals(p.getName()) && p.getPort() != null) {
        return Optional.of(p.getPort());
      }
    }
    return ports.size() == 1 && ports.get(0).getPort() != null ? Optional.of(ports.get(0).getPort()) : Optional.empty();
  }

  /** An IP literal, never a DNS lookup; empty for anything else. */
  private static Optional<InetAddress> literal(String ip) {
    if (ip == null || ip.isEmpty() || !(ip.indexOf(':') >= 0 || ip.chars().allMatch(ch -> ch == '.' || Character.isDigit(ch)))) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(ip));
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }
}
