package dev.graft.kube.submit;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

/** What the trainer's pod says about the run: ready, finished, or failed and why. */
final class TrainerPods {

  private TrainerPods() {}

  /** Whether the pod's Ready condition is True. */
  static boolean ready(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
      return false;
    }
    for (PodCondition c : pod.getStatus().getConditions()) {
      if ("Ready".equals(c.getType())) {
        return "True".equals(c.getStatus());
      }
    }
    return false;
  }

  /**
   * The trainer container's last exit, now or before its restart; null while it has not exited.
   * A StatefulSet restarts a container that exits, so a finished run shows as a terminated
   * last state with exit code 0.
   */
  static ContainerStateTerminated lastExit(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return null;
    }
    for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
      if (cs.getState() != null && cs.getState().getTerminated() != null) {
        return cs.getState().getTerminated();
      }
      if (cs.getLastState() != null && cs.getLastState().getTerminated() != null) {
        return cs.getLastState().getTerminated();
      }
    }
    return null;
  }

  /** How often the pod's containers were restarted. */
  static int restarts(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return 0;
    }
    return pod.getStatus().getContainerStatuses().stream()
        .mapToInt(cs -> cs.getRestartCount() == null ? 0 : cs.getRestartCount()).sum();
  }

  /**
   * @throws IllegalStateException with the reason when the pod's phase is Failed or its container
   *     exited with a non-zero code
   */
  static void requireNotFailed(Pod pod) {
    String name = pod.getMetadata().getName();
    if (pod.getStatus() != null && "Failed".equals(pod.getStatus().getPhase())) {
      String why = pod.getStatus().getMessage() != null ? pod.getStatus().getMessage() : pod.getStatus().getReason();
      throw new IllegalStateException("the trainer pod " + name + " failed" + (why != null ? ": " + why : ""));
    }
    ContainerStateTerminated exit = lastExit(pod);
    if (exit != null && exit.getExitCode() != null && exit.getExitCode() != 0) {
      throw new IllegalStateException("the trainer in pod " + name + " exited with code " + exit.getExitCode()
          + (exit.getReason() != null ? " (" + exit.getReason() + ")" : "")
          + (exit.getMessage() != null ? ": " + exit.getMessage().strip() : ""));
    }
  }
}
