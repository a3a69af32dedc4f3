package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.sampler.FakeRolloutSource;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.trainer.plan.RunPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tiny distillation runs of a sliding-window student, off- and on-policy. */
class WindowDistillTest {

  private static final String[] WINDOW = {"retrofit.type=window", "retrofit.window=8", "retrofit.sinks=2",
      "retrofit.layers=all", "train.steps=4"};

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
    List<String> set = new ArrayList<>(List.of(WINDOW));
    set.addAll(List.of(more));
    return TinyTeacher.plan(set.toArray(String[]::new));
  }

  private static void assertWindowReport(DistillReport r, LlamaConfig teacherConfig) {
    assertEquals(0.0, r.exactnessMaxDiff(), "a window at alpha = 0 is the teacher's causal attention, exactly");
    assertTrue(r.before().overall().meanKl() > 1e-4, "an 8-token window over 64 changes the logits: KL "
        + r.before().overall().meanKl());
    assertTrue(Double.isFinite(r.after().overall().meanKl()));
    long perTokenLayer = teacherConfig.kvCacheBytesPerToken(4) / teacherConfig.numHiddenLayers();
    assertEquals(perTokenLayer * teacherConfig.numHiddenLayers() * 10,
        r.studentKvCacheBytesPerSequence().get(2048L), "every layer keeps 8 + 2 positions");
    assertEquals(r.studentKvCacheBytesPerSequence().get(2048L), r.studentKvCacheBytesPerSequence().get(32768L));
    assertEquals(perTokenLayer * teacherConfig.numHiddenLayers() * 10,
        r.toJson().at("/architecture/kv_cache_bytes_per_sequence/32768/student").asLong());
    assertEquals(teacherConfig.kvCacheBytesPerToken(4) * 32768,
        r.toJson().at("/architecture/kv_cache_bytes_per_sequence/32768/teacher").asLong());
  }

  @Test
  void offPolicyRun_completes_exactAtAlphaZero_withABoundedCache(@TempDir Path dir) throws Exception {
    RunPlan.Bound plan = plan();
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    DistillReport r;
    try (NDManager m = NDManager.newBaseManager()) {
      r = job.run(teacher, TinyTeacher.CORPUS, m, new DistillListener() {}, TinyTeacher.quiet());
    }
    assertWindowReport(r, plan.teacher());
    assertTrue(r.retrofit().contains("sliding window 8 + 2 sinks"), r.retrofit());
    assertEquals(plan.teacher(), LlamaConfig.read(dir.resolve("student/config.json")),
        "the window changes the mask, not the weights' layout");
  }

  @Test
  void onPolicyRun_completes(@TempDir Path dir) throws Exception {
    RunPlan.Bound plan = plan("onpolicy.fraction=0.25", "onpolicy.prompt_tokens=8", "onpolicy.max_new_tokens=16",
        "onpolicy.publish_every=2", "server.port=0");
    DistillJob job = new DistillJob(plan, TinyTeacher.dir(), dir.resolve("run"), dir.resolve("student"));
    FakeRolloutSource samplers = new FakeRolloutSource(teacher.info().vocabSize(), 64, 5);
    List<Long> published = new ArrayList<>();
    WeightPublisher sink = new WeightPublisher();
    sink.watch(u -> {
      published.add(u.version());
      samplers.setPolicy(u.epoch(), u.version());
    });
    DistillReport r;
    try (NDManager m = NDManager.newBaseManager()) {
      r = job.run(new Peers(teacher, samplers, sink), teacher, TinyTeacher.CORPUS, m, new DistillListener() {},
          TinyTeacher.quiet());
    }
    assertEquals(4, samplers.calls(), "every step had on-policy rows");
    assertEquals(List.of(0L, 2L), published);
    assertWindowReport(r, plan.teacher());
  }
}
