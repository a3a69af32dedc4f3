package dev.graft.trainer.plan;

import dev.graft.model.LlamaConfig;
import dev.graft.model.VocabBudget;
import dev.graft.retrofit.AlphaOrder;
import dev.graft.retrofit.AlphaSchedule;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.QuantRetrofit;
import dev.graft.retrofit.Retrofit;
import dev.graft.retrofit.WindowRetrofit;
import dev.graft.service.HostPort;
import dev.graft.teacher.ScoreRequest;
import dev.graft.trainer.loss.Divergence;
import dev.graft.trainer.optim.AdamW;
import dev.graft.trainer.optim.LrSchedule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * A distillation run as types: what {@link RunConfig} says, parsed and checked once. Everything
 * downstream takes the plan (or its {@link Bound} form, checked against the teacher), never the
 * config's strings. {@link #of} lists every problem of the values at once; {@link #bind} every
 * problem against the teacher's architecture.
 *
 * <p>Longer than most classes on purpose: every rule about a run's values lives here and nowhere
 * else (one section record per YAML section, each with its own checks), so that a reader finds
 * all of them in one file and no rule is written twice.
 *
 * @param teacher where the teacher is
 * @param retrofit the architecture change and how α moves
 * @param loss the objective and the form of the teacher's targets
 * @param data the corpus, its split and packing
 * @param train optimisation
 * @param align the staged alignment before end-to-end distillation
 * @param onpolicy on-policy rows, samplers and weight publishing
 * @param seqkd rows of the teacher's continuations (sequence-level distillation) and their samplers
 * @param eval held-out evaluation and the exactness check
 * @param checkpoint checkpoint cadence and retention
 * @param serverPort the trainer's gRPC port: -1 off, 0 any free port
 * @param metricsPort the trainer's Prometheus {@code /metrics} HTTP port: -1 off, 0 any free port
 * @param output the run directory, or null for the default under the Graft home
 * @param source the config this plan was made from (written beside the run as {@code config.yaml})
 */
public record RunPlan(Teacher teacher, Retrofit retrofit, Loss loss, Data data, Train train, Align align,
    OnPolicy onpolicy, SeqKd seqkd, Eval eval, Checkpoint checkpoint, int serverPort, int metricsPort,
    Path output, RunConfig source) {

  /**
   * @param model the teacher's checkpoint, or null for the embedded base model
   * @param endpoints running teacher-services; empty to serve the teacher on loopback
   * @param deadline per scoring call
   * @param patience how long the run waits when no teacher answers
   * @param store a target store the corpus rows' training targets are read from, or null to ask the
   *     teacher for them
   */
  public record Teacher(Path model, List<HostPort> endpoints, Duration deadline, Duration patience, Path store) {
    public Teacher {
      endpoints = List.copyOf(endpoints);
    }
  }

  /**
   * @param change the architecture change
   * @param order the order in which units move from α = 0 to 1
   * @param gradual false: α jumps to 1 at the first step
   */
  public record Retrofit(dev.graft.retrofit.Retrofit change, AlphaOrder order, long alphaStart,
      long alphaRampSteps, boolean gradual) {}

  /** The form of the teacher's targets during training. */
  public enum TargetMode {
    /** The top-k log-probs plus a tail bucket. */
    TOP_K,
    /** The whole distribution (exact). */
    FULL
  }

  /** The objective: a divergence at a temperature, against targets of one form and precision. */
  public record Loss(Divergence divergence, float temperature, TargetMode targets, int k, WireDtype valueDtype) {
    /** The teacher request for training targets. */
    public ScoreRequest trainingRequest() {
      return targets == TargetMode.FULL ? new ScoreRequest.Full(temperature)
          : new ScoreRequest.TopK(k, temperature);
    }
  }

  /** @param corpus a JSONL / text file / directory of text files, or null for the Brown Corpus */
  public record Data(Path corpus, int seqLen, double validationFraction, long splitSeed) {}

  /** Optimisation; {@code seed} fixes the data order. */
  public record Train(long steps, int batchSize, int microBatch, LrSchedule schedule, double weightDecay,
      double clipNorm, long seed) {}

  /** Where the alignment stages' rows come from. */
  public enum AlignData {
    /** The run's packed training sequences, in an order fixed by {@code train.seed}. */
    CORPUS
  }

  /**
   * Staged alignment (MOHAWK stages 1 and 2) before end-to-end distillation: each converted layer
   * trained alone from the teacher's hidden states, with a constant learning rate.
   *
   * @param mixerTokens stage 1's budget in trained positions; 0 skips it
   * @param blockTokens stage 2's budget in trained positions; 0 skips it
   * @param batchSize rows of {@code data.seq_len} per step
   */
  public record Align(long mixerTokens, long blockTokens, double lr, int batchSize, AlignData data) {
    /** Whether any stage runs; then stage 3 trains with every α at 1 from its first step. */
    public boolean enabled() {
      return mixerTokens > 0 || blockTokens > 0;
    }

    /** Steps a stage with {@code tokens} takes: whole batches of {@code batchSize} rows, rounded up. */
    public long steps(long tokens, int seqLen) {
      long perStep = (long) batchSize * seqLen;
      return (tokens + perStep - 1) / perStep;
    }
  }

  /**
   * On-policy data: the last {@code rows} rows of each batch are document prefixes of
   * {@code promptTokens} completed by the current student.
   *
   * @param fraction the configured share of each batch
   * @param rows on-policy rows per batch (the fraction of the batch, rounded); 0 when off-policy
   * @param samplers running sampler-services; empty to start one on loopback
   * @param stopTokenIds where generation stops besides the tokenizer's EOS
   * @param maxPolicyLag a rollout trains step s only if s − (its version) &le; this
   * @param patience how long the run waits when no sampler delivers usable rollouts
   * @param fallbackToCorpus train on corpus rows instead of waiting while samplers are unavailable
   */
  public record OnPolicy(double fraction, int rows, List<HostPort> samplers, int promptTokens,
      int maxNewTokens, int[] stopTokenIds, float temperature, float topP, long publishEvery,
      long maxPolicyLag, Duration patience, boolean fallbackToCorpus) {
    public OnPolicy {
      samplers = List.copyOf(samplers);
      stopTokenIds = stopTokenIds.clone();
    }

    @Override
    public int[] stopTokenIds() {
      return stopTokenIds.clone();
    }

    /** Whether any row of a batch is on-policy. */
    public boolean enabled() {
      return rows > 0;
    }
  }

  /**
   * Sequence-level distillation rows: the last {@code rows} rows before the on-policy rows are
   * document beginnings of {@code promptTokens} continued by the teacher on teacher-serving
   * samplers; their loss is ceWeight·CE(teacher's tokens) + klWeight·(the run's divergence).
   *
   * @param fraction the configured share of each batch
   * @param rows teacher-continuation rows per batch; 0 when off
   * @param samplers running teacher-serving sampler-services; empty to start one on loopback
   * @param prefetchSteps steps whose rows are generated ahead of training
   * @param patience how long the run waits when no teacher-serving sampler answers
   */
  public record SeqKd(double fraction, int rows, List<HostPort> samplers, int promptTokens, int maxNewTokens,
      float temperature, float topP, double ceWeight, double klWeight, int prefetchSteps, Duration patience) {
    public SeqKd {
      samplers = List.copyOf(samplers);
    }

    /** Whether any row of a batch is the teacher's continuation. */
    public boolean enabled() {
      return rows > 0;
    }
  }

  /**
   * Held-out evaluation and the α = 0 exactness check.
   *
   * @param continuations held-out document beginnings the student continues after training (and
   *     before, and the teacher itself), each judged by the teacher; 0 turns this off
   */
  public record Eval(long every, int sequences, int continuations, double exactnessTolerance) {}

  /** Checkpoint cadence and retention. */
  public record Checkpoint(long every, int keep) {}

  /**
   * The plan against the teacher it retrofits.
   *
   * @param teacher the teacher's architecture, read once from its checkpoint
   * @param target the finished student's architecture
   * @param alphas α per unit as a function of the step
   */
  public record Bound(RunPlan plan, LlamaConfig teacher, LlamaConfig target, AlphaSchedule alphas) {}

  /**
   * Parses and checks every value of {@code c} that does not depend on the teacher.
   *
   * @throws IllegalArgumentException listing every problem
   */
  public static RunPlan of(RunConfig c) {
    Problems p = new Problems();
    RunConfig.Train t = c.train();
    p.positive("train.steps", t.steps());
    p.positive("train.batch_size", t.batchSize());
    p.positive("train.micro_batch", t.microBatch());
    p.require(t.batchSize() <= 0 || t.microBatch() <= 0 || t.batchSize() % t.microBatch() == 0,
        () -> "train.batch_size (" + t.batchSize() + ") must be a multiple of train.micro_batch ("
            + t.microBatch() + ")");
    p.require(t.clipNorm() >= 0, () -> "train.clip_norm (" + t.clipNorm() + ") must be >= 0 (0 disables clipping)");
    LrSchedule schedule = p.attempt(() -> LrSchedule.parse(t.schedule(), t.lr(), t.warmupSteps(),
        Math.max(1, t.steps()), t.minLrRatio()));
    p.attempt(() -> AdamW.Hyper.defaults(t.weightDecay()));
    Loss loss = loss(c.loss(), p);
    Retrofit retrofit = retrofit(c.retrofit(), t.steps(), p);
    Align align = align(c.align(), p);
    OnPolicy onpolicy = onPolicy(c.onpolicy(), c.data().seqLen(), t.batchSize(), c.server().port(), p);
    SeqKd seqkd = seqKd(c.seqkd(), c.data().seqLen(), t.batchSize(), onpolicy.rows(), loss.divergence(), p);
    RunConfig.Data d = c.data();
    p.positive("data.seq_len", d.seqLen());
    p.require(d.validationFraction() > 0 && d.validationFraction() < 0.5,
        () -> "data.validation_fraction (" + d.validationFraction() + ") must be in (0, 0.5)");
    RunConfig.Eval e = c.eval();
    p.require(e.every() >= 0 && e.sequences() >= 1, () -> "eval.every (" + e.every()
        + ") must be >= 0 and eval.sequences (" + e.sequences() + ") >= 1");
    p.require(e.continuations() >= 0, () -> "eval.continuations (" + e.continuations() + ") must be >= 0");
    p.require(e.exactnessTolerance() > 0,
        () -> "eval.exactness_tolerance (" + e.exactnessTolerance() + ") must be > 0");
    RunConfig.Checkpoint k = c.checkpoint();
    p.require(k.every() >= 0 && k.keep() >= 1, () -> "checkpoint.every (" + k.every()
        + ") must be >= 0 and checkpoint.keep (" + k.keep() + ") >= 1");
    int port = c.server().port();
    p.require(port >= -1 && port <= 65535,
        () -> "server.port (" + port + ") must be -1 (off), 0 (any free port) or a port");
    int metricsPort = c.server().metricsPort();
    p.require(metricsPort >= -1 && metricsPort <= 65535,
        () -> "server.metrics_port (" + metricsPort + ") must be -1 (off), 0 (any free port) or a port");
    p.require(metricsPort == -1 || port != -1, () -> "server.metrics_port (" + metricsPort
        + ") is served by the trainer's server: server.port must not be -1 (or turn metrics off with -1)");
    RunConfig.Teacher te = c.teacher();
    p.require(te.deadlineSeconds() > 0,
        () -> "teacher.deadline_seconds (" + te.deadlineSeconds() + ") must be > 0");
    p.require(te.patienceSeconds() >= 0,
        () -> "teacher.patience_seconds (" + te.patienceSeconds() + ") must be >= 0");
    List<HostPort> teachers = te.endpoints().stream().map(s -> p.attempt(() -> HostPort.parse(s))).toList();
    p.require(te.store().isBlank() || loss.divergence() == null || loss.targets() == null
        || loss.targets() == TargetMode.TOP_K && loss.divergence().usesTeacher(),
        () -> "teacher.store holds top-k targets; it needs loss.targets top_k and a divergence that uses the"
            + " teacher, got " + c.loss().targets() + " and " + c.loss().divergence());
    p.attempt(() -> budget(c));
    p.throwIfAny();
    return new RunPlan(
        new Teacher(blankToNull(te.model()), teachers, seconds(te.deadlineSeconds()), seconds(te.patienceSeconds()),
            blankToNull(te.store())),
        retrofit, loss,
        new Data(d.corpus().isBlank() || d.corpus().equals("brown") ? null : Path.of(d.corpus()), d.seqLen(),
            d.validationFraction(), d.splitSeed()),
        new Train(t.steps(), t.batchSize(), t.microBatch(), schedule, t.weightDecay(), t.clipNorm(), t.seed()),
        align, onpolicy, seqkd, new Eval(e.every(), e.sequences(), e.continuations(), e.exactnessTolerance()),
        new Checkpoint(k.every(), k.keep()), port, metricsPort, blankToNull(c.output()), c);
  }

  private static Loss loss(RunConfig.Loss l, Problems p) {
    Divergence divergence = p.attempt(() -> Divergence.parse(l.divergence()));
    TargetMode targets = p.attempt(() -> targetMode(l.targets()));
    p.attempt(() -> new ScoreRequest.Full((float) l.temperature()));
    WireDtype dtype = p.attempt(() -> WireDtype.parse(l.valueDtype()));
    p.require(l.k() >= 1, () -> "loss.k (" + l.k() + ") must be >= 1");
    return new Loss(divergence, (float) l.temperature(), targets, l.k(), dtype);
  }

  private static TargetMode targetMode(String s) {
    return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "top_k" -> TargetMode.TOP_K;
      case "full" -> TargetMode.FULL;
      default -> throw new IllegalArgumentException(
          "loss.targets '" + s + "' must be top_k (top-k + tail bucket) or full (whole vocabulary)");
    };
  }

  private static Retrofit retrofit(RunConfig.Retrofit r, long steps, Problems p) {
    String type = r.type().trim().toLowerCase(java.util.Locale.ROOT);
    p.require(type.equals(GqaRetrofit.TYPE) || type.equals(QuantRetrofit.TYPE) || type.equals(WindowRetrofit.TYPE)
            || type.equals(HybridRetrofit.TYPE),
        () -> "retrofit.type '" + r.type() + "' is not known; available: " + GqaRetrofit.TYPE + ", "
            + QuantRetrofit.TYPE + ", " + WindowRetrofit.TYPE + ", " + HybridRetrofit.TYPE);
    dev.graft.retrofit.Retrofit change = null;
    if (type.equals(HybridRetrofit.TYPE)) {
      change = hybridRetrofit(r, p);
    } else if (type.equals(WindowRetrofit.TYPE)) {
      change = windowRetrofit(r, p);
    } else if (type.equals(QuantRetrofit.TYPE)) {
      change = quantRetrofit(r, p);
    } else {
      p.positive("retrofit.kv_heads", r.kvHeads());
      KvInit init = p.attempt(() -> KvInit.parse(r.init()));
      change = r.kvHeads() > 0 && init != null ? new GqaRetrofit(r.kvHeads(), init, r.seed()) : null;
    }
    AlphaOrder order = p.attempt(() -> AlphaOrder.parse(r.alphaOrder()));
    if (r.alphaStart() < 0 || r.alphaRampSteps() < 0) {
      p.add("retrofit.alpha_start (" + r.alphaStart() + ") and retrofit.alpha_ramp_steps ("
          + r.alphaRampSteps() + ") must be >= 0");
    } else if (r.graduality() && r.alphaStart() + r.alphaRampSteps() > steps) {
      p.add("the alpha schedule (retrofit.alpha_start " + r.alphaStart() + " + alpha_ramp_steps "
          + r.alphaRampSteps() + ") is longer than the run (train.steps " + steps
          + "): the student would never reach alpha = 1");
    }
    return new Retrofit(change, order, r.alphaStart(), r.alphaRampSteps(), r.graduality());
  }

  /** The {@code quant} retrofit's keys: bits, granularity, group_size (per_group only) and linears. */
  private static QuantRetrofit quantRetrofit(RunConfig.Retrofit r, Problems p) {
    QuantRetrofit.Granularity g = p.attempt(() -> {
      try {
        return QuantRetrofit.Granularity.parse(r.granularity());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("retrofit." + e.getMessage(), e);
      }
    });
    p.require(r.bits() == 8 || r.bits() == 4, () -> "retrofit.bits (" + r.bits() + ") must be 8 or 4");
    boolean grouped = g == QuantRetrofit.Granularity.PER_GROUP;
    p.require(!grouped || r.groupSize() >= 1,
        () -> "retrofit.group_size (" + r.groupSize() + ") must be >= 1 with granularity per_group");
    p.require(r.linears() != null && !r.linears().isEmpty(),
        () -> "retrofit.linears must name at least one of " + QuantRetrofit.PROJECTIONS);
    if (g == null || (r.bits() != 8 && r.bits() != 4) || (grouped && r.groupSize() < 1) || r.linears() == null
        || r.linears().isEmpty()) {
      return null;
    }
    List<String> linears = r.linears().stream().map(String::trim).toList();
    return p.attempt(() -> new QuantRetrofit(r.bits(), g, grouped ? r.groupSize() : 0, linears));
  }

  /** {@code type: window}: window, sinks and layers; checked against the teacher in {@link #bind}. */
  private static dev.graft.retrofit.Retrofit windowRetrofit(RunConfig.Retrofit r, Problems p) {
    p.require(r.window() >= 1, () -> "retrofit.window (" + r.window() + ") must be >= 1");
    p.require(r.sinks() >= 0, () -> "retrofit.sinks (" + r.sinks() + ") must be >= 0");
    List<Integer> layers = p.attempt(() -> WindowRetrofit.parseLayers(r.layers()));
    if (r.window() < 1 || r.sinks() < 0 || layers == null) {
      return null;
    }
    return p.attempt(() -> new WindowRetrofit(r.window(), r.sinks(), layers));
  }

  /**
   * {@code type: hybrid}: attention_layers, state_size, chunk_size and freeze; the layers and the
   * state size are checked against the teacher in {@link #bind}.
   */
  private static HybridRetrofit hybridRetrofit(RunConfig.Retrofit r, Problems p) {
    p.require(r.chunkSize() >= 1, () -> "retrofit.chunk_size (" + r.chunkSize() + ") must be >= 1");
    p.require(r.stateSize() >= 0, () -> "retrofit.state_size (" + r.stateSize()
        + ") must be >= 1, or 0 for the teacher's head_dim");
    p.require(r.freeze() != null, () -> "retrofit.freeze must be a list (empty for none) of "
        + HybridRetrofit.FREEZABLE);
    if (r.chunkSize() < 1 || r.stateSize() < 0 || r.freeze() == null) {
      return null;
    }
    return p.attempt(() -> {
      try {
        return new HybridRetrofit(r.attentionLayers(), r.stateSize(), r.chunkSize(), r.freeze());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("retrofit." + e.getMessage(), e);
      }
    });
  }

  /** The {@code align:} section: budgets, learning rate, rows per step and the data source. */
  private static Align align(RunConfig.Align a, Problems p) {
    p.require(a.mixerTokens() >= 0 && a.blockTokens() >= 0, () -> "align.mixer_tokens (" + a.mixerTokens()
        + ") and align.block_tokens (" + a.blockTokens() + ") must be >= 0 (0 skips the stage)");
    p.require(a.lr() > 0 && Double.isFinite(a.lr()), () -> "align.lr (" + a.lr() + ") must be finite and > 0");
    p.positive("align.batch_size", a.batchSize());
    AlignData data = p.attempt(() -> alignData(a.data()));
    return new Align(a.mixerTokens(), a.blockTokens(), a.lr(), a.batchSize(), data);
  }

  /** The one place the alignment stages' data source is chosen. */
  private static AlignData alignData(String s) {
    return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "corpus" -> AlignData.CORPUS;
      case "seqkd" -> throw new IllegalArgumentException("align.data 'seqkd' (teacher-generated text) is not"
          + " available yet; use corpus");
      default -> throw new IllegalArgumentException("align.data '" + s + "' must be corpus (the run's"
          + " training sequences)");
    };
  }

  private static OnPolicy onPolicy(RunConfig.OnPolicy op, int seqLen, int batchSize, int serverPort, Problems p) {
    p.require(op.fraction() >= 0 && op.fraction() <= 1,
        () -> "onpolicy.fraction (" + op.fraction() + ") must be in [0, 1]");
    if (op.promptTokens() < 1 || op.maxNewTokens() < 1) {
      p.add("onpolicy.prompt_tokens (" + op.promptTokens() + ") and onpolicy.max_new_tokens ("
          + op.maxNewTokens() + ") must be >= 1");
    } else if (op.fraction() > 0 && op.promptTokens() + op.maxNewTokens() - 1 > seqLen) {
      p.add("onpolicy.prompt_tokens + max_new_tokens - 1 (" + (op.promptTokens() + op.maxNewTokens() - 1)
          + ") must fit in data.seq_len (" + seqLen + ")");
    }
    p.require(op.temperature() >= 0 && !Double.isInfinite(op.temperature()) && op.topP() > 0 && op.topP() <= 1,
        () -> "onpolicy.temperature (" + op.temperature() + ") must be finite and >= 0 and onpolicy.top_p ("
            + op.topP() + ") in (0, 1]");
    if (op.publishEvery() < 1) {
      p.add("onpolicy.publish_every (" + op.publishEvery() + ") must be >= 1");
    } else if (op.fraction() > 0 && op.maxPolicyLag() < op.publishEvery() + 1) {
      p.add("onpolicy.max_policy_lag (" + op.maxPolicyLag() + ") must be >= onpolicy.publish_every + 1 ("
          + (op.publishEvery() + 1) + "): the rollouts for step s are generated while step s - 1 trains,"
          + " from the newest version published by step s - 2 at best, so their lag reaches publish_every + 1");
    }
    p.require(op.patienceSeconds() >= 0,
        () -> "onpolicy.patience_seconds (" + op.patienceSeconds() + ") must be >= 0");
    for (int id : op.stopTokenIds()) {
      p.require(id >= 0, () -> "onpolicy.stop_token_ids holds " + id + "; ids are >= 0");
    }
    int rows = (int) Math.round(op.fraction() * batchSize);
    p.require(op.fraction() <= 0 || rows > 0, () -> "onpolicy.fraction (" + op.fraction()
        + ") of train.batch_size (" + batchSize + ") rounds to no on-policy row");
    p.require(op.fraction() <= 0 || serverPort != -1, () -> "onpolicy.fraction > 0 needs the trainer's"
        + " server (server.port must not be -1): samplers fetch weights from it");
    List<HostPort> samplers = op.samplers().stream().map(s -> p.attempt(() -> HostPort.parse(s))).toList();
    return new OnPolicy(op.fraction(), op.fraction() > 0 ? Math.max(rows, 0) : 0, samplers, op.promptTokens(),
        op.maxNewTokens(), op.stopTokenIds().stream().mapToInt(Integer::intValue).toArray(),
        (float) op.temperature(), (float) op.topP(), op.publishEvery(), op.maxPolicyLag(),
        seconds(op.patienceSeconds()), op.fallbackToCorpus());
  }

  private static SeqKd seqKd(RunConfig.SeqKd sk, int seqLen, int batchSize, int onPolicyRows, Divergence divergence,
      Problems p) {
    boolean on = sk.fraction() > 0;
    p.require(sk.fraction() >= 0 && sk.fraction() <= 1,
        () -> "seqkd.fraction (" + sk.fraction() + ") must be in [0, 1]");
    if (sk.promptTokens() < 1 || sk.maxNewTokens() < 1) {
      p.add("seqkd.prompt_tokens (" + sk.promptTokens() + ") and seqkd.max_new_tokens (" + sk.maxNewTokens()
          + ") must be >= 1");
    } else if (on && sk.promptTokens() + sk.maxNewTokens() - 1 > seqLen) {
      p.add("seqkd.prompt_tokens + max_new_tokens - 1 (" + (sk.promptTokens() + sk.maxNewTokens() - 1)
          + ") must fit in data.seq_len (" + seqLen + ")");
    }
    p.require(sk.temperature() >= 0 && !Double.isInfinite(sk.temperature()) && sk.topP() > 0 && sk.topP() <= 1,
        () -> "seqkd.temperature (" + sk.temperature() + ") must be finite and >= 0 and seqkd.top_p ("
            + sk.topP() + ") in (0, 1]");
    p.require(sk.ceWeight() >= 0 && sk.klWeight() >= 0 && Double.isFinite(sk.ceWeight() + sk.klWeight()),
        () -> "seqkd.ce_weight (" + sk.ceWeight() + ") and seqkd.kl_weight (" + sk.klWeight()
            + ") must be finite and >= 0");
    p.require(!on || sk.ceWeight() + sk.klWeight() > 0, () -> "seqkd.ce_weight and seqkd.kl_weight are both 0:"
        + " the teacher's continuations would train nothing; set one > 0 or seqkd.fraction 0");
    p.require(sk.klWeight() <= 0 || divergence == null || divergence.usesTeacher(), () -> "seqkd.kl_weight ("
        + sk.klWeight() + ") needs loss.divergence to use the teacher, not " + divergence.spec());
    p.require(sk.prefetchSteps() >= 1, () -> "seqkd.prefetch_steps (" + sk.prefetchSteps() + ") must be >= 1");
    p.require(sk.patienceSeconds() >= 0, () -> "seqkd.patience_seconds (" + sk.patienceSeconds() + ") must be >= 0");
    int rows = (int) Math.round(sk.fraction() * batchSize);
    p.require(!on || rows > 0, () -> "seqkd.fraction (" + sk.fraction() + ") of train.batch_size (" + batchSize
        + ") rounds to no row");
    p.require(!on || rows + onPolicyRows <= batchSize, () -> "seqkd.fraction (" + sk.fraction()
        + ") and onpolicy.fraction give " + rows + " + " + onPolicyRows + " rows, more than train.batch_size ("
        + batchSize + ")");
    List<HostPort> samplers = sk.samplers().stream().map(s -> p.attempt(() -> HostPort.parse(s)))
        .filter(java.util.Objects::nonNull).toList(); // a bad one is among the problems already
    return new SeqKd(sk.fraction(), on ? Math.max(rows, 0) : 0, samplers, sk.promptTokens(), sk.maxNewTokens(),
        (float) sk.temperature(), (float) sk.topP(), sk.ceWeight(), sk.klWeight(), sk.prefetchSteps(),
        seconds(sk.patienceSeconds()));
  }

  /**
   * Checks the plan against the teacher's architecture — the retrofit applies, sequences fit,
   * k fits the vocabulary, the α order names every unit — and fixes the α schedule.
   *
   * @throws IllegalArgumentException listing every problem
   */
  public Bound bind(LlamaConfig teacherConfig) {
    Problems p = new Problems();
    LlamaConfig target = p.attempt(() -> retrofit.change().targetConfig(teacherConfig));
    if (retrofit.change() instanceof WindowRetrofit w) {
      p.require(w.window() < data.seqLen(), () -> "retrofit.window (" + w.window() + ") must be smaller than"
          + " data.seq_len (" + data.seqLen() + "): a window covering every training sequence changes nothing");
    }
    p.require(data.seqLen() <= teacherConfig.maxPositionEmbeddings(), () -> "data.seq_len (" + data.seqLen()
        + ") exceeds the teacher's max_position_embeddings (" + teacherConfig.maxPositionEmbeddings() + ")");
    p.require(loss.k() <= teacherConfig.vocabSize() || loss.targets() != TargetMode.TOP_K,
        () -> "loss.k (" + loss.k() + ") exceeds the teacher's vocabulary (" + teacherConfig.vocabSize() + ")");
    for (int id : onpolicy.stopTokenIds()) {
      p.require(id < teacherConfig.vocabSize(), () -> "onpolicy.stop_token_ids holds " + id
          + ", outside the teacher's vocabulary (" + teacherConfig.vocabSize() + ")");
    }
    // After an alignment stage the layers match the teacher at α = 1: stage 3 starts there.
    AlphaSchedule alphas = target == null ? null : p.attempt(() -> new AlphaSchedule(
        retrofit.order().resolve(retrofit.change().units(teacherConfig)), retrofit.alphaStart(),
        retrofit.alphaRampSteps(), retrofit.gradual() && !align.enabled()));
    p.throwIfAny();
    return new Bound(this, teacherConfig, target, alphas);
  }

  /**
   * A digest of the sections that define the optimisation (retrofit, loss, data, train and, when
   * on, the on-policy and seqkd settings and the alignment stages): a run resumes only from checkpoints with the
   * same digest.
   */
  public String fingerprint() {
    RunConfig.OnPolicy op = source.onpolicy();
    String onPolicy = op.fraction() == 0 ? "off-policy" : String.join(",", String.valueOf(op.fraction()),
        String.valueOf(op.promptTokens()), String.valueOf(op.maxNewTokens()), String.valueOf(op.temperature()),
        String.valueOf(op.topP()), String.valueOf(op.publishEvery()), String.valueOf(op.maxPolicyLag()),
        op.stopTokenIds().toString(), String.valueOf(op.fallbackToCorpus()));
    String text = String.join("\n", source.retrofit().fingerprintText(), source.loss().toString(),
        source.data().toString(), source.train().toString(), onPolicy);
    if (align.enabled()) { // only then, so runs without stages keep their fingerprint
      text += "\n" + source.align().fingerprintText();
    }
    RunConfig.SeqKd sk = source.seqkd();
    if (sk.fraction() > 0) { // only when on, so that every earlier run keeps its fingerprint
      text += "\nseqkd " + String.join(",", String.valueOf(sk.fraction()), String.valueOf(sk.promptTokens()),
          String.valueOf(sk.maxNewTokens()), String.valueOf(sk.temperature()), String.valueOf(sk.topP()),
          String.valueOf(sk.ceWeight()), String.valueOf(sk.klWeight()));
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What (positions × vocabulary) buffers of the student's head, loss and gradients and of the
   * evaluations may take at once ({@code memory.vocab_budget_mb}).
   */
  public VocabBudget vocabBudget() {
    return budget(source);
  }

  private static VocabBudget budget(RunConfig c) {
    return VocabBudget.ofMegabytes(c.memory().vocabBudgetMb(), "memory.vocab_budget_mb");
  }

  /** A copy of this plan with one config override applied and checked again. */
  public RunPlan with(String override) {
    return of(source.with(override));
  }

  private static Duration seconds(double s) {
    return Duration.ofMillis((long) (s * 1000));
  }

  private static Path blankToNull(String s) {
    return s == null || s.isBlank() ? null : Path.of(s);
  }
}
