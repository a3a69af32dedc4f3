package dev.graft.trainer.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.data.Document;
import dev.graft.data.TextEncoder;
import dev.graft.data.TokenBatch;
import dev.graft.model.DecodeState;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.sampler.SamplingParams;
import dev.graft.sampler.TokenSampler;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.loss.HeadChunks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * What a student writes, judged by the teacher — the quality on-policy training aims at. The
 * student continues the beginnings of held-out documents (BOS + the first {@code promptTokens −
 * 1} tokens; temperature 1, seeded per prompt, stopping at EOS or after {@code newTokens}), and at
 * each generated position the teacher gives
 * <ul>
 *   <li>its negative log-likelihood of the token the student chose, and
 *   <li>the exact reverse KL, KL(student ‖ teacher) = Σ_v s(v) (log s(v) − log t(v)), over the
 *       whole vocabulary,
 * </ul>
 * summed overall and per domain. Every student sees the same prompts and seeds, so runs compare on
 * the same prefixes; the teacher's own continuations (the student at α = 0) are the reference.
 */
public final class ContinuationEvaluator {

  /** Sums over generated tokens; means by {@link #teacherNll()} and {@link #reverseKl()}. */
  public record Metrics(long tokens, double teacherNllSum, double reverseKlSum) {

    public static final Metrics ZERO = new Metrics(0, 0, 0);

    public Metrics plus(Metrics o) {
      return new Metrics(tokens + o.tokens, teacherNllSum + o.teacherNllSum, reverseKlSum + o.reverseKlSum);
    }

    /** The teacher's mean negative log-likelihood per generated token (nats). */
    public double teacherNll() {
      return tokens == 0 ? Double.NaN : teacherNllSum / tokens;
    }

    /** The mean reverse KL per generated token (nats). */
    public double reverseKl() {
      return tokens == 0 ? Double.NaN : reverseKlSum / tokens;
    }
  }

  /** Overall and per-domain metrics. */
  public record Result(Metrics overall, Map<String, Metrics> byDomain) {}

  private record Prompt(int[] ids, String domain) {}

  private static final long SEED = 0x5EED_C0DEL;
  /** Temperature 1, no filter: the student's own distribution (max_new_tokens is not used here). */
  private static final SamplingParams SAMPLING = new SamplingParams(1f, 1f, 0, 1, new int[0], 0);

  private final List<Prompt> prompts;
  private final int newTokens;
  private final int[] stops; // sorted: a continuation ends after any of these ids
  private final int batchSize;
  private final TeacherScorer teacher;
  private final VocabBudget budget;

  private ContinuationEvaluator(List<Prompt> prompts, int newTokens, int[] stops, int batchSize,
      TeacherScorer teacher, VocabBudget budget) {
    this.prompts = prompts;
    this.newTokens = newTokens;
    this.stops = IntStream.of(stops).distinct().sorted().toArray();
    this.batchSize = batchSize;
    this.teacher = teacher;
    this.budget = budget;
  }

  /** {@link #of(List, TextEncoder, int, int, int, int, int, int, TeacherScorer, VocabBudget)} within {@link VocabBudget#DEFAULT}. */
  public static ContinuationEvaluator of(List<Document> heldOut, TextEncoder encoder, int bosId, int eosId,
      int promptTokens, int newTokens, int count, int batchSize, TeacherScorer teacher) {
    return of(heldOut, encoder, bosId, eosId, promptTokens, newTokens, count, batchSize, teacher,
        VocabBudget.DEFAULT);
  }

  /**
   * Prompts from the first {@code count} held-out documents long enough for one, taken
   * round-robin over domains.
   *
   * @param budget what (positions × vocabulary) buffers may take at once: the teacher judges as
   *     many continuations per request as fit, and the student's head runs a chunk at a time
   * @throws IllegalArgumentException when no held-out document gives a prompt
   */
  public static ContinuationEvaluator of(List<Document> heldOut, TextEncoder encoder, int bosId, int eosId,
      int promptTokens, int newTokens, int count, int batchSize, TeacherScorer teacher, VocabBudget budget) {
    Map<String, List<Prompt>> byDomain = new TreeMap<>();
    for (Document d : heldOut) {
      int[] ids = encoder.encode(d.text());
      if (ids.length >= promptTokens - 1) {
        int[] p = new int[promptTokens];
        p[0] = bosId;
        System.arraycopy(ids, 0, p, 1, promptTokens - 1);
        byDomain.computeIfAbsent(d.domain(), k -> new ArrayList<>()).add(new Prompt(p, d.domain()));
      }
    }
    List<Prompt> chosen = new ArrayList<>();
    for (int round = 0; chosen.size() < count; round++) {
      boolean any = false;
      for (List<Prompt> ps : byDomain.values()) {
        if (round < ps.size() && chosen.size() < count) {
          chosen.add(ps.get(round));
          any = true;
        }
      }
      if (!any) {
        break;
      }
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("no held-out document has " + (promptTokens - 1)
          + " tokens for a continuation prompt (onpolicy.prompt_tokens " + promptTokens + ")");
    }
    return new ContinuationEvaluator(chosen, newTokens, new int[] {eosId}, batchSize, teacher, budget);
  }

  /**
   * This evaluator with continuations ending also after any of {@code ids}: the whole
   * {@code eos_token_id} list of a model's config.json, when the tokenizer names only one of them.
   */
  public ContinuationEvaluator stoppingAlsoAt(int... ids) {
    return new ContinuationEvaluator(prompts, newTokens, IntStream.concat(IntStream.of(stops), IntStream.of(ids))
        .toArray(), batchSize, teacher, budget);
  }

  /** Prompts continued. */
  public int prompts() {
    return prompts.size();
  }

  /** Lets {@code model} continue every prompt and has the teacher judge the continuations. */
  public Result evaluate(LlamaModel model) {
    Metrics overall = Metrics.ZERO;
    Map<String, Metrics> byDomain = new TreeMap<>();
    for (int from = 0; from < prompts.size(); from += batchSize) {
      int to = Math.min(prompts.size(), from + batchSize);
      int[][] continuations = generate(model, from, to);
      Metrics[] per = judgeAll(model, from, continuations);
      for (int i = 0; i < per.length; i++) {
        overall = overall.plus(per[i]);
        byDomain.merge(prompts.get(from + i).domain(), per[i], Metrics::plus);
      }
    }
    return new Result(overall, byDomain);
  }

  /** What {@code model} writes after each prompt, as {@link #evaluate} scores it. */
  List<int[]> continuations(LlamaModel model) {
    List<int[]> out = new ArrayList<>();
    for (int from = 0; from < prompts.size(); from += batchSize) {
      out.addAll(Arrays.asList(generate(model, from, Math.min(prompts.size(), from + batchSize))));
    }
    return out;
  }

  /** Samples each prompt's continuation (temperature 1), up to and including its EOS. */
  private int[][] generate(LlamaModel model, int from, int to) {
    int b = to - from;
    int p = prompts.get(from).ids().length;
    int vocab = model.config().vocabSize();
    int[] slots = new int[b];
    int[] prefill = new int[b * p];
    int[] promptLengths = new int[b];
    int[] ones = new int[b];
    SplittableRandom[] rngs = new SplittableRandom[b];
    for (int r = 0; r < b; r++) {
      slots[r] = r;
      System.arraycopy(prompts.get(from + r).ids(), 0, prefill, r * p, p);
      promptLengths[r] = p;
      ones[r] = 1;
      rngs[r] = new SplittableRandom(SEED + from + r);
    }
    int[][] out = new int[b][newTokens];
    int[] length = new int[b];
    boolean[] done = new boolean[b];
    try (NDManager m = model.manager().newSubManager();
        DecodeState state = model.newDecodeState(b, p + newTokens, m)) {
      float[] logits = model.decodeNext(state, slots, m.create(toLong(prefill), new Shape(b, p)), promptLengths)
          .toFloatArray();
      for (int t = 0; t < newTokens; t++) {
        int[] next = new int[b];
        for (int r = 0; r < b; r++) {
          next[r] = TokenSampler.choose(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab), SAMPLING,
              rngs[r]::nextDouble);
          if (!done[r]) {
            out[r][length[r]++] = next[r];
            done[r] = Arrays.binarySearch(stops, next[r]) >= 0;
          }
        }
        if (t + 1 < newTokens) {
          try (NDManager step = m.newSubManager()) {
            logits = model.decodeNext(state, slots, step.create(toLong(next), new Shape(b, 1)), ones).toFloatArray();
          }
        }
      }
    }
    int[][] trimmed = new int[b][];
    for (int r = 0; r < b; r++) {
      trimmed[r] = Arrays.copyOf(out[r], length[r]);
    }
    return trimmed;
  }

  /** {@link #judge} over groups of rows whose full teacher answer fits in the budget. */
  private Metrics[] judgeAll(LlamaModel model, int from, int[][] continuations) {
    int t = prompts.get(from).ids().length + newTokens - 1;
    int rows = Math.max(1, budget.positions(model.config().vocabSize(), 1) / t);
    Metrics[] out = new Metrics[continuations.length];
    for (int r0 = 0; r0 < continuations.length; r0 += rows) {
      int r1 = Math.min(continuations.length, r0 + rows);
      Metrics[] part = judge(model, from + r0, Arrays.copyOfRange(continuations, r0, r1));
      System.arraycopy(part, 0, out, r0, part.length);
    }
    return out;
  }

  /** Teacher NLL and reverse KL at the positions that predict the generated tokens. */
  private Metrics[] judge(LlamaModel model, int from, int[][] continuations) {
    int b = continuations.length;
    int p = prompts.get(from).ids().length;
    int t = p + newTokens - 1; // inputs: the prompt and every generated token but the last
    int[] in = new int[b * t];
    for (int r = 0; r < b; r++) {
      int[] seq = new int[t];
      System.arraycopy(prompts.get(from + r).ids(), 0, seq, 0, p);
      System.arraycopy(continuations[r], 0, seq, p, Math.min(continuations[r].length, t - p));
      System.arraycopy(seq, 0, in, r * t, t);
    }
    TokenBatch inputs = new TokenBatch(b, t, in);
    Scores.Full full = (Scores.Full) teacher.score(inputs, new ScoreRequest.Full(1f));
    int vocab = full.vocab();
    float[] teacherLogProbs = full.logProbs();
    float[] reverseKl = new float[b * t];
    try (NDManager m = model.manager().newSubManager()) {
      NDArray hidden = model.hiddenReleasing(inputs.toNDArray(m)); // (b, t, hidden)
      HeadChunks.forEach(hidden, HeadChunks.chunkPositions(budget, vocab), (h, p0, p1) -> {
        NDArray logs = model.logits(h).logSoftmax(2); // (1, c, V)
        NDArray logt = h.getManager().create(Arrays.copyOfRange(teacherLogProbs, p0 * vocab, p1 * vocab),
            new Shape(1, p1 - p0, vocab));
        float[] kl = logs.exp().mul(logs.sub(logt)).sum(new int[] {2}).toFloatArray(); // (1, c)
        System.arraycopy(kl, 0, reverseKl, p0, p1 - p0);
      });
    }
    Metrics[] out = new Metrics[b];
    for (int r = 0; r < b; r++) {
      int[] g = continuations[r];
      double nll = 0;
      double kl = 0;
      for (int j = 0; j < g.length; j++) {
        int pos = r * t + p - 1 + j; // predicts g[j]
        nll -= teacherLogProbs[pos * vocab + g[j]];
        kl += reverseKl[pos];
      }
      out[r] = new Metrics(g.length, nll, kl);
    }
    return out;
  }

  private static long[] toLong(int[] ids) {
    return Arrays.stream(ids).asLongStream().toArray();
  }
}
