package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.ShardedReader;
import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.HybridExport;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.server.PolicyHolder;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.sync.subscribe.WeightSubscriber;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.server.RunStatus;
import dev.graft.trainer.server.TrainerServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tiny distillation runs of an attention / gated-linear-attention hybrid, off- and on-policy. */
class HybridDistillTest {

  private static final String[] HYBRID = {"retrofit.type=hybrid", "retrofit.attention_layers=1",
      "retrofit.state_size=8", "retrofit.chunk_size=16", "train.steps=4"};

  private static LocalTeacher teacher;

  @BeforeAll
  static void loadTeacher() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
  }

  @AfterAll
  static void closeTeacher() {
    teacher.close();
  }

  private static RunPlan.Bound plan(String... more) throws Exception {
    List<String> set = new ArrayList<>(List.of(HYBRID));
    set.addAll(List.of(more));
    return TinyTeacher.plan(set.toArray(String[]::new));
  }

  /** Exact at α = 0, a real gap at α = 1, and the sizes of a student with one recurrent layer of two. */
  private static void assertHybridReport(DistillReport r, LlamaConfig t) {
    assertEquals(0.0, r.exactnessMaxDiff(), "a hybrid at alpha = 0 runs the teacher's attention, exactly");
    assertTrue(r.before().overall().meanKl() > 1e-3, "linear attention changes the logits: KL "
        + r.before().overall().meanKl());
    assertTrue(Double.isFinite(r.after().overall().meanKl()));
    HybridRetrofit h = new HybridRetrofit("1", 8, 16, List.of());
    long attentionPerToken = t.kvCacheBytesPerToken(4) / 2; // layer 1 keeps attention
    long state = (long) t.numAttentionHeads() * (9 * t.headDim() + 1) * 4; // layer 0: H x ((N+1) x hd + 1) fp32
    assertEquals(attentionPerToken, r.studentKvCacheBytesPerToken());
    assertEquals(attentionPerToken * 2048 + state, r.studentKvCacheBytesPerSequence().get(2048L));
    assertEquals(attentionPerToken * 32768 + state,
        r.toJson().at("/architecture/kv_cache_bytes_per_sequence/32768/student").asLong());
    assertEquals(t.kvCacheBytesPerToken(4) * 32768,
        r.toJson().at("/architecture/kv_cache_bytes_per_sequence/32768/teacher").asLong());
    assertEquals(h.parameterCount(t), r.toJson().at("/architecture/student_parameters").asLong());
    assertTrue(h.parameterCount(t) != t.parameterCount());
  }

  @Test
  void offPolicyRun_completes_frozenPartsStayTheTeachers_andExportsTheHybrid(@TempDir Path dir) throws Exception {
    RunPlan.Bound plan = plan("retrofit.freeze=[mlp, norms]");
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    DistillReport r;
    try (NDManager m = NDManager.newBaseManager()) {
      r = job.run(teacher, TinyTeacher.CORPUS, m, new DistillListener() {}, TinyTeacher.quiet());
    }
    assertHybridReport(r, plan.teacher());
    assertTrue(r.retrofit().contains("gated linear attention (N 8, head_dim 16) in layers [0], attention kept in [1]"), r.retrofit());
    Path student = dir.resolve("student");
    JsonNode desc = new ObjectMapper().readTree(student.resolve(HybridExport.DESCRIPTION_FILE).toFile());
    assertEquals("[0]", desc.get("gated_linear_attention_layers").toString());
    assertEquals("[1]", desc.get("attention_layers").toString());
    assertEquals(8, desc.get("state_size").asInt());
    assertEquals(plan.teacher(), LlamaConfig.read(student.resolve(HfCheckpoint.CONFIG_FILE)));
    try (ShardedReader out = ShardedReader.open(student); ShardedReader base = ShardedReader.open(TinyTeacher.dir())) {
      assertEquals(List.of(4L, 64L), out.shapes().get("model.layers.0.self_attn.a_proj.weight"));
      assertEquals(List.of(32L, 64L), out.shapes().get("model.layers.0.self_attn.q_proj.weight"), "H x N rows");
      for (String frozen : List.of("model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight",
          "model.layers.0.input_layernorm.weight", "model.norm.weight")) {
        assertArrayEquals(base.readFloats(frozen), out.readFloats(frozen), frozen + " is frozen: the teacher's, bit for bit");
      }
      assertFalse(java.util.Arrays.equals(base.readFloats("model.embed_tokens.weight"),
          out.readFloats("model.embed_tokens.weight")), "the embedding is not frozen here and trains");
    }
  }

  /** The loss of every step; throws at step {@code failAt} (a kill). */
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

  private static void run(Path dir, DistillListener listener) throws Exception {
    RunPlan.Bound plan = plan("retrofit.freeze=[mlp]", "train.steps=6", "checkpoint.every=3");
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    try (NDManager m = NDManager.newBaseManager()) {
      job.run(teacher, TinyTeacher.CORPUS, m, listener, TinyTeacher.quiet());
    }
  }

  @Test
  void resume_afterKill_continuesExactly_fromACheckpointOfTheHybridsOwnParameters(@TempDir Path dir)
      throws Exception {
    Losses whole = new Losses(-1);
    run(dir.resolve("a"), whole);
    Losses first = new Losses(5);
    assertThrows(IllegalStateException.class, () -> run(dir.resolve("b"), first));
    try (ShardedReader saved = ShardedReader.open(dir.resolve("b/run/checkpoints/step-0000003"))) {
      assertTrue(saved.contains("model.layers.0.self_attn.a_proj.weight"), "the new parameters are checkpointed");
      assertFalse(saved.contains("model.layers.0.mlp.up_proj.weight"), "frozen parts are rebuilt from the teacher");
    }
    Losses second = new Losses(-1);
    run(dir.resolve("b"), second);
    assertEquals(6, whole.byStep.size());
    assertEquals(whole.byStep.subList(0, 4), first.byStep);
    assertEquals(whole.byStep.subList(3, 6), second.byStep, "resumed from step 3: steps 4..6 as uninterrupted");
  }

  @Test
  void onPolicyRun_withARealSamplerService_completes(@TempDir Path dir) throws Exception {
    RunPlan.Bound plan = plan("onpolicy.fraction=0.25", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=16",
        "onpolicy.publish_every=2", "server.port=0");
    WeightPublisher weights = new WeightPublisher();
    List<Long> installed = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (TrainerServer trainer = TrainerServer.start(0, new RunStatus("hybrid"), weights);
        PolicyHolder holder = new PolicyHolder()) {
      holder.addListener(new PolicyHolder.Listener() {
        @Override
        public void installed(long epoch, long version) {
          installed.add(version);
        }
      });
      try (SamplerServer server = SamplerServer.builder().policies(holder).port(0).slots(4)
              .shutdownGrace(Duration.ofMillis(100)).build().start();
          WeightSubscriber sub = WeightSubscriber.builder().endpoint("localhost:" + trainer.port()).installer(holder)
              .build();
          SamplerClient samplers = SamplerClient.connect(List.of("localhost:" + server.port()))) {
        sub.start();
        DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
        DistillReport r;
        try (NDManager m = NDManager.newBaseManager()) {
          r = job.run(new Peers(teacher, samplers, weights), teacher, TinyTeacher.CORPUS, m, new DistillListener() {},
              TinyTeacher.quiet());
        }
        assertHybridReport(r, plan.teacher());
        assertTrue(r.outcome().generatedTokens() > 0, "the sampler generated from the hybrid student");
        assertTrue(installed.contains(0L), "the sampler installed the hybrid policy: " + installed);
      }
    }
  }
}
