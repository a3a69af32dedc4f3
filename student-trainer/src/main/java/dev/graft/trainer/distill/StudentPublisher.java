package dev.graft.trainer.distill;

import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sync.PolicyUpdate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends the student, exactly as it trains (its retrofit spec, its αs and every tensor), to the
 * samplers as policy versions numbered by the step: when a run (re)starts and every
 * {@code publish_every} steps. Thread-safe reads of the newest version.
 */
final class StudentPublisher {

  private final RetrofitStudent student;
  private final PolicyPublisher sink;
  private final long every;
  private final AtomicLong latest = new AtomicLong(-1);

  StudentPublisher(RetrofitStudent student, PolicyPublisher sink, long every) {
    this.student = student;
    this.sink = sink;
    this.every = every;
  }

  /** Publishes the student as version {@code step} unless a version that new exists. */
  void publish(long step) {
    if (latest.get() >= step) {
      return;
    }
    Map<String, float[]> tensors = new LinkedHashMap<>();
    student.state().forEach((n, a) -> tensors.put(n, a.toFloatArray()));
    sink.publish(new PolicyUpdate(step, student.spec(), tensors));
    latest.set(step);
  }

  /** Publishes after {@code step} when it is on the cadence and not the last step of the run. */
  void maybePublish(long step, long totalSteps) {
    if (step % every == 0 && step < totalSteps) {
      publish(step);
    }
  }

  /** The newest published version, -1 before the first. */
  long latestVersion() {
    return latest.get();
  }
}
