package dev.graft.trainer.distill;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark, not a test: the trainer's step time with a given teacher (in-process or behind
 * gRPC) on the same config, shapes and data. Each measurement is a fresh short run; the first
 * {@code warmup} steps are not timed.
 */
public final class DistillBench {

  /**
   * @param stepSeconds mean wall seconds per timed step
   * @param teacherWaitSeconds mean seconds per timed step the trainer waited for the teacher
   * @param tokensPerSecond training tokens per second over the timed steps
   */
  public record Result(String teacher, int timedSteps, double stepSeconds, double teacherWaitSeconds,
      double tokensPerSecond) {
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("teacher", teacher);
      m.put("timed_steps", timedSteps);
      m.put("step_seconds", stepSeconds);
      m.put("teacher_wait_seconds_per_step", teacherWaitSeconds);
      m.put("train_tokens_per_second", tokensPerSecond);
      return m;
    }
  }

  private DistillBench() {}

  /**
   * Runs {@code cfg} (its steps = warm-up + timed) against {@code teacher} and {@code exact} in a
   * scratch directory, timing steps from the listener's clock.
   */
  public static Result run(String name, RunPlan plan, Path teacherDir, TeacherScorer teacher,
      TeacherScorer exact, List<Document> corpus, int warmup) throws IOException {
    if (warmup < 0 || warmup >= plan.train().steps()) {
      throw new IllegalArgumentException("warm-up steps (" + warmup + ") must be in [0, train.steps ("
          + plan.train().steps() + "))");
    }
    Path scratch = Files.createTempDirectory("graft-distill-bench");
    List<long[]> marks = new ArrayList<>(); // {nanos at step end, step, wait nanos}
    DistillListener timer = new DistillListener() {
      @Override
      public void onStep(StepStats s) {
        marks.add(new long[] {System.nanoTime(), s.step(), (long) (s.teacherWaitSeconds() * 1e9)});
      }
    };
    RunPlan p = plan.with("eval.every=0").with("checkpoint.every=0").with("output=" + scratch);
    RunPlan.Bound bound = p.bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
    try (NDManager m = NDManager.newBaseManager()) {
      new DistillJob(bound, teacherDir, scratch.resolve("run"), scratch.resolve("student"))
          .run(Peers.offPolicy(teacher), exact, corpus, m, timer, new PrintStream(OutputStream.nullOutputStream()));
    } finally {
      RunCheckpoints.deleteTree(scratch);
    }
    long[] first = marks.get(warmup == 0 ? 0 : warmup - 1);
    long[] last = marks.get(marks.size() - 1);
    int timed = (int) (last[1] - first[1]);
    double seconds = (last[0] - first[0]) / 1e9;
    long tokens = (long) timed * p.train().batchSize() * p.data().seqLen();
    return new Result(name, timed, seconds / timed, (last[2] - first[2]) / 1e9 / timed, tokens / seconds);
  }

}
