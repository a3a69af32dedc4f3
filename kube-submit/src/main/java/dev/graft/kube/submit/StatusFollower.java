package dev.graft.kube.submit;

import dev.graft.proto.v1.RunPhase;
import dev.graft.proto.v1.TrainerStatus;
import dev.graft.service.Backoff.Sleeper;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Function;

/**
 * Follows a submitted run to its end: polls the trainer's pod (a failed pod or a non-zero exit
 * ends the run with its reason) and, while the pod is ready, the trainer's status service, and
 * prints the status whenever it changes — step, loss, held-out KL and gap recovered.
 */
public final class StatusFollower {

  /** How a run ended: the trainer's last status when one was read (null if none). */
  public record Outcome(String how, TrainerStatus last) {}

  private final KubernetesClient client;
  private final PrintStream out;
  private final Sleeper sleeper;
  private final Duration interval;
  private final Function<TrainerStatus, String> describe;

  /**
   * @param describe the status as lines for a person (what {@code graft status} prints)
   */
  public StatusFollower(KubernetesClient client, PrintStream out, Sleeper sleeper, Duration interval,
      Function<TrainerStatus, String> describe) {
    this.client = client;
    this.out = out;
    this.sleeper = sleeper;
    this.interval = interval;
    this.describe = describe;
  }

  /**
   * Returns when the run has finished: the trainer reports DONE, or its container exited with
   * code 0 at the run's last step (or before any status was read). A trainer that exits 0 earlier
   * was stopped (SIGTERM) and resumes when restarted; following goes on.
   *
   * @throws IllegalStateException with the reason when the trainer reports FAILED, its pod
   *     failed or its container exited non-zero, or the run was deleted
   */
  public Outcome follow(RunNames names, TrainerStatusSource source) throws InterruptedException {
    String lastText = null;
    String lastProblem = null;
    TrainerStatus last = null;
    int noticedRestarts = 0;
    while (true) {
      Pod pod;
      try {
        if (client.apps().statefulSets().inNamespace(names.namespace()).withName(names.of(RunNames.Role.TRAINER))
            .get() == null) {
          throw new IllegalStateException("run " + names.run() + " was deleted from namespace " + names.namespace());
        }
        pod = client.pods().inNamespace(names.namespace()).withName(names.trainerPod()).get();
      } catch (KubernetesClientException e) {
        throw KubeErrors.describe(client, "follow run " + names.run(), e);
      }
      String problem = null;
      if (pod == null) {
        problem = "the trainer pod " + names.trainerPod() + " is being recreated";
      } else {
        TrainerPods.requireNotFailed(pod);
        ContainerStateTerminated exit = TrainerPods.lastExit(pod);
        if (exit != null && (last == null || last.getStep() >= last.getTotalSteps())) {
          out.println("run " + names.run() + ": the trainer exited with code 0");
          return new Outcome("trainer exited with code 0", last);
        }
        if (exit != null && TrainerPods.restarts(pod) != noticedRestarts) {
          // Stopped mid-run (SIGTERM: it checkpoints and exits 0); the restarted trainer resumes.
          noticedRestarts = TrainerPods.restarts(pod);
          out.println("the trainer stopped with code 0 at step " + last.getStep() + " of " + last.getTotalSteps()
              + "; it resumes from its last checkpoint");
        }
        if (TrainerPods.ready(pod)) {
          TrainerStatus s = null;
          try {
            s = source.get();
          } catch (RuntimeException e) {
            problem = "cannot read the trainer's status yet: " + e.getMessage();
          }
          if (s != null) {
            last = s;
            String text = describe.apply(s);
            if (!text.equals(lastText)) {
              out.print(text);
              lastText = text;
            }
            if (s.getPhase() == RunPhase.RUN_PHASE_DONE) {
              out.println("run " + names.run() + " finished");
              return new Outcome("done", s);
            }
            if (s.getPhase() == RunPhase.RUN_PHASE_FAILED) {
              throw new IllegalStateException("run " + names.run() + " failed: " + s.getError());
            }
          }
        } else {
          problem = "the trainer pod is not ready";
        }
      }
      if (problem != null && !problem.equals(lastProblem)) {
        out.println(problem);
      }
      lastProblem = problem;
      sleeper.sleep(interval);
    }
  }
}
