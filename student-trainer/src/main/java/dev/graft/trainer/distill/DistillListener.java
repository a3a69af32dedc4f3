package dev.graft.trainer.distill;

import java.nio.file.Path;
import java.util.List;

/** Receives a distillation run's progress; every method has a no-op default. */
public interface DistillListener {

  /** The untrained student at α = 1, measured before training: the start of the KL gap. */
  default void onBaseline(DistillEvaluator.Result before) {}

  default void onStart(long fromStep, long totalSteps) {}

  default void onStep(StepStats stats) {}

  /**
   * A held-out evaluation: periodic ones every {@code eval.every} steps (blended while the α ramp
   * runs, see {@link Evaluation#blended()}), and the final one of the α = 1 student.
   */
  default void onEval(Evaluation evaluation) {}

  default void onCheckpoint(long step, Path dir) {}

  /**
   * Policy {@code version} was published for the samplers; {@code seconds} from reading the
   * student's tensors to the version's commit (copy, packing, checksums).
   */
  default void onPublished(long version, double seconds) {}

  /**
   * The run waits for {@code peers} ("samplers", "teachers"): none answered, or none delivered
   * usable data; {@code seconds} waited so far; {@code why} the last failure. Called on the
   * prefetch thread, again at every retry.
   */
  default void onWaiting(String peers, double seconds, String why) {}

  /** {@code peers} answered again after {@code seconds} of waiting. */
  default void onResumed(String peers, double seconds) {}

  /** One listener that tells each of {@code listeners} every event, in order. */
  static DistillListener all(DistillListener... listeners) {
    List<DistillListener> ls = List.of(listeners);
    return new DistillListener() {
      @Override
      public void onBaseline(DistillEvaluator.Result before) {
        ls.forEach(l -> l.onBaseline(before));
      }

      @Override
      public void onStart(long fromStep, long totalSteps) {
        ls.forEach(l -> l.onStart(fromStep, totalSteps));
      }

      @Override
      public void onStep(StepStats stats) {
        ls.forEach(l -> l.onStep(stats));
      }

      @Override
      public void onEval(Evaluation evaluation) {
        ls.forEach(l -> l.onEval(evaluation));
      }

      @Override
      public void onCheckpoint(long step, Path dir) {
        ls.forEach(l -> l.onCheckpoint(step, dir));
      }

      @Override
      public void onPublished(long version, double seconds) {
        ls.forEach(l -> l.onPublished(version, seconds));
      }

      @Override
      public void onWaiting(String peers, double seconds, String why) {
        ls.forEach(l -> l.onWaiting(peers, seconds, why));
      }

      @Override
      public void onResumed(String peers, double seconds) {
        ls.forEach(l -> l.onResumed(peers, seconds));
      }
    };
  }
}
