package dev.graft.trainer.distill;

import dev.graft.retrofit.AlphaSchedule;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.publish.WeightPublisher;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Sends the student, exactly as it trains (its retrofit spec, its αs and every tensor), to the
 * samplers as policy versions numbered by the step, under this run's epoch: when a run
 * (re)starts and every {@code publish_every} steps. Version v is the student after step v, at the
 * α of step v — so version 0 of a gradual run is the teacher's function. Thread-safe reads of the
 * newest version and of what was published.
 */
final class StudentPublisher implements PublishedVersions {

  private final RetrofitStudent student;
  private final AlphaSchedule alphas;
  private final WeightPublisher sink;
  private final long every;
  private final DistillListener listener;
  private final LongSupplier nanoClock;
  private final AtomicLong latest = new AtomicLong(-1);
  private final Set<Long> published = new ConcurrentSkipListSet<>();

  /**
   * @param listener hears every version published, with the time it took on {@code nanoClock}
   * @throws IllegalArgumentException when {@code sink} already published: a publisher is one run
   *     (one epoch), and a run's versions must not mix with another's
   */
  StudentPublisher(RetrofitStudent student, AlphaSchedule alphas, WeightPublisher sink, long every,
      DistillListener listener, LongSupplier nanoClock) {
    sink.latest().ifPresent(v -> {
      throw new IllegalArgumentException("this weight publisher already published version " + v.version()
          + " of epoch " + Long.toUnsignedString(sink.epoch()) + "; every run needs its own (a new epoch)");
    });
    this.student = student;
    this.alphas = alphas;
    this.sink = sink;
    this.every = every;
    this.listener = listener;
    this.nanoClock = nanoClock;
  }

  /** Publishes the student as version {@code step} unless a version that new exists. */
  void publish(long step) {
    if (latest.get() >= step) {
      return;
    }
    long t0 = nanoClock.getAsLong();
    student.setAlphas(alphas.alphas(step));
    Map<String, float[]> tensors = new LinkedHashMap<>();
    student.state().forEach((n, a) -> tensors.put(n, a.toFloatArray()));
    sink.publish(new PolicyUpdate(step, student.spec(), tensors));
    published.add(step);
    latest.set(step);
    listener.onPublished(step, (nanoClock.getAsLong() - t0) / 1e9);
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

  /** This run's identity on the wire. */
  @Override
  public long epoch() {
    return sink.epoch();
  }

  /** Whether this run published {@code version}. */
  @Override
  public boolean hasPublished(long version) {
    return published.contains(version);
  }
}
