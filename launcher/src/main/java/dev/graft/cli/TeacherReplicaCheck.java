package dev.graft.cli;

import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.kube.discovery.ReplicaCheck;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherUnavailableException;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Vets each teacher replica that a {@code k8s:///} endpoint finds before it gets work: it must
 * serve the same model, tokenizer and vocabulary as the first replica admitted (asked directly
 * over its own short-lived channel, secured like the client's channels and verifying the
 * Service's name under TLS). A replica that differs is refused and listed in
 * {@link #refusals()}; one that does not answer yet is asked again shortly. Thread-safe.
 */
final class TeacherReplicaCheck implements ReplicaCheck {

  private final Duration deadline;
  private final TransportSecurity security;
  private final AtomicReference<TeacherInfo> reference = new AtomicReference<>();
  private final List<String> refusals = new CopyOnWriteArrayList<>();

  /**
   * @param deadline of the GetModelInfo call to a new replica
   * @param security of the client's channels (its certificate, the CA it trusts)
   */
  TeacherReplicaCheck(Duration deadline, TransportSecurity security) {
    this.deadline = deadline;
    this.security = security;
  }

  /** Has {@code provider} vet the replicas of every {@code k8s:///} endpoint among {@code endpoints}. */
  static TeacherReplicaCheck install(EndpointSliceResolverProvider provider, List<HostPort> endpoints,
      Duration deadline, TransportSecurity security) {
    TeacherReplicaCheck check = new TeacherReplicaCheck(deadline, security);
    endpoints.stream().filter(e -> "k8s".equals(e.scheme())).forEach(e -> provider.check(e.toString(), check));
    return check;
  }

  @Override
  public Verdict check(InetSocketAddress address) {
    return check(address, null);
  }

  /** @param authority the name the replica's certificate must carry; null: its address */
  @Override
  public Verdict check(InetSocketAddress address, String authority) {
    String host = address.getAddress().getHostAddress();
    String endpoint = (address.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + address.getPort();
    TeacherInfo info;
    ManagedChannel channel = null;
    try (TransportSecurity.Opened<ChannelCredentials> credentials = security.openClient()) {
      ManagedChannelBuilder<?> b = Grpc.newChannelBuilder(endpoint, credentials.credentials());
      if (authority != null) {
        b.overrideAuthority(authority);
      }
      channel = b.build();
      try (TeacherClient client = TeacherClient.builder().channels(List.of(channel)).deadline(deadline)
          .maxAttempts(1).build()) {
        info = client.info();
      }
    } catch (TeacherUnavailableException e) {
      return Verdict.retry(e.getMessage());
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
    }
    reference.compareAndSet(null, info);
    List<String> differences = differences(reference.get(), info);
    if (differences.isEmpty()) {
      return Verdict.admit();
    }
    String why = "teacher " + endpoint + " serves another teacher than the replicas already admitted: "
        + String.join(", ", differences) + "; every replica must serve the same model, tokenizer and vocabulary";
    refusals.add(why);
    return Verdict.refuse(why);
  }

  /** Why each refused replica was refused, in order. */
  List<String> refusals() {
    return List.copyOf(refusals);
  }

  private static List<String> differences(TeacherInfo expected, TeacherInfo got) {
    List<String> out = new ArrayList<>();
    if (!got.modelFingerprint().equals(expected.modelFingerprint())) {
      out.add("model fingerprint " + got.modelFingerprint() + " vs " + expected.modelFingerprint());
    }
    if (!got.tokenizerFingerprint().equals(expected.tokenizerFingerprint())) {
      out.add("tokenizer fingerprint " + got.tokenizerFingerprint() + " vs " + expected.tokenizerFingerprint());
    }
    if (got.vocabSize() != expected.vocabSize()) {
      out.add("vocabulary " + got.vocabSize() + " vs " + expected.vocabSize());
    }
    return out;
  }
}
