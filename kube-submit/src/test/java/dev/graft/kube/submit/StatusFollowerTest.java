package dev.graft.kube.submit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.graft.proto.v1.RunPhase;
import dev.graft.proto.v1.TrainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Following a run against the CRUD mock API server, with the trainer's status service replaced by
 * a scripted source (the mock server does not forward ports).
 */
@EnableKubernetesMockClient(crud = true)
class StatusFollowerTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

  /** Answers each get() with the next scripted status or failure. */
  private record Script(Deque<Supplier<TrainerStatus>> answers) implements TrainerStatusSource {
    @Override
    public TrainerStatus get() {
      return answers.removeFirst().get();
    }

    @Override
    public void close() {}
  }

  private static TrainerStatus status(RunPhase phase, long step, String error) {
    return TrainerStatus.newBuilder().setRunId("f").setPhase(phase).setStep(step).setTotalSteps(3)
        .setError(error).build();
  }

  private void submitWithTrainerPod(String run, String phase, boolean ready, Integer exitCode, String reason) {
    SubmitSpec spec = Specs.spec(run, 1, 1, SubmitSpec.Device.CPU, 0);
    new RunSubmitter(client, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .submit(spec, false, Duration.ZERO);
    var pods = client.pods().inNamespace("graft-test");
    pods.resource(new PodBuilder().withNewMetadata().withName(run + "-trainer-0").endMetadata().withNewSpec()
        .addNewContainer().withName("trainer").withImage("graft").endContainer().endSpec().build()).create();
    PodBuilder b = new PodBuilder(pods.withName(run + "-trainer-0").get());
    var status = b.withNewStatus().withPhase(phase)
        .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition();
    if (exitCode != null) {
      status.addNewContainerStatus().withName("trainer").withNewState().withNewTerminated().withExitCode(exitCode)
          .withReason(reason).withMessage("IllegalStateException: no teacher checkpoint\n").endTerminated()
          .endState().endContainerStatus();
    }
    Pod pod = status.endStatus().build();
    pods.resource(pod).updateStatus();
  }

  private StatusFollower follower() {
    return new StatusFollower(client, new PrintStream(printed, true, StandardCharsets.UTF_8), d -> {}, Duration.ZERO,
        s -> s.getPhase() + " step " + s.getStep() + "\n");
  }

  @Test
  void follow_printsEachChangeAndEndsWhenTheRunIsDone() throws InterruptedException {
    submitWithTrainerPod("f", "Running", true, null, null);
    Script script = new Script(new ArrayDeque<>(List.of(
        () -> { throw Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException(); },
        () -> status(RunPhase.RUN_PHASE_TRAINING, 1, ""),
        () -> status(RunPhase.RUN_PHASE_TRAINING, 1, ""),
        () -> status(RunPhase.RUN_PHASE_TRAINING, 2, ""),
        () -> status(RunPhase.RUN_PHASE_DONE, 3, ""))));

    StatusFollower.Outcome outcome = follower().follow(new RunNames("graft-test", "f"), script);

    assertEquals("done", outcome.how());
    assertEquals(3, outcome.last().getStep());
    assertEquals(List.of("cannot read the trainer's status yet: UNAVAILABLE: connection refused",
        "RUN_PHASE_TRAINING step 1", "RUN_PHASE_TRAINING step 2", "RUN_PHASE_DONE step 3", "run f finished"),
        printed.toString().lines().toList());
  }

  @Test
  void follow_trainerReportsFailure_isAnErrorWithItsReason() {
    submitWithTrainerPod("g", "Running", true, null, null);
    Script script = new Script(new ArrayDeque<>(List.of(
        () -> status(RunPhase.RUN_PHASE_FAILED, 1, "no teacher answered for 600 s"))));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> follower().follow(new RunNames("graft-test", "g"), script));
    assertEquals("run g failed: no teacher answered for 600 s", e.getMessage());
  }

  @Test
  void follow_trainerContainerExitedNonZero_isAnErrorWithTheExitAndItsMessage() {
    submitWithTrainerPod("h", "Running", false, 2, "Error");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> follower().follow(new RunNames("graft-test", "h"), new Script(new ArrayDeque<>())));
    assertEquals("the trainer in pod h-trainer-0 exited with code 2 (Error): IllegalStateException: no teacher"
        + " checkpoint", e.getMessage());
  }

  @Test
  void follow_trainerPodFailed_isAnError() {
    submitWithTrainerPod("k", "Failed", false, null, null);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> follower().follow(new RunNames("graft-test", "k"), new Script(new ArrayDeque<>())));
    assertEquals("the trainer pod k-trainer-0 failed", e.getMessage());
  }

  @Test
  void follow_trainerStoppedMidRunAndRestarted_isFollowedToTheEnd() throws InterruptedException {
    submitWithTrainerPod("s", "Running", true, null, null);
    var pods = client.pods().inNamespace("graft-test");
    Runnable restarted = () -> pods.resource(new PodBuilder(pods.withName("s-trainer-0").get()).editStatus()
        .withContainerStatuses().addNewContainerStatus().withName("trainer").withRestartCount(1)
          .withNewLastState().withNewTerminated().withExitCode(0).withReason("Completed").endTerminated().endLastState()
          .withNewState().withNewRunning().endRunning().endState().endContainerStatus()
        .endStatus().build()).updateStatus();
    Deque<Runnable> cluster = new ArrayDeque<>(List.of(restarted, () -> {}));
    Script script = new Script(new ArrayDeque<>(List.of(
        () -> status(RunPhase.RUN_PHASE_TRAINING, 1, ""),
        () -> status(RunPhase.RUN_PHASE_TRAINING, 2, ""),
        () -> status(RunPhase.RUN_PHASE_DONE, 3, ""))));
    StatusFollower follower = new StatusFollower(client, new PrintStream(printed, true, StandardCharsets.UTF_8),
        d -> cluster.removeFirst().run(), Duration.ZERO, s -> s.getPhase() + " step " + s.getStep() + "\n");

    assertEquals("done", follower.follow(new RunNames("graft-test", "s"), script).how());
    assertEquals(List.of("RUN_PHASE_TRAINING step 1",
        "the trainer stopped with code 0 at step 1 of 3; it resumes from its last checkpoint",
        "RUN_PHASE_TRAINING step 2", "RUN_PHASE_DONE step 3", "run s finished"), printed.toString().lines().toList());
  }

  @Test
  void follow_trainerExitedZero_isTheEndOfTheRun() throws InterruptedException {
    submitWithTrainerPod("z", "Running", false, 0, "Completed");
    assertEquals("trainer exited with code 0",
        follower().follow(new RunNames("graft-test", "z"), new Script(new ArrayDeque<>())).how());
  }
}
