package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.data.DatasetSplit;
import dev.graft.data.PackedSequences;
import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.FakeRolloutSource;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.teacher.store.TargetStoreWriter;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run that reads its corpus rows' targets from a target store trains exactly as one that asks
 * the teacher: the store holds the teacher's answer at the run's k, temperature and wire dtype.
 */
class StoredTargetsTest {

  private static LocalTeacher teacher;
  private static TeacherServer server;
  private static TeacherClient bf16;

  @BeforeAll
  static void start() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
    server = TeacherServer.builder().teacher(teacher).build().start();
    bf16 = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
        .valueType(DType.DTYPE_BFLOAT16).build();
  }

  @AfterAll
  static void stop() {
    bf16.close();
    server.close();
    teacher.close();
  }

  private static RunPlan.Bound plan(String... set) throws Exception {
    return TinyTeacher.plan(set);
  }

  /** What `graft score` does: the run's training sequences, scored in-process and written. */
  private static void score(Path store, String... set) throws Exception {
    RunPlan p = plan(set).plan();
    try (GraftTokenizer tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON))) {
      Optional<HeldOut> recorded = HeldOut.read(TinyTeacher.dir());
      DatasetSplit split = TrainingData.split(p, recorded, TinyTeacher.CORPUS);
      PackedSequences train = TrainingData.packTrain(p, split, tok::encode, tok.bosId(), tok.eosId());
      // Rows per request (5) differ from the run's batches (8): a row's targets do not depend on
      // what it was batched with.
      new TargetStoreWriter(TrainingData.storeKey(teacher.info(), tok.fingerprint(), split,
          TrainingData.splitRule(p, recorded), train, p), TrainingData.drawn(train, p), train::inputs, 5, 7)
          .write(store, teacher, (done, total) -> {});
    }
  }

  private static final class Losses implements DistillListener {
    final List<Double> byStep = new ArrayList<>();

    @Override
    public void onStep(StepStats s) {
      byStep.add(s.loss());
    }
  }

  /** Forwards to the bf16 client, counting training score calls. */
  private static final class Counting implements TeacherScorer {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public TeacherInfo info() {
      return bf16.info();
    }

    @Override
    public Scores score(TokenBatch tokens, ScoreRequest request) {
      calls.incrementAndGet();
      return bf16.score(tokens, request);
    }

    @Override
    public void close() {}
  }

  private static DistillReport run(Path dir, Peers peers, Losses losses, String... set) throws Exception {
    DistillJob job = new DistillJob(plan(set), TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    try (NDManager m = NDManager.newBaseManager()) {
      return job.run(peers, teacher, TinyTeacher.CORPUS, m, losses, TinyTeacher.quiet());
    }
  }

  @Test
  void offPolicyRun_fromTheStore_hasTheSameLossesAsFromTheTeacher_bitForBit(@TempDir Path dir) throws Exception {
    String[] set = {"train.steps=5", "retrofit.kv_heads=1"};
    Losses online = new Losses();
    DistillReport a = run(dir.resolve("online"), Peers.offPolicy(bf16), online, set);
    score(dir.resolve("store"), set);
    Losses stored = new Losses();
    Counting counting = new Counting();
    List<String> withStore = new ArrayList<>(List.of(set));
    withStore.add("teacher.store=" + dir.resolve("store"));
    DistillReport b = run(dir.resolve("stored"), Peers.offPolicy(counting), stored, withStore.toArray(String[]::new));
    assertEquals(0, counting.calls.get(), "no training batch may ask the teacher");
    assertEquals(5, online.byStep.size());
    // Tolerance 0: the stored bf16 values are the ones the teacher-service sends.
    assertEquals(online.byStep, stored.byStep);
    assertEquals(a.after().overall().meanKl(), b.after().overall().meanKl(), 0.0);
  }

  @Test
  void onPolicyRun_readsCorpusRowsFromTheStore_andAsksTheTeacherForRollouts(@TempDir Path dir) throws Exception {
    String[] set = {"train.steps=4", "onpolicy.fraction=0.25", "onpolicy.prompt_tokens=8",
        "onpolicy.max_new_tokens=16", "onpolicy.publish_every=2", "server.port=0"};
    Losses online = new Losses();
    runOnPolicy(dir.resolve("online"), bf16, online, set);
    score(dir.resolve("store"), set);
    Losses stored = new Losses();
    Counting counting = new Counting();
    List<String> withStore = new ArrayList<>(List.of(set));
    withStore.add("teacher.store=" + dir.resolve("store"));
    runOnPolicy(dir.resolve("stored"), counting, stored, withStore.toArray(String[]::new));
    assertEquals(4, counting.calls.get(), "one teacher call per step, for the rollout rows");
    assertEquals(online.byStep, stored.byStep);
  }

  private static void runOnPolicy(Path dir, TeacherScorer training, Losses losses, String... set) throws Exception {
    FakeRolloutSource samplers = new FakeRolloutSource(teacher.info().vocabSize(), 64, 5);
    WeightPublisher sink = new WeightPublisher();
    sink.watch(m -> samplers.setPolicy(m.epoch(), m.version()));
    run(dir, new Peers(training, samplers, sink), losses, set);
  }

  @Test
  void storeOfAnotherK_isRefusedBeforeTraining_namingTheField(@TempDir Path dir) throws Exception {
    score(dir.resolve("store"), "loss.k=16");
    Losses losses = new Losses();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(dir.resolve("run"),
        Peers.offPolicy(bf16), losses, "loss.k=8", "teacher.store=" + dir.resolve("store")));
    assertTrue(e.getMessage().contains("does not fit this run") && e.getMessage().contains("k: store 16, run 8"),
        e.getMessage());
    assertTrue(losses.byStep.isEmpty());
  }

  @Test
  void storeOfAnotherDtypeOrSplit_isRefusedNamingEachField(@TempDir Path dir) throws Exception {
    score(dir.resolve("store"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(dir.resolve("run"),
        Peers.offPolicy(bf16), new Losses(), "loss.value_dtype=fp16", "data.seq_len=32",
        "teacher.store=" + dir.resolve("store")));
    assertTrue(e.getMessage().contains("dtype: store BF16, run F16") && e.getMessage().contains("seq_len: store 64,"
        + " run 32") && e.getMessage().contains("training tokens (sha256)"), e.getMessage());
  }

  @Test
  void storeWithFullTargetsOrCrossEntropy_isAConfigError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RunPlan.of(RunConfig.load(null, List.of("teacher.store=/x", "loss.targets=full"))));
    assertTrue(e.getMessage().contains("teacher.store holds top-k targets"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> RunPlan.of(RunConfig.load(null, List.of("teacher.store=/x", "loss.divergence=ce"))));
  }
}
