package dev.graft.trainer.distill;

import dev.graft.data.TokenBatch;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplingParams;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.plan.RunPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The teacher's own continuations of corpus prompts, as (rows, T) token rows: the data of
 * sequence-level distillation ({@code seqkd}). Row r of step s is {@code [bos]} + the beginning of a
 * training document ({@link DocumentPrompts}, {@code seqkd.prompt_tokens}) + what a teacher-serving
 * sampler generates from it ({@code max_new_tokens}, {@code temperature}, {@code top_p}, until the
 * tokenizer's EOS), with the loss mask on exactly the positions that predict continuation tokens.
 * Every request is pinned to the teacher's model fingerprint, so a sampler serving anything else
 * (a student, another checkpoint) is refused.
 *
 * <p>The teacher is fixed, so there is no policy lag and rows are generated ahead: asking for step
 * s starts the generation of steps s … s + {@code prefetch_steps} − 1 (none past the run's last
 * step) on a thread of its own (at most that many are held). Prompts and sampling seeds are functions of the run's seed, the step and
 * the row, so a resumed run generates the same rows again (bit for bit with greedy decoding; with
 * sampling, as far as the sampler's arithmetic is deterministic). Usable outside the end-to-end loss
 * ({@link #rows(long)}), e.g. to feed alignment stages with teacher-generated sequences. One
 * caller at a time, asking for increasing steps (as a training loop does).
 */
public final class TeacherContinuations implements AutoCloseable {

  private final RunPlan.SeqKd cfg;
  private final int rows;
  private final long salt;
  private final RolloutSource samplers;
  private final String teacherFingerprint;
  private final DocumentPrompts prompts;
  private final int seqLen;
  private final int padId;
  private final int[] stopIds;
  private final Patience patience;
  private final long seed;
  private final LongSupplier nanoClock;
  private final long lastStep;
  private final Map<Long, Future<Generated>> ahead = new ConcurrentHashMap<>();
  private final ExecutorService generator = Executors.newSingleThreadExecutor(r -> {
    Thread th = new Thread(r, "seqkd-generate");
    th.setDaemon(true);
    return th;
  });
  private final AtomicLong rowsServed = new AtomicLong();
  private final AtomicLong tokensServed = new AtomicLong();
  private final AtomicLong waitNanos = new AtomicLong();

  /**
   * @param samplers teacher-serving sampler-services
   * @param teacherFingerprint the teacher-service's model fingerprint: every request requires it
   * @param prompts document beginnings of {@code seqkd.prompt_tokens}
   * @param stopIds where generation stops (the tokenizer's EOS and the config's)
   * @param patience how long to wait while no sampler answers
   * @param seed the run's seed ({@code train.seed}): with the step and row, it seeds the sampling
   * @param lastStep no rows are generated ahead for steps after it (the run's last step)
   */
  TeacherContinuations(RunPlan.SeqKd cfg, RolloutSource samplers, String teacherFingerprint,
      DocumentPrompts prompts, int seqLen, int padId, int[] stopIds, Patience patience, long seed,
      long lastStep, LongSupplier nanoClock) {
    this(cfg, requireEnabled(cfg).rows(), 0, samplers, teacherFingerprint, prompts, seqLen, padId, stopIds, patience,
        seed, lastStep, nanoClock);
  }

  /**
   * Rows for another consumer than stage 3 (an alignment stage, {@code align.data: seqkd}): the
   * generation keys of {@code cfg}, whatever its fraction, with {@code rows} rows per step.
   *
   * @param salt mixed into the sampling seeds (and meant for {@code prompts}' too): another
   *     consumer's rows differ from stage 3's; 0 gives stage 3's
   */
  TeacherContinuations(RunPlan.SeqKd cfg, int rows, long salt, RolloutSource samplers, String teacherFingerprint,
      DocumentPrompts prompts, int seqLen, int padId, int[] stopIds, Patience patience, long seed,
      long lastStep, LongSupplier nanoClock) {
    if (rows < 1) {
      throw new IllegalArgumentException("teacher continuations need at least one row per step, not " + rows);
    }
    this.cfg = cfg;
    this.rows = rows;
    this.salt = salt;
    this.samplers = samplers;
    this.teacherFingerprint = teacherFingerprint;
    this.prompts = prompts;
    this.seqLen = seqLen;
    this.padId = padId;
    this.stopIds = stopIds.clone();
    this.patience = patience;
    this.seed = seed;
    this.lastStep = lastStep;
    this.nanoClock = nanoClock;
  }

  /**
   * The {@code seqkd.rows} teacher rows of {@code step}: (rows, T) inputs, next-token targets (the
   * teacher's tokens on continuation positions) and the continuation mask. Blocks until generated.
   *
   * @throws dev.graft.sampler.SamplerUnavailableException when no sampler answered within the patience
   * @throws dev.graft.sampler.ModelMismatchException when a sampler serves another model than the teacher
   */
  public Batch rows(long step) {
    Generated g = await(step);
    Batch b = g.batch();
    rowsServed.addAndGet(b.batchSize());
    tokensServed.addAndGet(b.tokens());
    return b;
  }

  /**
   * The rows of {@code step} as an alignment stage reads them: (rows, T) inputs ({@code [bos]} +
   * prompt + continuation, padded after it) and the mask of real positions (1 on every prompt and
   * continuation token, 0 on the padding). Blocks until generated.
   *
   * @throws dev.graft.sampler.SamplerUnavailableException when no sampler answered within the patience
   * @throws dev.graft.sampler.ModelMismatchException when a sampler serves another model than the teacher
   */
  public Sequences sequences(long step) {
    Generated g = await(step);
    int[] ids = new int[rows * seqLen];
    float[] mask = new float[rows * seqLen];
    Arrays.fill(ids, padId);
    long generated = 0;
    for (int j = 0; j < rows; j++) {
      int[] p = g.prompts().get(j);
      int[] c = g.continuations().get(j);
      int n = Math.min(seqLen, p.length + c.length);
      for (int i = 0; i < n; i++) {
        ids[j * seqLen + i] = i < p.length ? p[i] : c[i - p.length];
        mask[j * seqLen + i] = 1f;
      }
      generated += Math.max(0, n - p.length);
    }
    rowsServed.addAndGet(rows);
    tokensServed.addAndGet(generated);
    return new Sequences(new TokenBatch(rows, seqLen, ids), mask, generated);
  }

  /**
   * Alignment rows: token ids, the real-position mask (row-major (rows, T)) and how many of the
   * real positions are the teacher's continuation tokens.
   */
  public record Sequences(TokenBatch tokens, float[] mask, long continuationTokens) {
    /** Real (unpadded) positions. */
    public long positions() {
      long n = 0;
      for (float m : mask) {
        n += (long) m;
      }
      return n;
    }
  }

  /** What a sampler returned for one step: each row's prompt and the teacher's continuation. */
  private record Generated(List<int[]> prompts, List<int[]> continuations, Batch batch) {}

  private static RunPlan.SeqKd requireEnabled(RunPlan.SeqKd cfg) {
    if (!cfg.enabled()) {
      throw new IllegalArgumentException("seqkd is off (seqkd.fraction 0): there are no teacher rows to make");
    }
    return cfg;
  }

  private Generated await(long step) {
    for (long s = step; s < step + cfg.prefetchSteps() && (s == step || s <= lastStep); s++) {
      long at = s;
      ahead.computeIfAbsent(at, k -> generator.submit(() -> generate(at)));
    }
    ahead.entrySet().removeIf(e -> { // a step skipped (resumed or stopped elsewhere): not needed any more
      boolean skipped = e.getKey() < step;
      if (skipped) {
        e.getValue().cancel(true);
      }
      return skipped;
    });
    Future<Generated> f = ahead.remove(step);
    long w0 = nanoClock.getAsLong();
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the teacher's continuations", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("generating the teacher's continuations for step " + step + " failed",
          e.getCause());
    } finally {
      waitNanos.addAndGet(nanoClock.getAsLong() - w0);
    }
  }

  /** Replaces rows [{@code from}, {@code from + seqkd.rows}) of {@code b} with the teacher rows of {@code step}. */
  Batch complete(Batch b, int from, long step) {
    Batch teacher = rows(step);
    int t = b.seqLen();
    int[] in = b.inputs().ids().clone();
    int[] tg = b.targets().ids().clone();
    float[] mask = b.mask().clone();
    System.arraycopy(teacher.inputs().ids(), 0, in, from * t, teacher.batchSize() * t);
    System.arraycopy(teacher.targets().ids(), 0, tg, from * t, teacher.batchSize() * t);
    System.arraycopy(teacher.mask(), 0, mask, from * t, teacher.batchSize() * t);
    return new Batch(new TokenBatch(b.batchSize(), t, in), new TokenBatch(b.batchSize(), t, tg), mask);
  }

  private Generated generate(long step) {
    List<int[]> ps = new ArrayList<>(rows);
    for (int j = 0; j < rows; j++) {
      ps.add(prompts.forRow(step, j));
    }
    SamplingParams params = new SamplingParams(cfg.temperature(), cfg.topP(), 0, cfg.maxNewTokens(), stopIds,
        (seed ^ 0x5EC0_4D00L ^ salt) * 0x9E3779B97F4A7C15L + step * 1_000_003L);
    List<Rollout> out = patience.call(() -> samplers.generate(ps, params, teacherFingerprint));
    int[] in = new int[rows * seqLen];
    int[] tg = new int[rows * seqLen];
    float[] mask = new float[rows * seqLen];
    List<int[]> cs = new ArrayList<>(rows);
    for (int j = 0; j < rows; j++) {
      cs.add(out.get(j).tokens());
      fillRow(in, tg, mask, j * seqLen, ps.get(j), cs.get(j));
    }
    return new Generated(ps, cs, new Batch(new TokenBatch(rows, seqLen, in), new TokenBatch(rows, seqLen, tg), mask));
  }

  /**
   * Row = prompt + continuation, truncated to T inputs; position i predicts token i + 1, so the
   * loss covers positions P − 1 … P + G − 2; positions after the continuation are padding.
   */
  private void fillRow(int[] in, int[] tg, float[] mask, int at, int[] prompt, int[] continuation) {
    int[] seq = new int[prompt.length + continuation.length];
    System.arraycopy(prompt, 0, seq, 0, prompt.length);
    System.arraycopy(continuation, 0, seq, prompt.length, continuation.length);
    Arrays.fill(in, at, at + seqLen, padId);
    Arrays.fill(tg, at, at + seqLen, padId);
    for (int i = 0; i < Math.min(seqLen, seq.length - 1); i++) {
      in[at + i] = seq[i];
      tg[at + i] = seq[i + 1];
      mask[at + i] = i >= prompt.length - 1 ? 1f : 0f;
    }
  }

  /** Teacher rows handed out so far. */
  public long rowsServed() {
    return rowsServed.get();
  }

  /** Continuation positions (trained targets) of the rows handed out so far. */
  public long tokensServed() {
    return tokensServed.get();
  }

  /** Seconds callers of {@link #rows} waited for generation that was not done yet. */
  public double waitSeconds() {
    return waitNanos.get() / 1e9;
  }

  /** The figures of a finished run, for its report. */
  SeqKdStats stats() {
    return new SeqKdStats(rowsServed(), tokensServed(), waitSeconds());
  }

  @Override
  public void close() {
    generator.shutdownNow();
  }
}
