package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.QuantExport;
import dev.graft.retrofit.QuantRetrofit;
import dev.graft.sampler.FakeRolloutSource;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherMismatchException;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistillJobTest {

  private static LocalTeacher teacher;

  @BeforeAll
  static void loadTeacher() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
  }

  @AfterAll
  static void closeTeacher() {
    teacher.close();
  }

  private static DistillReport run(Path dir, TeacherScorer t, DistillListener l, String... set)
      throws Exception {
    RunPlan.Bound plan = TinyTeacher.plan(set);
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    try (NDManager m = NDManager.newBaseManager()) {
      return job.run(t, TinyTeacher.CORPUS, m, l, TinyTeacher.quiet());
    }
  }

  /** An on-policy run: a fake sampler completes the rows, stamped with each published version. */
  private static DistillReport runOnPolicy(Path dir, FakeRolloutSource samplers, List<Long> published,
      DistillListener l, String... set) throws Exception {
    RunPlan.Bound plan = TinyTeacher.plan(set);
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    WeightPublisher sink = new WeightPublisher(); // a new run, a new epoch
    sink.watch(m -> {
      published.add(m.version());
      samplers.setPolicy(m.epoch(), m.version());
    });
    try (NDManager m = NDManager.newBaseManager()) {
      return job.run(new Peers(teacher, samplers, sink), teacher, TinyTeacher.CORPUS, m, l, TinyTeacher.quiet());
    }
  }

  private static final String[] ON_POLICY = {"checkpoint.every=3", "onpolicy.fraction=0.25",
      "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=16", "onpolicy.publish_every=2", "server.port=0"};

  private static final class Losses implements DistillListener {
    final List<Double> byStep = new ArrayList<>();
    final int failAt;

    Losses(int failAt) {
      this.failAt = failAt;
    }

    @Override
    public void onStep(StepStats s) {
      if (s.step() == failAt) {
        throw new IllegalStateException("killed at step " + failAt);
      }
      byStep.add(s.loss());
    }
  }

  @Test
  void shortRun_closesMostOfTheKlGap(@TempDir Path dir) throws Exception {
    DistillReport r = run(dir, teacher, new DistillListener() {}, "train.steps=80",
        "retrofit.kv_heads=1", "retrofit.alpha_ramp_steps=20", "train.lr=3e-3");
    double before = r.before().overall().meanKl();
    double after = r.after().overall().meanKl();
    assertTrue(before > 0.01, "the untrained GQA student should differ from the teacher: KL " + before);
    assertTrue(r.after().overall().gapRecovered(r.before().overall()) > 0.5,
        "KL before " + before + ", after " + after);
    assertTrue(r.exactnessMaxDiff() < 1e-4, "alpha = 0 must reproduce the teacher: " + r.exactnessMaxDiff());
    assertEquals(1, LlamaConfig.read(dir.resolve("student/config.json")).numKeyValueHeads());
    assertTrue(Files.isRegularFile(dir.resolve("student").resolve(DistillJob.REPORT_JSON)));
    assertTrue(Files.isRegularFile(dir.resolve("student/tokenizer.json")));
    assertTrue(r.toTable().contains("gap recovered"));
  }

  @Test
  void quantRetrofit_offAndOnPolicy_exportsQuantizedWeightsThatMatchTheCheckpoint(@TempDir Path dir)
      throws Exception {
    String[] quant = {"retrofit.type=quant", "retrofit.bits=4", "retrofit.granularity=per_group",
        "retrofit.group_size=4"};
    DistillReport off = run(dir.resolve("off"), teacher, new DistillListener() {}, quant);
    assertEquals(0, off.exactnessMaxDiff(), 1e-5, "alpha = 0 is the teacher");
    assertTrue(off.before().overall().meanKl() > 0, "int4 weights change the logits");
    LlamaConfig c = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    long weightBytes = new QuantRetrofit(4, QuantRetrofit.Granularity.PER_GROUP, 4, QuantRetrofit.PROJECTIONS)
        .weightBytes(c);
    assertEquals(weightBytes, off.studentWeightBytes());
    // tiny: hidden 64, intermediate 172; per layer 4 (64, 64) attention weights, gate/up (172, 64), down (64, 172)
    long quantized = 4 * 64 * 64 + 2 * 172 * 64 + 64 * 172;
    long packed = 4 * (64 * 32 + 64 * 16 * 4) + 2 * (172 * 32 + 172 * 16 * 4) + (64 * 86 + 64 * 43 * 4);
    assertEquals(c.parameterCount() * 4L - c.numHiddenLayers() * (quantized * 4 - packed), weightBytes);
    assertTrue(off.toTable().contains(String.format(java.util.Locale.ROOT, "%,d", weightBytes)), off.toTable());
    Path student = dir.resolve("off/student");
    Map<String, QuantExport.Weight> back = QuantExport.read(student);
    assertEquals(7 * c.numHiddenLayers(), back.size());
    try (NDManager m = NDManager.newBaseManager()) {
      HfCheckpoint saved = HfCheckpoint.load(student, m);
      assertEquals(c.tensorShapes(), saved.config().tensorShapes(), "the architecture is the teacher's");
      back.forEach((name, w) -> assertArrayEquals(saved.tensors().get(name).toFloatArray(), w.values(), 0f, name));
    }
    FakeRolloutSource samplers = new FakeRolloutSource(teacher.info().vocabSize(), 64, 5);
    List<String> onPolicy = new ArrayList<>(List.of(ON_POLICY));
    onPolicy.addAll(List.of(quant));
    DistillReport on = runOnPolicy(dir.resolve("on"), samplers, new ArrayList<>(), new DistillListener() {},
        onPolicy.toArray(String[]::new));
    assertEquals(6, on.outcome().steps());
    assertEquals(6, samplers.calls(), "every step had on-policy rows");
    assertTrue(Files.isRegularFile(dir.resolve("on/student").resolve(QuantExport.TENSORS_FILE)));
  }

  @Test
  void headline_isTheFinalAlphaOneEvaluation_evenWhenTheLastPeriodicOneIsMidRamp(@TempDir Path dir)
      throws Exception {
    List<Evaluation> evals = new ArrayList<>();
    DistillListener recorder = new DistillListener() {
      @Override
      public void onEval(Evaluation e) {
        evals.add(e);
      }
    };
    // 2 layers ramp over steps 1..6; the evaluation at step 5 scores a blended student.
    DistillReport r = run(dir, teacher, recorder, "train.steps=6", "retrofit.alpha_ramp_steps=6",
        "eval.every=5", "retrofit.kv_heads=1", "train.lr=3e-3");
    assertEquals(List.of(5L, 6L), evals.stream().map(Evaluation::step).toList());
    Evaluation midRamp = evals.get(0);
    Evaluation last = evals.get(1);
    assertEquals(5 / 6.0, midRamp.meanAlpha(), 1e-12);
    assertTrue(midRamp.blended());
    assertEquals(1.0, last.meanAlpha());
    assertSame(last, r.outcome().finalEval());
    assertSame(last.result(), r.after());
    double headline = r.toJson().get("overall").get("gap_recovered").asDouble();
    assertEquals(last.result().overall().gapRecovered(r.before().overall()), headline, 0);
    assertNotEquals(midRamp.result().overall().gapRecovered(r.before().overall()), headline);
    assertEquals(1.0, r.toJson().get("after_evaluation").get("mean_alpha").asDouble());
    assertEquals(6, r.toJson().get("after_evaluation").get("step").asLong());
  }

  @Test
  void report_whoseFinalEvaluationIsBlended_isRefused() {
    LlamaConfig c = LlamaConfig.tiny(300);
    EvalMetrics m = new EvalMetrics(10, 1, 20, 15, 5);
    DistillEvaluator.Result res = new DistillEvaluator.Result(m, Map.of());
    DistillOutcome midRamp = new DistillOutcome(6, 0.1, 600, 1, 0, new Evaluation(5, 0.83, res), 0, 0, 0, 0,
        new long[0], -1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DistillReport("gqa", "forward_kl", c, c.withNumKeyValueHeads(1), res, midRamp, 0, 1,
            new EvaluationSet(6, true, "0".repeat(64)), null));
    assertTrue(e.getMessage().contains("blended (mean alpha 0.83)") && e.getMessage().contains("step 5"),
        e.getMessage());
  }

  @Test
  void exactnessCheck_teacherThatIsNotTheCheckpoint_refusesToTrain(@TempDir Path dir) throws Exception {
    LlamaConfig c = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel other = LlamaModel.random(c, m, 99);
        LocalTeacher wrong = new LocalTeacher(other, TeacherLimits.of(c.maxPositionEmbeddings()))) {
      Losses l = new Losses(-1);
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> run(dir, wrong, l));
      assertTrue(e.getMessage().contains("exactness check failed"), e.getMessage());
      assertTrue(l.byStep.isEmpty(), "no step may run after a failed exactness check");
    }
  }

  @Test
  void tokenizerMismatch_isRefusedNamingBothSides(@TempDir Path dir) {
    TeacherScorer other = new Delegating(teacher) {
      @Override
      public TeacherInfo info() {
        TeacherInfo i = teacher.info();
        return new TeacherInfo(i.architecture(), i.vocabSize(), "f00d", i.modelFingerprint(),
            i.maxSequenceLength(), i.maxTokensPerRequest(), i.parameterCount(), i.kvCacheBytesPerToken());
      }
    };
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> run(dir, other, new DistillListener() {}));
    assertTrue(e.getMessage().contains("tokenizer mismatch") && e.getMessage().contains("f00d")
        && e.getMessage().contains(teacher.info().tokenizerFingerprint()), e.getMessage());
  }

  @Test
  void teacherReplicasServingDifferentModels_stopTheRunBeforeTraining(@TempDir Path dir) throws Exception {
    LlamaConfig c = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel other = LlamaModel.random(c, m, 99);
        LocalTeacher wrong = new LocalTeacher(other, TeacherLimits.of(c.maxPositionEmbeddings()));
        TeacherServer right = TeacherServer.builder().teacher(teacher).build().start();
        TeacherServer second = TeacherServer.builder().teacher(wrong).build().start();
        TeacherClient replicas = TeacherClient.connect(
            List.of("localhost:" + right.port(), "localhost:" + second.port()))) {
      Losses l = new Losses(-1);
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class, () -> run(dir, replicas, l));
      assertTrue(e.getMessage().contains("localhost:" + second.port())
          && e.getMessage().contains(wrong.info().modelFingerprint())
          && e.getMessage().contains(teacher.info().modelFingerprint()), e.getMessage());
      assertTrue(l.byStep.isEmpty(), "no step may run");
      assertEquals(0, right.metrics().requests("ok") + second.metrics().requests("ok"), "nothing was scored");
    }
  }

  @Test
  void kvHeadsThatDoNotDivide_failBeforeAnyScoring(@TempDir Path dir) {
    AtomicInteger calls = new AtomicInteger();
    TeacherScorer counting = new Delegating(teacher) {
      @Override
      public Scores score(TokenBatch tokens, ScoreRequest request) {
        calls.incrementAndGet();
        return super.score(tokens, request);
      }
    };
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> run(dir, counting, new DistillListener() {}, "retrofit.kv_heads=3"));
    assertTrue(e.getMessage().contains("kv_heads (3)"), e.getMessage());
    assertEquals(0, calls.get());
  }

  @Test
  void resume_afterKill_continuesExactly(@TempDir Path dir) throws Exception {
    Losses whole = new Losses(-1);
    run(dir.resolve("a"), teacher, whole, "checkpoint.every=3");
    Losses first = new Losses(5);
    assertThrows(IllegalStateException.class,
        () -> run(dir.resolve("b"), teacher, first, "checkpoint.every=3"));
    Losses second = new Losses(-1);
    run(dir.resolve("b"), teacher, second, "checkpoint.every=3");
    assertEquals(6, whole.byStep.size());
    assertEquals(whole.byStep.subList(0, 4), first.byStep);
    // Resumed from the step-3 checkpoint: steps 4..6 again, identical to the uninterrupted run.
    assertEquals(whole.byStep.subList(3, 6), second.byStep);
  }

  @Test
  void resume_ofAnOnPolicyRun_afterKill_continuesExactly(@TempDir Path dir) throws Exception {
    int vocab = teacher.info().vocabSize();
    Losses whole = new Losses(-1);
    FakeRolloutSource wholeSamplers = new FakeRolloutSource(vocab, 64, 5);
    List<Long> wholeVersions = new ArrayList<>();
    runOnPolicy(dir.resolve("a"), wholeSamplers, wholeVersions, whole, ON_POLICY);
    Losses first = new Losses(5);
    List<Long> firstVersions = new ArrayList<>();
    assertThrows(IllegalStateException.class, () -> runOnPolicy(dir.resolve("b"),
        new FakeRolloutSource(vocab, 64, 5), firstVersions, first, ON_POLICY));
    Losses second = new Losses(-1);
    FakeRolloutSource secondSamplers = new FakeRolloutSource(vocab, 64, 5);
    List<Long> secondVersions = new ArrayList<>();
    runOnPolicy(dir.resolve("b"), secondSamplers, secondVersions, second, ON_POLICY);

    assertEquals(6, whole.byStep.size());
    assertEquals(6, wholeSamplers.calls(), "every step had on-policy rows");
    assertEquals(List.of(0L, 2L, 4L), wholeVersions);
    assertEquals(whole.byStep.subList(0, 4), first.byStep);
    // Resumed from the step-3 checkpoint, which it publishes first: steps 4..6 again, with the
    // same rollouts and losses as the uninterrupted run.
    assertEquals(List.of(3L, 4L), secondVersions);
    assertEquals(3, secondSamplers.calls());
    assertEquals(whole.byStep.subList(3, 6), second.byStep);
  }

  @Test
  void resume_withAChangedConfig_isRefused_namingWhy(@TempDir Path dir) throws Exception {
    int vocab = teacher.info().vocabSize();
    assertThrows(IllegalStateException.class, () -> runOnPolicy(dir, new FakeRolloutSource(vocab, 64, 5),
        new ArrayList<>(), new Losses(5), ON_POLICY));
    for (String change : List.of("onpolicy.max_new_tokens=12", "train.lr=2e-3")) {
      List<String> changed = new ArrayList<>(List.of(ON_POLICY));
      changed.add(change);
      Losses l = new Losses(-1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> runOnPolicy(dir,
          new FakeRolloutSource(vocab, 64, 5), new ArrayList<>(), l, changed.toArray(String[]::new)), change);
      assertTrue(e.getMessage().contains("holds a checkpoint (step 3)")
          && e.getMessage().contains("different retrofit/loss/data/train config"), change + ": " + e.getMessage());
      assertTrue(l.byStep.isEmpty(), change + ": no step may run");
    }
  }

  @Test
  void microBatchSplit_doesNotChangeTheLoss(@TempDir Path dir) throws Exception {
    Losses whole = new Losses(-1);
    run(dir.resolve("a"), teacher, whole, "train.steps=3", "train.micro_batch=8");
    Losses split = new Losses(-1);
    run(dir.resolve("b"), teacher, split, "train.steps=3", "train.micro_batch=2");
    for (int i = 0; i < 3; i++) {
      assertEquals(whole.byStep.get(i), split.byStep.get(i), 1e-5 * Math.abs(whole.byStep.get(i)),
          "step " + (i + 1));
    }
  }

  @Test
  void everyObjectiveAndTargetMode_trains_andTheirFirstLossesKeepTheDivergencesOrder(@TempDir Path dir)
      throws Exception {
    // Step 1 of every run sees the same batch and the same student, so its losses are divergences
    // of one pair (p, q) per position (fp32 targets: one p for all) and must obey their bounds.
    Map<String, Double> first = new LinkedHashMap<>();
    for (String set : List.of("loss.divergence=forward_kl", "loss.targets=full", "loss.divergence=reverse_kl",
        "loss.divergence=jsd:0.5", "loss.divergence=skew_kl:0.1", "loss.divergence=tv", "loss.divergence=ce",
        "loss.temperature=2")) {
      Losses l = new Losses(-1);
      DistillReport r = run(dir.resolve(set.replace(':', '-')), teacher, l, set, "loss.value_dtype=fp32");
      assertEquals(6, l.byStep.size(), set);
      assertTrue(l.byStep.stream().allMatch(v -> Double.isFinite(v) && v >= 0), set + ": " + l.byStep);
      assertTrue(Double.isFinite(r.after().overall().meanKl()), set);
      first.put(set.substring(set.indexOf('=') + 1), l.byStep.get(0));
    }
    double fkl = first.get("forward_kl");
    double rkl = first.get("reverse_kl");
    double slack = 1e-5 * fkl;
    assertTrue(fkl > 1e-4 && rkl > 1e-4, "at step 1 the student differs from the teacher: " + first);
    assertTrue(first.get("full") >= fkl - slack,
        "forward KL over the vocabulary bounds its top-k + tail value from above: " + first);
    assertTrue(first.get("skew_kl:0.1") <= 0.9 * fkl + slack,
        "KL(p || 0.1p + 0.9q) <= 0.9 KL(p || q): " + first);
    assertTrue(first.get("jsd:0.5") <= 0.25 * (fkl + rkl) + slack && first.get("jsd:0.5") <= Math.log(2),
        "JSD <= (KL(p||q) + KL(q||p)) / 4 and <= log 2: " + first);
    assertTrue(first.get("tv") <= Math.sqrt(fkl / 2) + slack, "Pinsker: TV <= sqrt(KL / 2): " + first);
    assertTrue(first.get("tv") > 0 && first.get("jsd:0.5") > 0 && first.get("skew_kl:0.1") > 0, first.toString());
    assertEquals(first.size(), first.values().stream().distinct().count(),
        "every setting changes the loss: " + first);
  }

  /** Forwards everything to another scorer. */
  private static class Delegating implements TeacherScorer {
    private final TeacherScorer d;

    Delegating(TeacherScorer d) {
      this.d = d;
    }

    @Override
    public TeacherInfo info() {
      return d.info();
    }

    @Override
    public Scores score(TokenBatch tokens, ScoreRequest request) {
      return d.score(tokens, request);
    }

    @Override
    public void close() {}
  }
}
