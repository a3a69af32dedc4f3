package dev.graft.cli;

import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.cli.ExperimentArms.Arm;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.teacher.TeacherScorer;
import dev.graft.trainer.Home;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.distill.TargetStoreJob;
import dev.graft.trainer.distill.TrainingData;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The target store of {@code graft experiment}: every training sequence any arm and seed with corpus
 * rows will draw, scored once before the first arm, so the arms read their corpus rows' targets
 * instead of asking the teacher again (the arms share the teacher, data, k, temperature and dtype;
 * they differ in retrofit, divergence, on-policy share and seed, none of which the targets depend on).
 */
final class ExperimentStore {

  private ExperimentStore() {}

  /** Whether an arm's run reads the store: a teacher loss on top-k targets, with corpus rows. */
  static boolean reads(RunConfig arm) {
    RunPlan p = RunPlan.of(arm);
    return p.loss().divergence().usesTeacher() && p.loss().targets() == RunPlan.TargetMode.TOP_K
        && p.onpolicy().rows() < p.train().batchSize();
  }

  /** Scores (or reuses) the store in {@code dir}; returns {@code dir}, or null when no arm reads it. */
  static Path score(Home home, Path base, RunConfig common, List<Arm> arms, long budget, int seeds, Path dir,
      ComputeDevice device) throws IOException {
    List<RunPlan> runs = new ArrayList<>();
    for (int seed = 0; seed < seeds; seed++) {
      for (Arm a : arms) {
        RunConfig cfg = ExperimentArms.sized(common, a, budget, seed, dir.toString());
        if (reads(cfg)) {
          runs.add(RunPlan.of(cfg));
        }
      }
    }
    if (runs.isEmpty()) {
      return null;
    }
    RunPlan first = runs.get(0);
    Path teacherDir = first.teacher().model() != null ? first.teacher().model() : base;
    RunPlan.Bound bound = first.bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
    TargetStoreJob.Selection union = TargetStoreJob.Selection.of("drawn by " + runs.size() + " arm runs",
        train -> union(train, runs));
    System.out.printf("%n=== target store: the corpus rows of %d arm runs, scored once ===%n", runs.size());
    List<Document> corpus = Corpora.load(home, first.data().corpus(), System.out);
    try (TeacherScorer teacher = ScoreCommand.teacher(first, teacherDir, device)) {
      new TargetStoreJob(bound, teacherDir, dir, union, 16, 64L << 20, true)
          .run(teacher, corpus, System.out, System.console() != null, System::nanoTime);
    }
    return dir;
  }

  private static int[] union(PackedSequences train, List<RunPlan> runs) {
    Set<Integer> all = new LinkedHashSet<>();
    for (RunPlan p : runs) {
      for (int s : TrainingData.drawn(train, p)) {
        all.add(s);
      }
    }
    return all.stream().mapToInt(Integer::intValue).toArray();
  }
}
