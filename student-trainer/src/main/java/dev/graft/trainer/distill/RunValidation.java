package dev.graft.trainer.distill;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.AlphaSchedule;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.Retrofit;
import dev.graft.teacher.ScoreRequest;
import dev.graft.trainer.loss.Divergence;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.LrSchedule;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Checks a {@link RunConfig}'s values, first on their own and then against the teacher's
 * architecture, so that an impossible run fails before any work starts. Every problem is
 * collected, and all of them are reported in one message.
 */
public final class RunValidation {

  /** The form of the teacher's targets during training. */
  public enum TargetMode {
    TOP_K, FULL;

    static TargetMode parse(String s) {
      return switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "top_k" -> TOP_K;
        case "full" -> FULL;
        default -> throw new IllegalArgumentException(
            "loss.targets '" + s + "' must be top_k (top-k + tail bucket) or full (whole vocabulary)");
      };
    }
  }

  private RunValidation() {}

  /**
   * Checks everything that does not depend on the teacher.
   *
   * @throws IllegalArgumentException listing every problem
   */
  public static void check(RunConfig c) {
    List<String> problems = new ArrayList<>();
    RunConfig.Train t = c.train();
    positive(problems, "train.steps", t.steps());
    positive(problems, "train.batch_size", t.batchSize());
    positive(problems, "train.micro_batch", t.microBatch());
    if (t.batchSize() > 0 && t.microBatch() > 0 && t.batchSize() % t.microBatch() != 0) {
      problems.add("train.batch_size (" + t.batchSize() + ") must be a multiple of train.micro_batch ("
          + t.microBatch() + ")");
    }
    if (!(t.clipNorm() >= 0)) {
      problems.add("train.clip_norm (" + t.clipNorm() + ") must be >= 0 (0 disables clipping)");
    }
    attempt(problems, () -> LrSchedule.parse(t.schedule(), t.lr(), t.warmupSteps(), Math.max(1, t.steps()),
        t.minLrRatio()));
    attempt(problems, () -> new AdamW.Hyper(0.9, 0.95, 1e-8, t.weightDecay()));
    RunConfig.Loss l = c.loss();
    attempt(problems, () -> Divergence.parse(l.divergence()));
    attempt(problems, () -> TargetMode.parse(l.targets()));
    attempt(problems, () -> new ScoreRequest.Full((float) l.temperature()));
    attempt(problems, () -> WireDtype.parse(l.valueDtype()));
    if (l.k() < 1) {
      problems.add("loss.k (" + l.k() + ") must be >= 1");
    }
    RunConfig.Retrofit r = c.retrofit();
    if (!r.type().trim().equalsIgnoreCase("gqa")) {
      problems.add("retrofit.type '" + r.type() + "' is not known; available: gqa");
    }
    positive(problems, "retrofit.kv_heads", r.kvHeads());
    attempt(problems, () -> KvInit.parse(r.init()));
    if (r.alphaStart() < 0 || r.alphaRampSteps() < 0) {
      problems.add("retrofit.alpha_start (" + r.alphaStart() + ") and retrofit.alpha_ramp_steps ("
          + r.alphaRampSteps() + ") must be >= 0");
    } else if (r.graduality() && r.alphaStart() + r.alphaRampSteps() > t.steps()) {
      problems.add("the alpha schedule (retrofit.alpha_start " + r.alphaStart() + " + alpha_ramp_steps "
          + r.alphaRampSteps() + ") is longer than the run (train.steps " + t.steps()
          + "): the student would never reach alpha = 1");
    }
    RunConfig.OnPolicy op = c.onpolicy();
    if (!(op.fraction() >= 0 && op.fraction() <= 1)) {
      problems.add("onpolicy.fraction (" + op.fraction() + ") must be in [0, 1]");
    }
    if (op.promptTokens() < 1 || op.maxNewTokens() < 1) {
      problems.add("onpolicy.prompt_tokens (" + op.promptTokens() + ") and onpolicy.max_new_tokens ("
          + op.maxNewTokens() + ") must be >= 1");
    } else if (op.fraction() > 0 && op.promptTokens() + op.maxNewTokens() - 1 > c.data().seqLen()) {
      problems.add("onpolicy.prompt_tokens + max_new_tokens - 1 (" + (op.promptTokens() + op.maxNewTokens() - 1)
          + ") must fit in data.seq_len (" + c.data().seqLen() + ")");
    }
    if (!(op.temperature() >= 0) || Double.isInfinite(op.temperature()) || !(op.topP() > 0 && op.topP() <= 1)) {
      problems.add("onpolicy.temperature (" + op.temperature() + ") must be finite and >= 0 and onpolicy.top_p ("
          + op.topP() + ") in (0, 1]");
    }
    if (op.publishEvery() < 1 || op.maxPolicyLag() < 0) {
      problems.add("onpolicy.publish_every (" + op.publishEvery() + ") must be >= 1 and onpolicy.max_policy_lag ("
          + op.maxPolicyLag() + ") >= 0");
    }
    if (op.fraction() > 0 && Math.round(op.fraction() * t.batchSize()) == 0) {
      problems.add("onpolicy.fraction (" + op.fraction() + ") of train.batch_size (" + t.batchSize()
          + ") rounds to no on-policy row");
    }
    if (op.fraction() > 0 && c.server().port() == -1) {
      problems.add("onpolicy.fraction > 0 needs the trainer's server (server.port must not be -1):"
          + " samplers fetch weights from it");
    }
    for (String e : op.samplers()) {
      attempt(problems, () -> Endpoints.parse(e));
    }
    RunConfig.Data d = c.data();
    positive(problems, "data.seq_len", d.seqLen());
    if (!(d.validationFraction() > 0 && d.validationFraction() < 0.5)) {
      problems.add("data.validation_fraction (" + d.validationFraction() + ") must be in (0, 0.5)");
    }
    if (c.eval().every() < 0 || c.eval().sequences() < 1) {
      problems.add("eval.every (" + c.eval().every() + ") must be >= 0 and eval.sequences ("
          + c.eval().sequences() + ") >= 1");
    }
    if (!(c.eval().exactnessTolerance() > 0)) {
      problems.add("eval.exactness_tolerance (" + c.eval().exactnessTolerance() + ") must be > 0");
    }
    if (c.checkpoint().every() < 0 || c.checkpoint().keep() < 1) {
      problems.add("checkpoint.every (" + c.checkpoint().every() + ") must be >= 0 and checkpoint.keep ("
          + c.checkpoint().keep() + ") >= 1");
    }
    if (c.server().port() < -1 || c.server().port() > 65535) {
      problems.add("server.port (" + c.server().port() + ") must be -1 (off), 0 (any free port) or a port");
    }
    if (!(c.teacher().deadlineSeconds() > 0)) {
      problems.add("teacher.deadline_seconds (" + c.teacher().deadlineSeconds() + ") must be > 0");
    }
    for (String e : c.teacher().endpoints()) {
      attempt(problems, () -> Endpoints.parse(e));
    }
    report(problems);
  }

  /**
   * Checks the run against the teacher's architecture: the retrofit applies, sequences fit, k
   * fits the vocabulary, the α order names every layer.
   */
  public static void checkAgainst(RunConfig c, LlamaConfig teacher) {
    List<String> problems = new ArrayList<>();
    attempt(problems, () -> retrofit(c).targetConfig(teacher));
    if (c.data().seqLen() > teacher.maxPositionEmbeddings()) {
      problems.add("data.seq_len (" + c.data().seqLen() + ") exceeds the teacher's max_position_embeddings ("
          + teacher.maxPositionEmbeddings() + ")");
    }
    if (c.loss().k() > teacher.vocabSize() && TargetMode.parse(c.loss().targets()) == TargetMode.TOP_K) {
      problems.add("loss.k (" + c.loss().k() + ") exceeds the teacher's vocabulary (" + teacher.vocabSize() + ")");
    }
    attempt(problems, () -> alphaSchedule(c, teacher.numHiddenLayers()));
    report(problems);
  }

  /** The retrofit the config describes. */
  public static Retrofit retrofit(RunConfig c) {
    RunConfig.Retrofit r = c.retrofit();
    return new GqaRetrofit(r.kvHeads(), KvInit.parse(r.init()), r.seed());
  }

  /** The α schedule over {@code units} layers. */
  public static AlphaSchedule alphaSchedule(RunConfig c, int units) {
    RunConfig.Retrofit r = c.retrofit();
    AlphaSchedule s = AlphaSchedule.parse(r.alphaOrder(), units, r.alphaStart(), r.alphaRampSteps(),
        r.graduality());
    s.requireFits(c.train().steps());
    return s;
  }

  /** The teacher request for training targets. */
  public static ScoreRequest trainingRequest(RunConfig c) {
    float tau = (float) c.loss().temperature();
    return TargetMode.parse(c.loss().targets()) == TargetMode.FULL
        ? new ScoreRequest.Full(tau) : new ScoreRequest.TopK(c.loss().k(), tau);
  }

  private static void positive(List<String> problems, String key, long v) {
    if (v <= 0) {
      problems.add(key + " (" + v + ") must be > 0");
    }
  }

  private static void attempt(List<String> problems, Supplier<?> check) {
    try {
      check.get();
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  private static void report(List<String> problems) {
    if (problems.size() == 1) {
      throw new IllegalArgumentException("invalid run config: " + problems.get(0));
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid run config:\n  - " + String.join("\n  - ", problems));
    }
  }
}
