package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The trainer's status service ({@code graft.v1.TrainerService/GetStatus}) reached through a
 * port-forward to its pod, the way {@code kubectl port-forward} does, so it works from outside
 * the cluster without exposing the trainer. A forward that breaks (the pod restarted) is opened
 * again on the next call. Under TLS the channel verifies the trainer's certificate against the
 * name of its Service ({@code RUN-trainer.NS.svc}), not {@code localhost}, and presents the
 * credentials' client certificate, whose identity the trainer must allow ({@code operator}).
 */
public final class PortForwardStatus implements TrainerStatusSource {

  private final KubernetesClient client;
  private final RunNames names;
  private final ChannelCredentials credentials;
  private LocalPortForward forward;
  private ManagedChannel channel;

  /**
   * @param credentials the channel's: TLS with the operator's certificate, or insecure for a run
   *     whose roles are plaintext; owned by the caller
   */
  public PortForwardStatus(KubernetesClient client, RunNames names, ChannelCredentials credentials) {
    this.client = client;
    this.names = names;
    this.credentials = credentials;
  }

  @Override
  public TrainerStatus get() {
    if (forward == null || !forward.isAlive() || forward.errorOccurred()) {
      close();
      forward = client.pods().inNamespace(names.namespace()).withName(names.trainerPod())
          .portForward(Role.TRAINER.grpcPort());
      channel = Grpc.newChannelBuilder("localhost:" + forward.getLocalPort(), credentials)
          .overrideAuthority(names.serviceHost(Role.TRAINER))
          .build();
    }
    try {
      return TrainerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getStatus(GetStatusRequest.getDefaultInstance());
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
    if (forward != null) {
      try {
        forward.close();
      } catch (IOException ignored) {
        // the forward is being dropped either way
      }
      forward = null;
    }
  }
}
