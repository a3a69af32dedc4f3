package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequenceCursor;
import dev.graft.data.SequencePacker;
import dev.graft.data.TokenBatch;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import dev.graft.service.Backoff;
import dev.graft.retrofit.AlignmentLoss;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The alignment stages on the tiny teacher, through the real in-process teacher's hidden states. */
class StagedAlignmentTest {

  private static LocalTeacher teacher;
  private static LlamaConfig config;
  private static PackedSequences train;

  @BeforeAll
  static void load() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
    config = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      train = new SequencePacker(32, tok.bosId(), tok.eosId(), tok.eosId())
          .pack(TinyTeacher.CORPUS.subList(0, 30), tok::encode, SequencePacker.Tail.PAD);
    }
  }

  @AfterAll
  static void close() {
    teacher.close();
  }

  /** A GQA kv = 1 retrofit with random key/value heads, far from the teacher at α = 1. */
  private static RunPlan plan(String... set) {
    List<String> o = new java.util.ArrayList<>(TinyTeacher.overrides("data.seq_len=32", "retrofit.kv_heads=1",
        "retrofit.init=random", "align.batch_size=4", "align.lr=1e-2"));
    o.addAll(List.of(set));
    return RunPlan.of(RunConfig.load(null, o));
  }

  private static RetrofitStudent student(RunPlan plan, NDManager m) throws Exception {
    try (NDManager scratch = m.newSubManager()) {
      return plan.retrofit().change().build(config, HfCheckpoint.loadTensors(TinyTeacher.dir(), config, scratch), m);
    }
  }

  private static StagedAlignment stages(RunPlan plan, RetrofitStudent s, Path root, StopRequest stop) {
    return new StagedAlignment(plan, s, train, teacher, root, "tiny", stop, System::nanoTime, TinyTeacher.quiet());
  }

  private static Map<String, float[]> parameters(RetrofitStudent s) {
    Map<String, float[]> out = new LinkedHashMap<>();
    s.parameters().forEach((n, p) -> out.put(n, p.toFloatArray()));
    return out;
  }

  @Test
  void stage1_lowersEachMixersLoss_andTrainsOnlyTheMixers(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=3840"); // 30 steps of 4 x 32 positions
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      Map<String, float[]> before = parameters(s);
      StageReport r = stages(plan, s, dir, new StopRequest()).run(false).get(0);
      assertEquals(AlignStage.MIXER, r.stage());
      assertEquals(List.of(0, 1), r.layers());
      assertEquals(30, r.steps());
      assertEquals(3840, r.positions());
      assertEquals(30, r.curve().size());
      List<Double> first = r.curve().get(0).layers();
      List<Double> last = r.curve().get(29).layers();
      for (int k = 0; k < 2; k++) {
        assertTrue(last.get(k) < 0.5 * first.get(k), "layer " + k + ": " + first.get(k) + " -> " + last.get(k));
      }
      Map<String, float[]> after = parameters(s);
      for (String name : before.keySet()) {
        boolean changed = !java.util.Arrays.equals(before.get(name), after.get(name));
        assertEquals(name.contains(".self_attn."), changed, name);
      }
      assertEquals(List.of(0.0, 0.0), java.util.Arrays.stream(s.alphas()).boxed().toList(), "alphas restored");
    }
  }

  @Test
  void stage2_lowersEachBlocksLoss(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.block_tokens=2560"); // 20 steps
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      StageReport r = stages(plan, s, dir, new StopRequest()).run(false).get(0);
      assertEquals(AlignStage.BLOCK, r.stage());
      assertEquals(20, r.steps());
      double first = r.firstLoss();
      double last = r.lastLoss();
      assertTrue(first > 1e-3, "a random kv head changes each block's output: " + first);
      assertTrue(last < 0.5 * first, first + " -> " + last);
    }
  }

  @Test
  void stage1LossAtStepZero_equalsTheStudentsOwnMixerLossOnTheFirstBatch(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=128"); // one step
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      int[] rows = SequenceCursor.over(train, plan.train().seed() + 1, SequenceCursor.Position.START).next(4);
      int[] ids = new int[4 * 32];
      for (int r = 0; r < 4; r++) {
        System.arraycopy(train.inputs(rows[r]), 0, ids, r * 32, 32);
      }
      // Independent: the targets from the student's own α = 0 pass, not from the teacher's stream.
      Map<Integer, Double> want = AlignmentLoss.mixerLoss(s, new TokenBatch(4, 32, ids));
      StageReport r = stages(plan, s, dir, new StopRequest()).run(false).get(0);
      List<Double> got = r.curve().get(0).layers();
      for (int layer : List.of(0, 1)) {
        assertEquals(want.get(layer), got.get(layer), 1e-5 * want.get(layer), "layer " + layer);
      }
      assertTrue(want.get(0) > 0.05, "random kv heads start far from the teacher: " + want);
    }
  }

  @Test
  void resumingAfterEveryStep_endsBitIdenticalToAnUninterruptedRun(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=384", "align.block_tokens=256", "checkpoint.every=0"); // 3 + 2 steps
    Map<String, float[]> straight;
    List<StageReport> want;
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      want = stages(plan, s, dir.resolve("a"), new StopRequest()).run(false);
      straight = parameters(s);
    }
    int restarts = 0;
    List<StageReport> got = null;
    while (got == null) {
      StopRequest stop = new StopRequest();
      stop.request(); // stop after the first step this process trains
      try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
        try {
          got = stages(plan, s, dir.resolve("b"), stop).run(false);
          assertArrayEqualsByName(straight, parameters(s));
        } catch (TrainingStopped e) {
          restarts++;
          assertTrue(e.checkpoint() != null);
        }
      }
    }
    assertEquals(5, restarts, "stopped after each of the 3 + 2 steps");
    for (int i = 0; i < 2; i++) {
      assertEquals(want.get(i).curve(), got.get(i).curve(), "stage " + (i + 1) + " loss curve");
      assertEquals(want.get(i).positions(), got.get(i).positions());
    }
    // Once end-to-end training has begun the stages are only read back.
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      Map<String, float[]> untouched = parameters(s);
      List<StageReport> read = stages(plan, s, dir.resolve("b"), new StopRequest()).run(true);
      assertEquals(want.get(1).curve(), read.get(1).curve());
      assertArrayEqualsByName(untouched, parameters(s));
    }
  }

  @Test
  void overARealChannel_theStagesTrainExactlyAsAgainstTheTeacherInProcess(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=256", "align.block_tokens=128", "teacher.deadline_seconds=30");
    List<StageReport> local;
    Map<String, float[]> localParams;
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      local = stages(plan, s, dir.resolve("local"), new StopRequest()).run(false);
      localParams = parameters(s);
    }
    try (TeacherServer server = TeacherServer.builder().teacher(teacher).chunkBytes(4096).build().start();
        TeacherClient client = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
            .valueType(DType.DTYPE_FLOAT32).maxAttempts(1).build();
        NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      List<StageReport> remote = new StagedAlignment(plan, s, train, client, dir.resolve("grpc"), "tiny",
          new StopRequest(), System::nanoTime, TinyTeacher.quiet()).run(false);
      assertEquals(local.get(0).curve(), remote.get(0).curve());
      assertEquals(local.get(1).curve(), remote.get(1).curve());
      assertArrayEqualsByName(localParams, parameters(s));
    }
  }

  @Test
  void seqkdRows_stage1LossAtStepZero_countsTheRealPositionsOnly(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=128", "align.data=seqkd", "onpolicy.fraction=0",
        "seqkd.prompt_tokens=6", "seqkd.max_new_tokens=8", "seqkd.temperature=0"); // one step of 4 rows
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON));
        NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m);
        RetrofitStudent untrained = student(plan, m)) {
      int[] continuation = {5, 6, 7, 8, tok.eosId()}; // every row stops at EOS after 5 tokens: 21 of 32 are padding
      List<int[]> asked = new java.util.ArrayList<>();
      StageReport r = stages(plan, s, dir, new StopRequest())
          .withTeacherRows(teacherRows(plan, tok, continuation, asked)).run(false).get(0);
      assertEquals(4, asked.size());
      assertEquals(4 * 11, r.positions(), "prompt + continuation per row; the padding does not count");
      // Independent: the unmasked loss on the same rows cut to their 11 real positions (causal layers).
      int[] ids = new int[4 * 11];
      for (int row = 0; row < 4; row++) {
        System.arraycopy(asked.get(row), 0, ids, row * 11, 6);
        System.arraycopy(continuation, 0, ids, row * 11 + 6, 5);
      }
      Map<Integer, Double> want = AlignmentLoss.mixerLoss(untrained, new TokenBatch(4, 11, ids));
      for (int layer : List.of(0, 1)) {
        assertEquals(want.get(layer), r.curve().get(0).layers().get(layer), 1e-4 * want.get(layer), "layer " + layer);
      }
    }
  }

  @Test
  void seqkdRows_resumingAfterEveryStep_regeneratesTheSameRows_andEndsBitIdentical(@TempDir Path dir)
      throws Exception {
    RunPlan plan = plan("align.mixer_tokens=384", "align.data=seqkd", "onpolicy.fraction=0", "checkpoint.every=0",
        "seqkd.prompt_tokens=6", "seqkd.max_new_tokens=8", "seqkd.temperature=0"); // 3 steps
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      int[] continuation = {9, 10, tok.eosId()};
      List<int[]> straightRows = new java.util.ArrayList<>();
      Map<String, float[]> straight;
      StageReport want;
      try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
        want = stages(plan, s, dir.resolve("a"), new StopRequest())
            .withTeacherRows(teacherRows(plan, tok, continuation, straightRows)).run(false).get(0);
        straight = parameters(s);
      }
      List<int[]> resumedRows = new java.util.ArrayList<>();
      int restarts = 0;
      StageReport got = null;
      while (got == null) {
        StopRequest stop = new StopRequest();
        stop.request(); // stop after the first step this process trains
        List<int[]> asked = new java.util.ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
          try {
            got = stages(plan, s, dir.resolve("b"), stop)
                .withTeacherRows(teacherRows(plan, tok, continuation, asked)).run(false).get(0);
            assertArrayEqualsByName(straight, parameters(s));
          } catch (TrainingStopped e) {
            restarts++;
          }
        }
        synchronized (asked) { // the step it trained (generated first; later ones were ahead of it)
          resumedRows.addAll(asked.subList(0, Math.min(4, asked.size())));
        }
      }
      assertEquals(3, restarts);
      assertEquals(want.curve(), got.curve());
      assertEquals(want.positions(), got.positions());
      for (int i = 0; i < 12; i++) {
        assertArrayEquals(straightRows.get(i), resumedRows.get(i), "prompt " + i + " asked again after a restart");
      }
    }
  }

  /** Teacher rows from a stand-in teacher-serving sampler that continues every prompt with {@code continuation}. */
  private static StagedAlignment.TeacherRows teacherRows(RunPlan plan, GraftTokenizer tok, int[] continuation,
      List<int[]> asked) {
    RolloutSource sampler = new RolloutSource() {
      @Override
      public SamplerInfo info() {
        return new SamplerInfo(config.vocabSize(), 64, 0, 0, "tiny");
      }

      @Override
      public List<Rollout> generate(List<int[]> prompts, SamplingParams p) {
        throw new AssertionError("teacher rows name the teacher's model");
      }

      @Override
      public List<Rollout> generate(List<int[]> prompts, SamplingParams p, String model) {
        synchronized (asked) {
          asked.addAll(prompts);
        }
        return prompts.stream().map(q -> new Rollout(q, continuation, new float[continuation.length], 0,
            Rollout.Finish.STOP_TOKEN)).toList();
      }

      @Override
      public void close() {}
    };
    DocumentPrompts prompts = new DocumentPrompts(tok.bosId(), plan.seqkd().promptTokens(), 99,
        "a teacher-continuation prompt", "seqkd.prompt_tokens");
    TinyTeacher.CORPUS.subList(0, 30).forEach(d -> prompts.capturing(tok::encode).encode(d.text()));
    Patience patience = new Patience("teacher-samplers", java.time.Duration.ofSeconds(5),
        new Backoff(java.time.Duration.ofMillis(1), java.time.Duration.ofMillis(2)), Backoff.Sleeper.SYSTEM,
        System::nanoTime, new DistillListener() {}, SamplerUnavailableException.class);
    return (stage, steps) -> new TeacherContinuations(plan.seqkd(), plan.align().batchSize(), stage.number(),
        sampler, "tiny", prompts.salted(stage.number()), 32, tok.eosId(), new int[] {tok.eosId()}, patience, 1,
        steps, System::nanoTime);
  }

  @Test
  void aStageWithNothingToTrain_isAClearError(@TempDir Path dir) throws Exception {
    RunPlan plan = RunPlan.of(RunConfig.load(null, TinyTeacher.overrides("data.seq_len=32", "retrofit.type=quant",
        "retrofit.linears=[gate_proj]", "align.mixer_tokens=64")));
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> stages(plan, s, dir, new StopRequest()).run(false));
      assertTrue(e.getMessage().startsWith("align.mixer_tokens is 64 but the retrofit "), e.getMessage());
      assertTrue(e.getMessage().endsWith(" changes no layer's mixer; set it to 0"), e.getMessage());
    }
  }

  @Test
  void endToEndCheckpointsWithoutTheStagesCheckpoints_areRefused(@TempDir Path dir) throws Exception {
    RunPlan plan = plan("align.mixer_tokens=128");
    try (NDManager m = NDManager.newBaseManager(); RetrofitStudent s = student(plan, m)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> stages(plan, s, dir, new StopRequest()).run(true));
      assertTrue(e.getMessage().startsWith("the run directory holds end-to-end checkpoints but no checkpoint of"
          + " stage 1 (mixer) ("), e.getMessage());
    }
  }

  private static void assertArrayEqualsByName(Map<String, float[]> want, Map<String, float[]> got) {
    assertEquals(want.keySet(), got.keySet());
    want.forEach((n, w) -> assertArrayEquals(w, got.get(n), n));
  }
}
