package dev.graft.trainer.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.QuantRetrofit.Granularity;
import dev.graft.retrofit.QuantRetrofit;
import dev.graft.retrofit.WindowRetrofit;
import dev.graft.teacher.ScoreRequest;
import dev.graft.trainer.loss.Divergence;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The YAML run config and the typed plan made from it: every rule checked once, every problem listed. */
class RunPlanTest {

  private static String error(Runnable r) {
    return assertThrows(IllegalArgumentException.class, r::run).getMessage();
  }

  @Test
  void defaults_areValidAndMatchTheShippedFile() {
    RunConfig c = RunConfig.defaults();
    RunPlan plan = RunPlan.of(c);
    assertEquals("forward_kl", c.loss().divergence());
    assertEquals(2, c.retrofit().kvHeads());
    assertEquals(List.of(), c.teacher().endpoints());
    RunPlan.Bound bound = plan.bind(LlamaConfig.small(4096));
    assertEquals(new Divergence.ForwardKl(), plan.loss().divergence());
    assertEquals(new GqaRetrofit(2, KvInit.MEAN_POOL, 1234), plan.retrofit().change());
    assertEquals(new ScoreRequest.TopK(64, 1f), plan.loss().trainingRequest());
    assertEquals(WireDtype.BF16, plan.loss().valueDtype());
    assertEquals(4, plan.onpolicy().rows(), "25% of 16 rows");
    assertEquals(null, plan.data().corpus(), "brown");
    assertEquals(2, bound.target().numKeyValueHeads());
    assertArrayEquals(new double[] {1, 0.2, 0, 0}, bound.alphas().alphas(30), 1e-12);
  }

  @Test
  void quantRetrofit_keysMakeTheRetrofit_andImpossibleRequestsAreRefusedBeforeWork() {
    RunConfig quant = RunConfig.defaults().with("retrofit.type=quant");
    assertEquals(new QuantRetrofit(8, Granularity.PER_CHANNEL, 0, QuantRetrofit.PROJECTIONS),
        RunPlan.of(quant).retrofit().change());
    RunPlan grouped = RunPlan.of(quant.with("retrofit.bits=4").with("retrofit.granularity=per_group")
        .with("retrofit.group_size=16").with("retrofit.linears=q_proj, down_proj"));
    assertEquals(new QuantRetrofit(4, Granularity.PER_GROUP, 16, List.of("q_proj", "down_proj")),
        grouped.retrofit().change());
    assertEquals(LlamaConfig.small(4096), grouped.bind(LlamaConfig.small(4096)).target());
    String e = error(() -> RunPlan.of(quant.with("retrofit.bits=3")));
    assertTrue(e.contains("retrofit.bits (3) must be 8 or 4"), e);
    e = error(() -> RunPlan.of(quant.with("retrofit.granularity=per_tensor")));
    assertTrue(e.contains("retrofit.granularity 'per_tensor' is not known; use per_channel or per_group"), e);
    e = error(() -> RunPlan.of(quant.with("retrofit.granularity=per_group").with("retrofit.group_size=0")));
    assertTrue(e.contains("retrofit.group_size (0) must be >= 1 with granularity per_group"), e);
    e = error(() -> RunPlan.of(quant.with("retrofit.linears=q_proj,lm_head")));
    assertTrue(e.contains("linear 'lm_head' is not known"), e);
    e = error(() -> RunPlan.of(quant.with("retrofit.linears=")));
    assertTrue(e.contains("retrofit.linears must name at least one of"), e);
    // small: intermediate 688, not a multiple of 32 (down_proj's input width)
    RunPlan wide = RunPlan.of(quant.with("retrofit.granularity=per_group").with("retrofit.group_size=32"));
    e = error(() -> wide.bind(LlamaConfig.small(4096)));
    assertTrue(e.contains("group_size (32) does not divide the input width of down_proj (688)"), e);
    e = error(() -> RunPlan.of(RunConfig.defaults().with("retrofit.type=prune")));
    assertTrue(e.contains("retrofit.type 'prune' is not known; available: gqa, quant, window"), e);
  }

  @Test
  void vocabBudget_defaultIs256MiB_andZeroNegativeOrAbsurdAreRefused() {
    assertEquals(256L << 20, RunPlan.of(RunConfig.defaults()).vocabBudget().bytes());
    assertEquals(8L << 20, RunPlan.of(RunConfig.defaults().with("memory.vocab_budget_mb=8")).vocabBudget().bytes());
    for (String v : new String[] {"0", "-1", "1048577"}) {
      String e = error(() -> RunPlan.of(RunConfig.defaults().with("memory.vocab_budget_mb=" + v)));
      assertTrue(e.contains("memory.vocab_budget_mb (" + v + ") must be in [1, 1048576] MiB"), e);
    }
  }

  @Test
  void metricsPort_needsTheTrainersServer() {
    assertEquals(9466, RunPlan.of(RunConfig.defaults().with("server.metrics_port=9466")).metricsPort());
    RunConfig serverless = RunConfig.defaults().with("onpolicy.fraction=0").with("server.port=-1");
    assertEquals(-1, RunPlan.of(serverless).metricsPort());
    String e = error(() -> RunPlan.of(serverless.with("server.metrics_port=9466")));
    assertTrue(e.contains("server.metrics_port (9466) is served by the trainer's server: server.port must not be -1"),
        e);
  }

  @Test
  void file_thenOverrides_applyInOrder(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("run.yaml");
    Files.writeString(f, "train:\n  steps: 50\n  lr: 2.0e-3\nloss:\n  divergence: jsd:0.5\n"
        + "teacher:\n  endpoints: [a:1, b:2]\n");
    RunConfig c = RunConfig.load(f, List.of("train.steps=70", "retrofit.kv_heads=4",
        "retrofit.alpha_ramp_steps=10"));
    assertEquals(70, c.train().steps());
    assertEquals(2e-3, c.train().lr());
    assertEquals("jsd:0.5", c.loss().divergence());
    assertEquals(4, c.retrofit().kvHeads());
    assertEquals(List.of("a:1", "b:2"), c.teacher().endpoints());
    assertEquals(16, c.train().batchSize(), "untouched keys keep their defaults");
  }

  @Test
  void toYaml_roundTrips(@TempDir Path dir) throws Exception {
    RunConfig c = RunConfig.load(null, List.of("teacher.endpoints=h:1,k:2", "loss.k=16"));
    Path f = dir.resolve("c.yaml");
    Files.writeString(f, c.toYaml());
    assertEquals(c, RunConfig.load(f, List.of()));
  }

  @Test
  void resolvedEndpoints_flowThroughTeacherEndpointsAndSamplers() {
    RunPlan p = RunPlan.of(RunConfig.load(null, List.of(
        "teacher.endpoints=k8s:///teacher.graft:50051,dns:///teacher.graft.svc.cluster.local:50051",
        "onpolicy.samplers=k8s:///sampler.graft:50052", "loss.k=16")));
    assertEquals(List.of("k8s:///teacher.graft:50051", "dns:///teacher.graft.svc.cluster.local:50051"),
        p.teacher().endpoints().stream().map(Object::toString).toList());
    assertEquals("k8s:///sampler.graft:50052", p.onpolicy().samplers().get(0).toString());
  }

  @Test
  void unknownKeyInFile_namesItAndTheKnownKeys(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("run.yaml");
    Files.writeString(f, "train:\n  stepz: 5\n");
    String m = error(() -> RunConfig.load(f, List.of()));
    assertTrue(m.contains("unknown key 'train.stepz'") && m.contains("train.steps"), m);
    Files.writeString(f, "trian:\n  steps: 5\n");
    m = error(() -> RunConfig.load(f, List.of()));
    assertTrue(m.contains("unknown key 'trian'") && m.contains("train"), m);
  }

  @Test
  void unknownOrMalformedOverride_isAClearError() {
    assertTrue(error(() -> RunConfig.load(null, List.of("train.nope=1"))).contains("unknown key 'train.nope'"));
    assertTrue(error(() -> RunConfig.load(null, List.of("train"))).contains("section.key=value"));
    assertTrue(error(() -> RunConfig.load(null, List.of("train=5"))).contains("unknown key 'train'"));
  }

  @Test
  void wrongType_namesTheKey() {
    String m = error(() -> RunConfig.load(null, List.of("train.steps=many")));
    assertTrue(m.contains("train.steps"), m);
    m = error(() -> RunConfig.load(null, List.of("train.steps=1.5")));
    assertTrue(m.contains("train.steps"), m);
  }

  @Test
  void impossibleValues_areAllReportedTogether() {
    RunConfig c = RunConfig.load(null, List.of("train.batch_size=10", "train.micro_batch=4",
        "loss.divergence=kl", "loss.temperature=0", "retrofit.init=average", "loss.value_dtype=int8"));
    String m = error(() -> RunPlan.of(c));
    for (String part : List.of("batch_size (10)", "unknown divergence 'kl'", "temperature",
        "kv-head init 'average'", "value_dtype 'int8'")) {
      assertTrue(m.contains(part), "missing '" + part + "' in: " + m);
    }
  }

  @Test
  void alphaScheduleLongerThanTheRun_isRefused() {
    RunConfig c = RunConfig.load(null, List.of("train.steps=100", "retrofit.alpha_ramp_steps=150"));
    String m = error(() -> RunPlan.of(c));
    assertTrue(m.contains("longer than the run"), m);
    RunPlan.of(c.with("retrofit.graduality=false"));
    // after alignment stages end-to-end training runs at alpha 1 from its first step: no schedule to fit
    RunPlan aligned = RunPlan.of(c.with("align.mixer_tokens=1024"));
    assertTrue(aligned.align().enabled());
  }

  @Test
  void kvHeadsThatDoNotDivideTheQueryHeads_areRefusedAgainstTheTeacher() {
    RunConfig c = RunConfig.load(null, List.of("retrofit.kv_heads=3"));
    RunPlan plan = RunPlan.of(c);
    String m = error(() -> plan.bind(LlamaConfig.small(4096)));
    assertTrue(m.contains("kv_heads (3)"), m);
    String seq = error(() -> RunPlan.of(c.with("retrofit.kv_heads=2").with("data.seq_len=512"))
        .bind(LlamaConfig.small(4096)));
    assertTrue(seq.contains("max_position_embeddings"), seq);
  }

  @Test
  void windowRetrofit_readsItsKeys_andRefusesImpossibleRequestsBeforeWork() {
    RunConfig c = RunConfig.load(null, List.of("retrofit.type=window", "retrofit.window=16", "retrofit.sinks=2",
        "retrofit.layers=3,1"));
    RunPlan plan = RunPlan.of(c);
    assertEquals(new WindowRetrofit(16, 2, List.of(1, 3)), plan.retrofit().change());
    RunPlan.Bound bound = plan.bind(LlamaConfig.small(4096));
    assertEquals(2, bound.alphas().alphas(0).length, "one unit per windowed layer");
    assertEquals(new WindowRetrofit(64, 4, List.of()), RunPlan.of(c.with("retrofit.window=64")
        .with("retrofit.sinks=4").with("retrofit.layers=all")).retrofit().change());
    assertEquals("invalid run config:\n  - retrofit.window (0) must be >= 1\n  - retrofit.sinks (-1) must be >= 0",
        error(() -> RunPlan.of(c.with("retrofit.window=0").with("retrofit.sinks=-1"))));
    assertTrue(error(() -> RunPlan.of(c.with("retrofit.layers=first"))).contains(
        "window layers 'first' must be 'all' or a comma-separated list of layer indices"));
    assertEquals("invalid run config: window retrofit: layer 9 does not exist; the teacher has 4 layers (0..3)",
        error(() -> RunPlan.of(c.with("retrofit.layers=1,9")).bind(LlamaConfig.small(4096))));
    assertEquals("invalid run config: retrofit.window (128) must be smaller than data.seq_len (128): a window"
        + " covering every training sequence changes nothing",
        error(() -> RunPlan.of(c.with("retrofit.window=128")).bind(LlamaConfig.small(4096))));
    String tooWide = error(() -> RunPlan.of(c.with("retrofit.window=100000")).bind(LlamaConfig.small(4096)));
    assertTrue(tooWide.contains("window (100000) is larger than the teacher's context"), tooWide);
    assertTrue(error(() -> RunPlan.of(c.with("retrofit.type=windowed"))).contains("available: gqa, quant, window"));
  }

  @Test
  void hybridRetrofit_readsItsKeys_andRefusesImpossibleRequestsBeforeWork() {
    RunConfig c = RunConfig.load(null, List.of("retrofit.type=hybrid", "retrofit.attention_layers=every:2",
        "retrofit.state_size=16", "retrofit.chunk_size=32", "retrofit.freeze=[norms, mlp]"));
    RunPlan plan = RunPlan.of(c);
    assertEquals(new HybridRetrofit("every:2", 16, 32, List.of("mlp", "norms")), plan.retrofit().change());
    RunPlan.Bound bound = plan.bind(LlamaConfig.small(4096));
    assertEquals(2, bound.alphas().alphas(0).length, "one unit per converted layer (0 and 2 of 4)");
    assertEquals(new HybridRetrofit("every:2", 0, 64, List.of()), RunPlan.of(RunConfig.load(null,
        List.of("retrofit.type=hybrid"))).retrofit().change(), "the defaults");
    assertEquals("invalid run config:\n  - retrofit.chunk_size (0) must be >= 1\n  - retrofit.state_size (-2) must"
        + " be >= 1, or 0 for the teacher's head_dim",
        error(() -> RunPlan.of(c.with("retrofit.chunk_size=0").with("retrofit.state_size=-2"))));
    assertEquals("invalid run config: retrofit.freeze [mlp, heads] may name only [mlp, embeddings, norms], got"
        + " 'heads'", error(() -> RunPlan.of(c.with("retrofit.freeze=[mlp, heads]"))));
    assertEquals("invalid run config: hybrid retrofit: attention layer 4 does not exist; the teacher has 4 layers"
        + " (0..3)", error(() -> RunPlan.of(c.with("retrofit.attention_layers=1,4")).bind(LlamaConfig.small(4096))));
    assertEquals("invalid run config: hybrid retrofit: attention_layers '0,1,2,3' keeps all 4 layers as"
        + " attention; convert at least one",
        error(() -> RunPlan.of(c.with("retrofit.attention_layers=0,1,2,3")).bind(LlamaConfig.small(4096))));
    assertEquals("invalid run config: hybrid retrofit: state_size (64) must be at most the teacher's head_dim"
        + " (32): C and B are the first N rows of each head of W_Q and W_K",
        error(() -> RunPlan.of(c.with("retrofit.state_size=64")).bind(LlamaConfig.small(4096))));
    assertTrue(error(() -> RunPlan.of(c.with("retrofit.attention_layers=every:1"))).contains(
        "retrofit.attention_layers 'every:1' needs every:K with K >= 2"));
    assertTrue(!plan.fingerprint().equals(RunPlan.of(c.with("retrofit.state_size=8")).fingerprint()),
        "the state size is part of the run's fingerprint");
    assertEquals(RunPlan.of(c.with("retrofit.type=gqa")).fingerprint(),
        RunPlan.of(c.with("retrofit.type=gqa").with("retrofit.state_size=8")).fingerprint(),
        "a hybrid key does not change another type's fingerprint");
  }

  @Test
  void badEndpoint_isRefused() {
    String m = error(() -> RunPlan.of(RunConfig.load(null, List.of("teacher.endpoints=localhost"))));
    assertTrue(m.contains("host:port"), m);
  }

  @Test
  void alphaOrder_isCheckedOnceForSyntax_andAgainstTheTeachersUnits() {
    assertTrue(error(() -> RunPlan.of(RunConfig.load(null, List.of("retrofit.alpha_order=middle-out"))))
        .contains("alpha order 'middle-out' must be forward, reverse or a comma-separated list"));
    RunPlan plan = RunPlan.of(RunConfig.load(null, List.of("retrofit.alpha_order=0,1")));
    assertEquals("invalid run config: alpha order '0,1' lists 2 units but the retrofit has 4",
        error(() -> plan.bind(LlamaConfig.small(4096))));
    RunPlan reverse = RunPlan.of(RunConfig.load(null, List.of("retrofit.alpha_order=reverse")));
    assertArrayEquals(new double[] {0, 0, 0.2, 1}, reverse.bind(LlamaConfig.small(4096)).alphas().alphas(30), 1e-12);
  }

  @Test
  void align_keysAreValidated_andBothDataSourcesParse() {
    RunConfig c = RunConfig.defaults();
    RunPlan p = RunPlan.of(c);
    assertEquals(new RunPlan.Align(0, 0, 1e-3, 8, RunPlan.AlignData.CORPUS), p.align());
    assertTrue(!p.align().enabled());
    RunPlan on = RunPlan.of(c.with("align.mixer_tokens=1000").with("align.block_tokens=2048"));
    assertTrue(on.align().enabled());
    assertEquals(1, on.align().steps(1000, 128), "8 rows x 128 positions per step");
    assertEquals(2, on.align().steps(2048, 128));
    assertEquals(3, on.align().steps(2049, 128));
    String e = error(() -> RunPlan.of(c.with("align.mixer_tokens=-1").with("align.lr=0").with("align.batch_size=0")));
    assertTrue(e.contains("align.mixer_tokens (-1) and align.block_tokens (0) must be >= 0 (0 skips the stage)"), e);
    assertTrue(e.contains("align.lr (0.0) must be finite and > 0"), e);
    assertTrue(e.contains("align.batch_size (0) must be > 0"), e);
    assertEquals(RunPlan.AlignData.SEQKD, RunPlan.of(c.with("align.data=seqkd")).align().data());
    e = error(() -> RunPlan.of(c.with("align.data=wiki")));
    assertTrue(e.contains("align.data 'wiki' must be corpus (the run's training sequences) or seqkd (the teacher's"
        + " continuations of corpus prompts)"), e);
    e = error(() -> RunConfig.defaults().with("align.mixer_tokens=lots"));
    assertTrue(e.contains("run config key 'align.mixer_tokens' has a value of the wrong type"), e);
  }

  @Test
  void alignSeqkd_needsTeacherSamplers_validGenerationKeys_andFingerprintsThem() {
    RunConfig c = RunConfig.defaults().with("seqkd.fraction=0").with("onpolicy.fraction=0");
    RunPlan corpus = RunPlan.of(c.with("align.mixer_tokens=4096"));
    RunPlan seqkd = RunPlan.of(c.with("align.mixer_tokens=4096").with("align.data=seqkd"));
    assertTrue(!corpus.needsTeacherSamplers());
    assertTrue(seqkd.needsTeacherSamplers(), "the stages' rows come from teacher-serving samplers");
    assertEquals("align.data seqkd", seqkd.teacherSamplersReason());
    assertTrue(!RunPlan.of(c.with("align.data=seqkd")).needsTeacherSamplers(), "no stage runs: nothing generated");
    assertTrue(!corpus.fingerprint().equals(seqkd.fingerprint()), "the data source is fingerprinted");
    assertTrue(!seqkd.fingerprint().equals(seqkd.with("seqkd.temperature=0").fingerprint()),
        "so are the generation keys when a stage generates");
    assertTrue(!seqkd.fingerprint().equals(seqkd.with("seqkd.max_new_tokens=16").fingerprint()));
    assertEquals(corpus.fingerprint(), corpus.with("seqkd.temperature=0").fingerprint(),
        "but not while nothing generates");
    String e = error(() -> RunPlan.of(c.with("align.mixer_tokens=4096").with("align.data=seqkd")
        .with("seqkd.prompt_tokens=100").with("seqkd.max_new_tokens=64")));
    assertTrue(e.contains("seqkd.prompt_tokens + max_new_tokens - 1 (163) must fit in data.seq_len (128)"
        + " (align.data is seqkd)"), e);
    RunPlan.of(c.with("seqkd.prompt_tokens=100").with("seqkd.max_new_tokens=64")); // nothing generates: fine
    e = error(() -> RunPlan.of(c.with("align.mixer_tokens=4096").with("align.data=seqkd")
        .with("seqkd.temperature=-1").with("seqkd.prompt_tokens=0")));
    assertTrue(e.contains("seqkd.temperature (-1.0) must be finite and >= 0"), e);
    assertTrue(e.contains("seqkd.prompt_tokens (0) and seqkd.max_new_tokens (64) must be >= 1"), e);
  }

  @Test
  void align_staysOutOfTheFingerprintWhileOff_andStage3StartsAtAlphaOneWhenOn() {
    RunPlan off = RunPlan.of(RunConfig.defaults());
    assertEquals(off.fingerprint(), off.with("align.lr=5e-3").with("align.batch_size=3").fingerprint());
    RunPlan on = off.with("align.mixer_tokens=4096");
    assertTrue(!off.fingerprint().equals(on.fingerprint()));
    assertTrue(!on.fingerprint().equals(on.with("align.lr=5e-3").fingerprint()));
    assertArrayEquals(new double[] {1, 0.2, 0, 0}, off.bind(LlamaConfig.small(4096)).alphas().alphas(30), 1e-12);
    assertArrayEquals(new double[] {1, 1, 1, 1}, on.bind(LlamaConfig.small(4096)).alphas().alphas(1), 1e-12);
  }

  @Test
  void fingerprint_followsTheOptimisationSections_only() {
    RunPlan a = RunPlan.of(RunConfig.defaults());
    assertEquals(a.fingerprint(), RunPlan.of(RunConfig.load(null, List.of("eval.every=7"))).fingerprint());
    assertTrue(!a.fingerprint().equals(a.with("train.lr=2e-3").fingerprint()));
    assertTrue(!a.fingerprint().equals(a.with("onpolicy.max_policy_lag=30").fingerprint()));
  }

  @Test
  void fingerprint_ofARetrofitType_ignoresTheKeysOfOtherTypes() {
    RunPlan gqa = RunPlan.of(RunConfig.defaults());
    // another type's keys leave a gqa run's fingerprint (and so its resumable checkpoints) alone
    assertEquals(gqa.fingerprint(), gqa.with("retrofit.window=17").with("retrofit.bits=4").fingerprint());
    RunPlan window = gqa.with("retrofit.type=window");
    assertTrue(!window.fingerprint().equals(gqa.fingerprint()));
    assertTrue(!window.fingerprint().equals(window.with("retrofit.window=17").fingerprint()));
    assertEquals(window.fingerprint(), window.with("retrofit.bits=4").fingerprint());
    RunPlan quant = gqa.with("retrofit.type=quant");
    assertTrue(!quant.fingerprint().equals(quant.with("retrofit.bits=4").fingerprint()));
    assertEquals(quant.fingerprint(), quant.with("retrofit.sinks=0").fingerprint());
  }

  @Test
  void seqkd_isOffByDefault_andItsKeysMakeThePlan() {
    RunPlan off = RunPlan.of(RunConfig.defaults());
    assertTrue(!off.seqkd().enabled());
    assertEquals(1.0, off.source().seqkd().ceWeight());
    assertEquals(0.0, off.source().seqkd().klWeight());
    RunPlan on = off.with("seqkd.fraction=0.5").with("onpolicy.fraction=0").with("seqkd.samplers=localhost:7000")
        .with("seqkd.kl_weight=0.5").with("seqkd.temperature=0");
    assertEquals(8, on.seqkd().rows(), "50% of 16 rows");
    assertEquals("localhost:7000", on.seqkd().samplers().get(0).toString());
    assertEquals(0.5, on.seqkd().klWeight());
    assertEquals(0f, on.seqkd().temperature());
    assertTrue(on.source().toYaml().contains("seqkd:"), "graft config shows the section");
  }

  @Test
  void seqkd_impossibleValues_areRefusedWithClearMessages() {
    RunPlan p = RunPlan.of(RunConfig.defaults());
    String e = error(() -> p.with("seqkd.fraction=1.5"));
    assertTrue(e.contains("seqkd.fraction (1.5) must be in [0, 1]"), e);
    e = error(() -> p.with("seqkd.fraction=0.5").with("onpolicy.fraction=0.75"));
    assertTrue(e.contains("seqkd.fraction (0.5) and onpolicy.fraction give 8 + 12 rows, more than"
        + " train.batch_size (16)"), e);
    e = error(() -> p.with("seqkd.fraction=0.01"));
    assertTrue(e.contains("seqkd.fraction (0.01) of train.batch_size (16) rounds to no row"), e);
    e = error(() -> p.with("seqkd.fraction=0.25").with("seqkd.max_new_tokens=100"));
    assertTrue(e.contains("seqkd.prompt_tokens + max_new_tokens - 1 (131) must fit in data.seq_len (128)"), e);
    e = error(() -> p.with("seqkd.fraction=0.25").with("seqkd.ce_weight=0"));
    assertTrue(e.contains("seqkd.ce_weight and seqkd.kl_weight are both 0"), e);
    e = error(() -> p.with("seqkd.kl_weight=-1"));
    assertTrue(e.contains("seqkd.ce_weight (1.0) and seqkd.kl_weight (-1.0) must be finite and >= 0"), e);
    e = error(() -> p.with("seqkd.kl_weight=1").with("loss.divergence=ce"));
    assertTrue(e.contains("seqkd.kl_weight (1.0) needs loss.divergence to use the teacher, not ce"), e);
    e = error(() -> p.with("seqkd.top_p=0"));
    assertTrue(e.contains("seqkd.top_p (0.0) in (0, 1]"), e);
    e = error(() -> p.with("seqkd.prefetch_steps=0"));
    assertTrue(e.contains("seqkd.prefetch_steps (0) must be >= 1"), e);
    e = error(() -> p.with("seqkd.samplers=no-port"));
    assertTrue(e.contains("no-port"), e);
  }

  @Test
  void fingerprint_takesSeqkdOnlyWhenOn_soEarlierRunsStillResume() {
    RunPlan off = RunPlan.of(RunConfig.defaults());
    assertEquals(off.fingerprint(), off.with("seqkd.max_new_tokens=9").with("seqkd.kl_weight=3").fingerprint());
    RunPlan on = off.with("seqkd.fraction=0.25");
    assertTrue(!on.fingerprint().equals(off.fingerprint()));
    assertTrue(!on.fingerprint().equals(on.with("seqkd.kl_weight=1").fingerprint()));
    assertEquals(on.fingerprint(), on.with("seqkd.prefetch_steps=9").with("seqkd.patience_seconds=5").fingerprint(),
        "how rows are fetched does not change what is trained");
  }
}
