package dev.graft.sampler.server;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Benchmark (not a test): generation throughput in new tokens per second, with the engine's KV
 * cache and continuous batching against {@link ReferenceGenerator} (the whole prefix recomputed
 * every step), at each batch size, for prompts of {@code promptLength} random tokens and
 * {@code newTokens} new tokens each (temperature 1, no stop tokens), on random weights.
 *
 * <p>{@code java ... SamplerBench [--preset small|tiny] [--vocab 4096] [--prompt 16]
 * [--new-tokens 256] [--batches 1,8]} prints the result as JSON. The preset's context is raised
 * to fit prompt plus new tokens when it is shorter.
 */
public final class SamplerBench {

  private SamplerBench() {}

  /**
   * @param model the architecture (random weights from {@code seed}); its context must hold
   *     {@code promptLength + newTokens}
   * @param batches the batch sizes to measure; the engine gets as many slots as the batch
   */
  public record Config(LlamaConfig model, long seed, int promptLength, int newTokens,
      List<Integer> batches) {
    public Config {
      if (promptLength < 1 || newTokens < 1 || batches.isEmpty()
          || batches.stream().anyMatch(b -> b < 1)) {
        throw new IllegalArgumentException("prompt length (" + promptLength + "), new tokens ("
            + newTokens + ") and batch sizes " + batches + " must be >= 1");
      }
      if (promptLength + newTokens > model.maxPositionEmbeddings()) {
        throw new IllegalArgumentException("prompt (" + promptLength + ") + new tokens ("
            + newTokens + ") exceed max_position_embeddings (" + model.maxPositionEmbeddings() + ")");
      }
      batches = List.copyOf(batches);
    }
  }

  /**
   * @param tokensPerSecond by {@code method/batchB}: {@code kv_cache/batch8}, {@code recompute/batch1}
   * @param speedup kv_cache over recompute, by {@code batchB}
   * @param breakdowns where a decode step's time goes, by {@code batchB}, at the mean cached length
   */
  public record Result(String model, long parameters, int promptLength, int newTokens,
      Map<String, Double> tokensPerSecond, Map<String, Double> speedup,
      Map<String, DecodeBreakdown.Result> breakdowns) {

    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", model);
      m.put("parameters", parameters);
      m.put("prompt_length", promptLength);
      m.put("new_tokens", newTokens);
      m.put("tokens_per_second", tokensPerSecond);
      m.put("kv_cache_speedup", speedup);
      Map<String, Object> b = new LinkedHashMap<>();
      breakdowns.forEach((k, v) -> b.put(k, v.toMap()));
      m.put("decode_step_breakdown", b);
      return m;
    }
  }

  /** Runs the benchmark: for each batch size, one warm-up and one timed run per method, and the breakdown. */
  public static Result run(Config c) {
    return run(c, true);
  }

  /** As {@link #run(Config)}; without {@code breakdown}, the result has no per-group breakdowns. */
  public static Result run(Config c, boolean breakdown) {
    int maxBatch = c.batches().stream().mapToInt(Integer::intValue).max().orElseThrow();
    Map<String, Double> speed = new LinkedHashMap<>();
    Map<String, Double> speedup = new LinkedHashMap<>();
    Map<String, DecodeBreakdown.Result> breakdowns = new LinkedHashMap<>();
    try (NDManager manager = NDManager.newBaseManager();
        PolicyHolder holder = new PolicyHolder()) {
      holder.install(0, LlamaModel.random(c.model(), manager, c.seed()));
      try (GenerationEngine engine = new GenerationEngine(holder,
              new GenerationEngine.Options(maxBatch, maxBatch, c.newTokens()));
          PolicyHolder.Policy policy = holder.acquire()) {
        for (int b : c.batches()) {
          List<int[]> prompts = prompts(b, c.promptLength(), c.model().vocabSize(), c.seed() + b);
          SamplingParams warm = new SamplingParams(1f, 1f, 0, 4, new int[0], 1);
          SamplingParams run = new SamplingParams(1f, 1f, 0, c.newTokens(), new int[0], 2);
          double cached = tokensPerSecond(b * c.newTokens(), () -> engine.generate(prompts, warm),
              () -> engine.generate(prompts, run));
          double recomputed = tokensPerSecond(b * c.newTokens(),
              () -> ReferenceGenerator.generate(policy.model(), 0, prompts, warm),
              () -> ReferenceGenerator.generate(policy.model(), 0, prompts, run));
          speed.put("kv_cache/batch" + b, cached);
          speed.put("recompute/batch" + b, recomputed);
          speedup.put("batch" + b, cached / recomputed);
          if (!breakdown) {
            continue;
          }
          int mean = c.promptLength() + c.newTokens() / 2;
          int reps = Math.max(1, Math.min(32, c.model().maxPositionEmbeddings() - mean - 1));
          breakdowns.put("batch" + b, DecodeBreakdown.run(policy.model(), b, mean, reps, System::nanoTime));
        }
      }
    }
    return new Result("random " + c.model(), c.model().parameterCount(), c.promptLength(),
        c.newTokens(), speed, speedup, breakdowns);
  }

  private static double tokensPerSecond(int tokens, Supplier<List<Rollout>> warmUp,
      Supplier<List<Rollout>> timed) {
    warmUp.get();
    long start = System.nanoTime();
    List<Rollout> out = timed.get();
    double seconds = (System.nanoTime() - start) / 1e9;
    int generated = out.stream().mapToInt(r -> r.tokens().length).sum();
    if (generated != tokens) {
      throw new IllegalStateException("expected " + tokens + " tokens, generated " + generated);
    }
    return generated / seconds;
  }

  private static List<int[]> prompts(int b, int length, int vocab, long seed) {
    Random rng = new Random(seed);
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      out.add(rng.ints(length, 0, vocab).toArray());
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    Map<String, String> a = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i], args[i + 1]);
    }
    int vocab = Integer.parseInt(a.getOrDefault("--vocab", "4096"));
    int prompt = Integer.parseInt(a.getOrDefault("--prompt", "16"));
    int newTokens = Integer.parseInt(a.getOrDefault("--new-tokens", "256"));
    LlamaConfig preset = a.getOrDefault("--preset", "small").equals("tiny")
        ? LlamaConfig.tiny(vocab) : LlamaConfig.small(vocab);
    if (preset.maxPositionEmbeddings() < prompt + newTokens) {
      preset = preset.withMaxPositionEmbeddings(Math.max(512, prompt + newTokens));
    }
    List<Integer> batches = Arrays.stream(a.getOrDefault("--batches", "1,8").split(","))
        .map(String::trim).map(Integer::parseInt).toList();
    Result r = run(new Config(preset, 1, prompt, newTokens, batches));
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValueAsString(r.toMap()));
  }
}
