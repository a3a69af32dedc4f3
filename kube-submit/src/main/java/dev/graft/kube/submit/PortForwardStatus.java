package dev.graft.kube.submit;

import dev.graft.kube.submit.RunNames.Role;
import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The trainer's status service ({@code graft.v1.TrainerService/GetStatus}) reached through a
 * port-forward to its pod, the way {@code kubectl port-forward} does, so it works from outside
 * the cluster without exposing the trainer. A forward that breaks (the pod restarted) is opened
 * again on the next call.
 */
public final class PortForwardStatus implements TrainerStatusSource {

  private final KubernetesClient client;
  private final RunNames names;
  private LocalPortForward forward;
  private ManagedChannel channel;

  public PortForwardStatus(KubernetesClient client, RunNames names) {
    this.client = client;
    this.names = names;
  }

  @Override
  public TrainerStatus get() {
    if (forward == null || !forward.isAlive() || forward.errorOccurred()) {
      close();
      forward = client.pods().inNamespace(names.namespace()).withName(names.trainerPod())
          .portForward(Role.TRAINER.grpcPort());
      channel = Grpc.newChannelBuilder("localhost:" + forward.getLocalPort(), InsecureChannelCredentials.create())
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
