package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplingParams;
import dev.graft.sampler.server.PolicyHolder;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.publish.PolicyServer;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.sync.subscribe.WeightSubscriber;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-policy distillation with a real sampler-service that receives the student's weights from the
 * trainer's PolicyService, both over loopback gRPC: what the samplers serve, which rollouts the
 * trainer accepts, how stale they are, where prompts start and where generation stops.
 */
class OnPolicyOverGrpcTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static LocalTeacher teacher;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeAll
  static void loadTeacher() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
  }

  @AfterAll
  static void closeTeacher() {
    teacher.close();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T keep(T c) {
    open.add(0, c);
    return c;
  }

  /** A sampler-service fed by the policy service at {@code policyPort}, and a client of it. */
  private Recording sampler(int policyPort, PolicyHolder holder) throws Exception {
    keep(holder);
    SamplerServer server = keep(SamplerServer.builder().policies(holder).port(0).slots(4)
        .shutdownGrace(Duration.ofMillis(100)).build().start());
    keep(WeightSubscriber.builder().endpoint("localhost:" + policyPort).installer(holder).build()).start();
    return new Recording(keep(SamplerClient.connect(List.of("localhost:" + server.port()))));
  }

  private static DistillReport run(Path dir, Peers peers, String... set) throws Exception {
    List<String> overrides = new ArrayList<>(List.of(set));
    overrides.add("server.port=0"); // the trainer's server is started by the test
    RunConfig cfg = RunConfig.load(null, TinyTeacher.overrides(overrides.toArray(String[]::new)));
    RunPlan.Bound plan = RunPlan.of(cfg).bind(LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE)));
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    try (NDManager m = NDManager.newBaseManager(); StepLog steps = new StepLog(dir.resolve("run"))) {
      return job.run(peers, teacher, TinyTeacher.CORPUS, m, steps, TinyTeacher.quiet());
    }
  }

  @Test
  void gradualRun_version0IsTheTeacher_lagIsStepMinusVersionAndBounded_promptsStartDocuments_generationStops(
      @TempDir Path dir) throws Exception {
    WeightPublisher weights = new WeightPublisher();
    TrainerServer trainer = keep(TrainerServer.start(0, new RunStatus("grpc"), weights));
    int[] probe = probeTokens();
    CompletableFuture<float[]> version0 = new CompletableFuture<>();
    PolicyHolder holder = new PolicyHolder();
    holder.addListener(new PolicyHolder.Listener() {
      @Override
      public void installed(long epoch, long version) {
        if (version == 0) {
          try (PolicyHolder.Policy p = holder.acquire()) {
            version0.complete(logits(p.model(), probe));
          } catch (RuntimeException e) {
            version0.completeExceptionally(e);
          }
        }
      }
    });
    Recording samplers = sampler(trainer.port(), holder);
    int stop = commonToken();

    DistillReport r = run(dir, new Peers(teacher, samplers, weights), "train.steps=12",
        "retrofit.kv_heads=1", "retrofit.alpha_ramp_steps=8", "onpolicy.fraction=0.5",
        "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=16", "onpolicy.publish_every=4",
        "onpolicy.max_policy_lag=5", "onpolicy.stop_token_ids=[" + stop + "]");

    // 2. Version 0 is published at the α of the first step (0): it computes the teacher's function.
    float[] studentV0 = version0.get(60, TimeUnit.SECONDS);
    float[] teacherLogits;
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel t = LlamaModel.fromTensors(teacherConfig(), m, HfCheckpoint.load(TinyTeacher.dir(), m).tensors())) {
      teacherLogits = logits(t, probe);
    }
    assertEquals(teacherLogits.length, studentV0.length);
    double maxDiff = 0;
    for (int i = 0; i < teacherLogits.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(teacherLogits[i] - studentV0[i]));
    }
    assertTrue(maxDiff <= 1e-5, "version 0 of a gradual run must be the teacher: max |logit diff| " + maxDiff);

    // 4. Lag = (the step that trains on a rollout) - (its version), at most max_policy_lag, in steps.jsonl.
    int stepsWithRollouts = 0;
    for (String line : Files.readAllLines(dir.resolve("run").resolve(StepLog.FILE))) {
      JsonNode s = JSON.readTree(line);
      long step = s.get("step").asLong();
      assertTrue(s.has("lag_min") && s.has("lag_mean") && s.has("lag_max"), "lag fields: " + line);
      long lagMax = s.get("lag_max").asLong();
      assertEquals(step - s.get("oldest_rollout_version").asLong(), lagMax, line);
      assertTrue(s.get("lag_min").asLong() >= 0 && s.get("lag_min").asDouble() <= s.get("lag_mean").asDouble()
          && s.get("lag_mean").asDouble() <= lagMax, line);
      assertTrue(lagMax <= 5, "lag over onpolicy.max_policy_lag: " + line);
      assertTrue(s.get("lag_min").asLong() >= 1, "a rollout is made by a version before the step: " + line);
      stepsWithRollouts++;
    }
    assertEquals(12, stepsWithRollouts);
    long[] hist = r.outcome().lagHistogram();
    assertEquals(6, hist.length, "lags 0..max_policy_lag");
    assertEquals(12 * 4, r.outcome().rolloutsTrained(), "4 on-policy rows a step");
    assertEquals(0, r.outcome().foreignRolloutsDropped());
    JsonNode report = JSON.readTree(dir.resolve("student").resolve(DistillJob.REPORT_JSON).toFile());
    JsonNode lag = report.path("training").path("rollout_lag");
    long reported = 0;
    for (JsonNode c : lag.path("rollouts_by_lag")) {
      reported += c.asLong();
    }
    assertEquals(12 * 4, reported, report.toString());
    assertTrue(lag.get("max").asLong() <= 5 && lag.get("min").asLong() >= 1, lag.toString());

    // 6. Every prompt is a document's beginning; generation stops at EOS or a configured stop id.
    Map<String, List<Integer>> starts = documentStarts();
    int promptTokens = 8;
    int stopped = 0;
    int eos;
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      eos = tok.eosId();
      for (Call c : samplers.calls) {
        int[] stops = c.params().stopTokens();
        assertTrue(Arrays.stream(stops).anyMatch(i -> i == tok.eosId()), "EOS is a stop: " + Arrays.toString(stops));
        assertTrue(Arrays.stream(stops).anyMatch(i -> i == stop), "the configured stop id is sent");
        for (int[] p : c.prompts()) {
          assertEquals(promptTokens, p.length);
          assertEquals(tok.bosId(), p[0], "a prompt starts at a document's BOS");
          List<Integer> body = Arrays.stream(p, 1, p.length).boxed().toList();
          assertTrue(starts.values().stream().anyMatch(d -> d.subList(0, body.size()).equals(body)),
              "prompt " + Arrays.toString(p) + " is the beginning of no document");
        }
      }
    }
    for (Call c : samplers.calls) {
      for (Rollout ro : c.rollouts()) {
        int[] g = ro.tokens();
        int firstStop = -1;
        for (int i = 0; i < g.length && firstStop < 0; i++) {
          if (g[i] == eos || g[i] == stop) {
            firstStop = i;
          }
        }
        if (ro.finish() == Rollout.Finish.STOP_TOKEN) {
          assertEquals(g.length - 1, firstStop, "a stopped rollout ends at its first stop token");
          stopped++;
        } else {
          assertEquals(-1, firstStop, "generation went on past a stop token: " + Arrays.toString(g));
          assertEquals(16, g.length);
        }
      }
    }
    assertTrue(stopped > 0, "the configured stop id " + stop + " never ended a rollout");
  }

  @Test
  void rolloutsOfAnotherRun_areNeverTrainedOn_theyAreCountedAndTheRowsFallBackOrTheRunStops(@TempDir Path dir)
      throws Exception {
    // A sampler left over from another run: it serves that run's version 70.
    WeightPublisher otherRun = new WeightPublisher();
    PolicyServer other = keep(PolicyServer.start(otherRun, 0));
    CompletableFuture<Long> installed = new CompletableFuture<>();
    PolicyHolder holder = new PolicyHolder();
    holder.addListener(new PolicyHolder.Listener() {
      @Override
      public void installed(long epoch, long version) {
        installed.complete(version);
      }
    });
    Recording samplers = sampler(other.port(), holder);
    otherRun.publish(teacherAsPolicy(70));
    assertEquals(70, installed.get(60, TimeUnit.SECONDS));

    WeightPublisher weights = new WeightPublisher();
    keep(TrainerServer.start(0, new RunStatus("this-run"), weights));
    DistillReport r = run(dir.resolve("fallback"), new Peers(teacher, samplers, weights), "train.steps=3",
        "onpolicy.fraction=0.5", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=8",
        "onpolicy.fallback_to_corpus=true");
    assertTrue(r.outcome().foreignRolloutsDropped() >= 3 * 4, "dropped " + r.outcome().foreignRolloutsDropped());
    assertEquals(0, r.outcome().rolloutsTrained());
    assertEquals(3 * 4, r.outcome().fallbackRows(), "every on-policy row fell back to corpus text, counted");
    IllegalArgumentException reused = assertThrows(IllegalArgumentException.class,
        () -> run(dir.resolve("reused"), new Peers(teacher, samplers, weights), "onpolicy.fraction=0.5",
            "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=8"));
    assertTrue(reused.getMessage().contains("every run needs its own"), reused.getMessage());
    for (String line : Files.readAllLines(dir.resolve("fallback/run").resolve(StepLog.FILE))) {
      assertFalse(line.contains("oldest_rollout_version") || line.contains("lag_"), "no rollout was trained on: " + line);
      assertTrue(JSON.readTree(line).get("foreign_rollouts_dropped_total").asLong() > 0, line);
    }

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> run(dir.resolve("strict"), new Peers(teacher, samplers, new WeightPublisher()), "train.steps=3",
            "onpolicy.fraction=0.5", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=8",
            "onpolicy.patience_seconds=1"));
    assertTrue(e.getMessage().contains("epoch " + Long.toUnsignedString(otherRun.epoch()))
        && e.getMessage().contains("not a version this run"), e.getMessage());
  }

  private static LlamaConfig teacherConfig() throws Exception {
    return LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
  }

  private static PolicyUpdate teacherAsPolicy(long version) throws Exception {
    Map<String, float[]> tensors = new LinkedHashMap<>();
    try (NDManager m = NDManager.newBaseManager()) {
      HfCheckpoint.load(TinyTeacher.dir(), m).tensors().forEach((n, a) -> tensors.put(n, a.toFloatArray()));
    }
    return new PolicyUpdate(version, teacherConfig(), tensors);
  }

  /** Logits of {@code model} for one sequence, flattened. */
  private static float[] logits(LlamaModel model, int[] ids) {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.create(Arrays.stream(ids).asLongStream().toArray(), new Shape(1, ids.length));
      return model.forward(x).toType(DataType.FLOAT32, false).toFloatArray();
    }
  }

  private static int[] probeTokens() {
    int[] ids = new int[24];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 3 + (i * 37) % 250;
    }
    return ids;
  }

  /** Each document's tokens, as the trainer encodes them. */
  private static Map<String, List<Integer>> documentStarts() {
    Map<String, List<Integer>> out = new HashMap<>();
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      for (Document d : TinyTeacher.CORPUS) {
        out.put(d.id(), Arrays.stream(tok.encode(d.text())).boxed().toList());
      }
    }
    return out;
  }

  /** The most frequent token of the corpus: a stop id that generation will meet. */
  private static int commonToken() {
    Map<Integer, Integer> counts = new HashMap<>();
    documentStarts().values().forEach(ids -> ids.forEach(i -> counts.merge(i, 1, Integer::sum)));
    return counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
  }

  private record Call(List<int[]> prompts, SamplingParams params, List<Rollout> rollouts) {}

  /** A client of real samplers that keeps every call's prompts, parameters and rollouts. */
  private static final class Recording implements RolloutSource {
    final List<Call> calls = new CopyOnWriteArrayList<>();
    private final RolloutSource inner;

    Recording(RolloutSource inner) {
      this.inner = inner;
    }

    @Override
    public SamplerInfo info() {
      return inner.info();
    }

    @Override
    public List<Rollout> generate(List<int[]> prompts, SamplingParams params) {
      List<Rollout> out = inner.generate(prompts, params);
      calls.add(new Call(List.copyOf(prompts), params, out));
      return out;
    }

    @Override
    public void close() {}
  }
}
