package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.sampler.ModelMismatchException;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import dev.graft.service.Backoff;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Teacher rows: prompt + the teacher's continuation, the mask on the continuation, seeds per step. */
class TeacherContinuationsTest {

  private static final int EOS = 2;
  private static final String TEACHER = "teacher-fingerprint";

  /** A teacher-serving sampler that continues every prompt with 90, 91, EOS and records each call. */
  private static final class Teacher implements RolloutSource {
    final List<SamplingParams> params = Collections.synchronizedList(new ArrayList<>());
    final List<String> models = Collections.synchronizedList(new ArrayList<>());
    final String serves;

    Teacher(String serves) {
      this.serves = serves;
    }

    @Override
    public SamplerInfo info() {
      return new SamplerInfo(100, 64, 0, 0, serves);
    }

    @Override
    public List<Rollout> generate(List<int[]> prompts, SamplingParams p) {
      throw new AssertionError("teacher rows must name the teacher's model");
    }

    @Override
    public List<Rollout> generate(List<int[]> prompts, SamplingParams p, String model) {
      params.add(p);
      models.add(model);
      if (!model.equals(serves)) {
        throw ModelMismatchException.of(model, serves);
      }
      List<Rollout> out = new ArrayList<>();
      for (int[] prompt : prompts) {
        out.add(new Rollout(prompt, new int[] {90, 91, EOS}, new float[3], 0, Rollout.Finish.STOP_TOKEN));
      }
      return out;
    }

    @Override
    public void close() {}
  }

  private static RunPlan.SeqKd cfg() {
    return RunPlan.of(RunConfig.load(null, List.of("seqkd.fraction=0.5", "onpolicy.fraction=0",
        "train.batch_size=4", "train.micro_batch=4", "data.seq_len=8", "seqkd.prompt_tokens=3",
        "seqkd.max_new_tokens=4", "seqkd.prefetch_steps=2", "seqkd.temperature=0.7"))).seqkd();
  }

  private static TeacherContinuations source(RolloutSource teacher) {
    return source(teacher, Long.MAX_VALUE);
  }

  private static TeacherContinuations source(RolloutSource teacher, long lastStep) {
    DocumentPrompts prompts = new DocumentPrompts(1, 3, 7);
    var encoder = prompts.capturing(text -> text.equals("a") ? new int[] {50, 51, 52} : new int[] {60, 61});
    encoder.encode("a");
    encoder.encode("b");
    Patience patience = new Patience("teacher samplers", Duration.ofSeconds(5),
        new Backoff(Duration.ofMillis(1), Duration.ofMillis(2)), Backoff.Sleeper.SYSTEM, System::nanoTime,
        new DistillListener() {}, SamplerUnavailableException.class);
    return new TeacherContinuations(cfg(), teacher, TEACHER, prompts, 8, 0, new int[] {EOS}, patience, 1234,
        lastStep, System::nanoTime);
  }

  @Test
  void rows_arePromptPlusTheTeachersContinuation_withTheMaskOnTheContinuationOnly() {
    Teacher teacher = new Teacher(TEACHER);
    try (TeacherContinuations source = source(teacher)) {
      Batch b = source.rows(1);
      assertEquals(2, b.batchSize());
      assertEquals(8, b.seqLen());
      for (int r = 0; r < 2; r++) {
        int[] in = java.util.Arrays.copyOfRange(b.inputs().ids(), r * 8, r * 8 + 8);
        int[] tg = java.util.Arrays.copyOfRange(b.targets().ids(), r * 8, r * 8 + 8);
        float[] mask = java.util.Arrays.copyOfRange(b.mask(), r * 8, r * 8 + 8);
        int d = in[1];
        assertTrue(d == 50 || d == 60, "a document's beginning: " + java.util.Arrays.toString(in));
        assertArrayEquals(new int[] {1, d, d + 1, 90, 91, 0, 0, 0}, in);
        assertArrayEquals(new int[] {d, d + 1, 90, 91, EOS, 0, 0, 0}, tg);
        // position 2 predicts the first continuation token; 4 predicts EOS; nothing after it trains
        assertArrayEquals(new float[] {0, 0, 1, 1, 1, 0, 0, 0}, mask);
      }
      assertEquals(2, source.rowsServed());
      assertEquals(6, source.tokensServed());
      assertEquals(TEACHER, teacher.models.get(0), "every request names the teacher's model");
      SamplingParams p = teacher.params.get(0);
      assertEquals(0.7f, p.temperature());
      assertEquals(4, p.maxNewTokens());
      assertArrayEquals(new int[] {EOS}, p.stopTokens());
    }
  }

  @Test
  void alignmentRows_arePromptPlusContinuationWithItsEos_maskedAfterIt_andSaltedAwayFromStage3s() {
    Teacher stage3 = new Teacher(TEACHER);
    Teacher stage1 = new Teacher(TEACHER);
    DocumentPrompts prompts = new DocumentPrompts(1, 3, 7);
    var encoder = prompts.capturing(text -> text.equals("a") ? new int[] {50, 51, 52} : new int[] {60, 61});
    encoder.encode("a");
    encoder.encode("b");
    Patience patience = new Patience("teacher samplers", Duration.ofSeconds(5),
        new Backoff(Duration.ofMillis(1), Duration.ofMillis(2)), Backoff.Sleeper.SYSTEM, System::nanoTime,
        new DistillListener() {}, SamplerUnavailableException.class);
    // seqkd.fraction 0: the generation keys alone serve an alignment stage (align.data: seqkd)
    RunPlan.SeqKd off = RunPlan.of(RunConfig.load(null, List.of("data.seq_len=8", "onpolicy.fraction=0",
        "seqkd.prompt_tokens=3", "seqkd.max_new_tokens=4", "seqkd.temperature=0.7"))).seqkd();
    TeacherContinuations.Sequences s;
    try (TeacherContinuations align = new TeacherContinuations(off, 3, 0xA11CL, stage1, TEACHER,
            prompts.salted(0xA11CL), 8, 0, new int[] {EOS}, patience, 1234, 5, System::nanoTime);
        TeacherContinuations end = source(stage3)) {
      s = align.sequences(1);
      end.rows(1);
      assertEquals(3, align.rowsServed());
      assertEquals(9, align.tokensServed(), "three continuation tokens per row, EOS included");
    }
    assertEquals(3, s.tokens().batch());
    assertEquals(9, s.continuationTokens());
    assertEquals(18, s.positions(), "prompt and continuation count; padding does not");
    for (int r = 0; r < 3; r++) {
      int[] in = java.util.Arrays.copyOfRange(s.tokens().ids(), r * 8, r * 8 + 8);
      int d = in[1];
      assertArrayEquals(new int[] {1, d, d + 1, 90, 91, EOS, 0, 0}, in);
      assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 0, 0}, java.util.Arrays.copyOfRange(s.mask(), r * 8, r * 8 + 8));
    }
    assertNotEquals(stage3.params.get(0).seed(), stage1.params.get(0).seed(), "a stage's own sampling seeds");
  }

  @Test
  void seeds_areAFunctionOfTheRunsSeedAndTheStep_soAResumedRunAsksForTheSameRows() {
    Teacher first = new Teacher(TEACHER);
    Teacher resumed = new Teacher(TEACHER);
    Batch a;
    Batch b;
    try (TeacherContinuations s1 = source(first); TeacherContinuations s2 = source(resumed)) {
      s1.rows(1);
      a = s1.rows(2);
      b = s2.rows(2); // a run resumed at step 2 starts there
    }
    long seedOfStep2 = first.params.stream().mapToLong(SamplingParams::seed).skip(1).findFirst().orElseThrow();
    assertEquals(seedOfStep2, resumed.params.get(0).seed());
    assertNotEquals(first.params.get(0).seed(), seedOfStep2);
    assertArrayEquals(a.inputs().ids(), b.inputs().ids());
  }

  @Test
  void theLastStep_generatesNothingAheadOfIt() {
    Teacher teacher = new Teacher(TEACHER);
    try (TeacherContinuations source = source(teacher, 3)) {
      source.rows(1); // generates steps 1 and 2 (prefetch_steps 2)
      source.rows(2); // and 3
      source.rows(3); // nothing after the last step
    }
    assertEquals(3, teacher.params.size(), "one request per step 1..3, none for step 4");
  }

  @Test
  void aSamplerServingAnotherModel_stopsTheRun_withoutRetrying() {
    Teacher student = new Teacher("");
    try (TeacherContinuations source = source(student)) {
      ModelMismatchException e = assertThrows(ModelMismatchException.class, () -> source.rows(1));
      assertTrue(e.getMessage().contains("follows a trainer's policy versions"), e.getMessage());
      assertEquals(TEACHER, student.models.get(0));
    }
  }

  @Test
  void beforeTraining_samplersThatDoNotServeTheTeacher_areRefused_namingBothModels() {
    RunPlan plan = RunPlan.of(RunConfig.load(null, List.of("seqkd.fraction=0.5", "onpolicy.fraction=0",
        "train.batch_size=4", "train.micro_batch=4", "data.seq_len=8", "seqkd.prompt_tokens=3",
        "seqkd.max_new_tokens=4", "retrofit.kv_heads=1")));
    DistillJob job = new DistillJob(plan.bind(dev.graft.model.LlamaConfig.tiny(100)), java.nio.file.Path.of("t"),
        java.nio.file.Path.of("r"), java.nio.file.Path.of("o"));
    String e = assertThrows(IllegalArgumentException.class, () -> job.teacherContinuations(new Teacher("other"),
        new DocumentPrompts(1, 3, 7), EOS, new int[0], TEACHER, new DistillListener() {}, 2, 0, 10)).getMessage();
    assertEquals("seqkd.samplers do not serve the teacher: they serve model other but the teacher-service serves"
        + " model teacher-fingerprint; start them with `graft sampler --model <the teacher's checkpoint>`", e);
    e = assertThrows(IllegalArgumentException.class, () -> job.teacherContinuations(new Teacher(""),
        new DocumentPrompts(1, 3, 7), EOS, new int[0], TEACHER, new DistillListener() {}, 2, 0, 10)).getMessage();
    assertTrue(e.contains("they follow a trainer's policy versions"), e);
    job.teacherContinuations(new Teacher(TEACHER), new DocumentPrompts(1, 3, 7), EOS, new int[0], TEACHER,
        new DistillListener() {}, 2, 0, 10).close();
  }
}
