package dev.graft.kube.submit;

import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.StepStats;

/**
 * The trainer's waiting signal, fed by its run as a listener: the seconds its training thread
 * waited for batches (their rollouts, then their teacher targets) up to the last step, plus the
 * current wait while no sampler answers at all. Waits for teachers are not counted: more samplers
 * do not help then. Written by the training and prefetch threads, read by the autoscaler's.
 */
public final class TrainerWaiting implements DistillListener, WaitingSignal {

  private double stepWait;
  private double samplerEpisode; // seconds of the current wait for samplers, 0 when none
  private double teacherEpisode; // seconds of the current wait for teachers, 0 when none
  private double teacherTotal;   // teacher waits already over, included in stepWait
  private double reported;

  @Override
  public synchronized void onStep(StepStats stats) {
    stepWait = stats.teacherWaitSeconds();
    samplerEpisode = 0;
  }

  @Override
  public synchronized void onWaiting(String peers, double seconds, String why) {
    if ("samplers".equals(peers)) {
      samplerEpisode = seconds;
    } else if ("teachers".equals(peers)) {
      teacherEpisode = seconds;
    }
  }

  @Override
  public synchronized void onResumed(String peers, double seconds) {
    if ("teachers".equals(peers)) {
      teacherTotal += seconds;
      teacherEpisode = 0;
    }
  }

  @Override
  public synchronized double waitedSeconds() {
    double now = Math.max(0, stepWait - teacherTotal) + samplerEpisode;
    reported = Math.max(reported, now);
    return reported;
  }

  /** Whether the run is waiting for teachers now (scaling samplers would not help). */
  public synchronized boolean waitingForTeachers() {
    return teacherEpisode > 0;
  }
}
