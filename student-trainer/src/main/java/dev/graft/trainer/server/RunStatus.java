package dev.graft.trainer.server;

import dev.graft.trainer.distill.DistillEvaluator;
import dev.graft.trainer.distill.DistillListener;
import dev.graft.trainer.distill.EvalMetrics;
import dev.graft.trainer.distill.Evaluation;
import dev.graft.trainer.distill.StepStats;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where a run stands, updated by the training thread (as a {@link DistillListener}) and read by
 * the status service from any thread. Each read sees one consistent snapshot.
 */
public final class RunStatus implements DistillListener {

  /** The run's phase. */
  public enum Phase { PREPARING, TRAINING, DONE, FAILED }

  /**
   * The latest held-out evaluation.
   *
   * @param meanAlpha mean α when scored; below 1 the scored model is a blended (mid-ramp) student
   */
  public record Eval(long step, EvalMetrics metrics, double gapRecovered, double meanAlpha) {

    /** Whether the scored model is a blended (mid-ramp) student, not the one that ships. */
    public boolean blended() {
      return Evaluation.blended(meanAlpha);
    }
  }

  /**
   * What the run waits for: {@code peers} ("samplers", "teachers") for {@code seconds}, because of
   * {@code reason}.
   */
  public record Waiting(String peers, double seconds, String reason) {}

  /** One consistent view of the run; {@code waiting} is null unless the run waits for replicas. */
  public record Snapshot(String runId, Phase phase, long step, long totalSteps, double loss, double lr,
      double meanAlpha, double tokensPerSecond, double teacherWaitSeconds, Eval lastEval, String error,
      Waiting waiting) {

    /** This snapshot waiting for {@code w} (null: not waiting). */
    Snapshot withWaiting(Waiting w) {
      return new Snapshot(runId, phase, step, totalSteps, loss, lr, meanAlpha, tokensPerSecond,
          teacherWaitSeconds, lastEval, error, w);
    }
  }

  private final AtomicReference<Snapshot> current;
  private volatile EvalMetrics baseline;

  public RunStatus(String runId) {
    current = new AtomicReference<>(new Snapshot(runId, Phase.PREPARING, 0, 0, Double.NaN, Double.NaN,
        0, 0, 0, null, "", null));
  }

  public Snapshot snapshot() {
    return current.get();
  }

  @Override
  public void onBaseline(DistillEvaluator.Result before) {
    baseline = before.overall();
  }

  @Override
  public void onStart(long fromStep, long totalSteps) {
    current.updateAndGet(s -> new Snapshot(s.runId(), Phase.TRAINING, fromStep, totalSteps, s.loss(),
        s.lr(), s.meanAlpha(), 0, 0, s.lastEval(), "", s.waiting()));
  }

  @Override
  public void onStep(StepStats st) {
    current.updateAndGet(s -> new Snapshot(s.runId(), s.phase(), st.step(), s.totalSteps(), st.loss(),
        st.lr(), st.meanAlpha(), st.tokensPerSecond(), st.teacherWaitSeconds(), s.lastEval(), "", s.waiting()));
  }

  @Override
  public void onEval(Evaluation ev) {
    EvalMetrics b = baseline;
    EvalMetrics m = ev.result().overall();
    Eval e = new Eval(ev.step(), m, b == null ? Double.NaN : m.gapRecovered(b), ev.meanAlpha());
    current.updateAndGet(s -> new Snapshot(s.runId(), s.phase(), s.step(), s.totalSteps(), s.loss(),
        s.lr(), s.meanAlpha(), s.tokensPerSecond(), s.teacherWaitSeconds(), e, s.error(), s.waiting()));
  }

  @Override
  public void onWaiting(String peers, double seconds, String why) {
    current.updateAndGet(s -> s.withWaiting(new Waiting(peers, seconds, why == null ? "" : why)));
  }

  @Override
  public void onResumed(String peers, double seconds) {
    current.updateAndGet(s -> s.withWaiting(null));
  }

  /** The run finished and its student was exported. */
  public void done() {
    current.updateAndGet(s -> new Snapshot(s.runId(), Phase.DONE, s.step(), s.totalSteps(), s.loss(),
        s.lr(), s.meanAlpha(), s.tokensPerSecond(), s.teacherWaitSeconds(), s.lastEval(), "", null));
  }

  /** The run stopped with an error. */
  public void failed(String error) {
    current.updateAndGet(s -> new Snapshot(s.runId(), Phase.FAILED, s.step(), s.totalSteps(), s.loss(),
        s.lr(), s.meanAlpha(), s.tokensPerSecond(), s.teacherWaitSeconds(), s.lastEval(),
        error == null ? "unknown error" : error, null));
  }
}
