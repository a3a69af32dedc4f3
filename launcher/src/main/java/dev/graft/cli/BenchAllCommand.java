package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.model.LlamaConfig;
import dev.graft.sampler.server.SamplerBench;
import dev.graft.sync.bench.WeightSyncBench;
import dev.graft.teacher.server.TeacherBench;
import dev.graft.trainer.Home;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.pretrain.TrainStepBench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code graft bench all}: every phase in one run against the machine's limits measured in the
 * same run, written as {@code bench/all.json} and a readable {@code bench/all.txt}.
 */
@Command(name = "all", mixinStandardHelpOptions = true,
    header = "Every phase against the machine's limit, in one run (JSON + table).",
    description = {"Measures the machine's limits through the engine (GEMM at 2048^3 and at the model's shapes, "
        + "GEMV at decode batches 1 and 8, copy bandwidth), then the pretraining step with its per-group "
        + "breakdown, the distillation step (teacher in-process and through gRPC), teacher scoring per output "
        + "kind, sampler decoding (KV cache vs recomputation at batch 1 and 8) with its per-group breakdown, "
        + "and weight sync; reports each as achieved GFLOP/s (GB/s for sync) and as a share of its limit. "
        + "teacher and distill need the embedded base model (`graft local` or `graft pretrain`)."})
final class BenchAllCommand implements Callable<Integer> {

  /** The phases, in the order they run. */
  enum Phase { pretrain, distill, teacher, sampler, sync }

  @ParentCommand
  BenchCommand bench;

  @Mixin
  RunOptions run = new RunOptions();

  @Option(names = "--phases", paramLabel = "LIST", split = ",",
      description = "Phases to run, of ${COMPLETION-CANDIDATES}. Default: all.")
  Set<Phase> phases = EnumSet.allOf(Phase.class);

  @Option(names = "--quick", description = "Smoke run: tiny model and sizes, rough figures, seconds.")
  boolean quick;

  @Override
  public Integer call() throws Exception {
    Home home = new Home(bench.parent.home);
    if (phases.isEmpty()) {
      throw new IllegalArgumentException("--phases names no phase; choose from " + EnumSet.allOf(Phase.class));
    }
    LlamaConfig model = quick ? LlamaConfig.tiny(512) : LlamaConfig.small(4096);
    int batch = quick ? 2 : 16;
    int seq = quick ? 16 : 128;
    int newTokens = quick ? 8 : 256;
    MachineLimits limits = MachineLimits.measure(model, (long) batch * seq,
        quick ? MachineLimits.Sizes.QUICK : MachineLimits.Sizes.FULL);
    System.out.print(PhaseShares.limitsText(limits));
    PhaseShares shares = new PhaseShares(limits);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("model", model.toString());
    report.put("quick", quick);
    report.put("machine", limits.toMap());
    List<String> breakdowns = new ArrayList<>();
    if (phases.contains(Phase.pretrain)) {
      TrainStepBench.Result r = TrainStepBench.run(model, batch, seq, quick ? 1 : 2, quick ? 1 : 5, 1, System::nanoTime);
      report.put("pretrain", r.toMap());
      shares.pretrain(r);
      breakdowns.add("pretraining step, each group alone on its shapes:\n"
          + BenchCommand.breakdownTable(r.groupSeconds(), r.stepSeconds()));
    }
    if (phases.contains(Phase.distill)) {
      Path base = BenchCommand.baseModel(home);
      RunPlan plan = BenchCommand.Distill.plan(run);
      report.put("distill", BenchCommand.Distill.distill(home, plan, base, 3, shares));
    }
    if (phases.contains(Phase.teacher)) {
      Path base = BenchCommand.baseModel(home);
      TeacherBench.Result r = BenchCommand.Teacher.teacher(base, batch, seq, quick ? 1 : 5);
      report.put("teacher", r.toMap());
      shares.teacher(r, LlamaConfig.read(base.resolve(HfCheckpoint.CONFIG_FILE)));
    }
    if (phases.contains(Phase.sampler)) {
      LlamaConfig c = quick ? model.withMaxPositionEmbeddings(64) : BenchCommand.Sampler.model(newTokens);
      SamplerBench.Result r = BenchCommand.Sampler.sampler(c, newTokens);
      report.put("sampler", r.toMap());
      shares.sampler(r, c);
      breakdowns.add(PhaseShares.samplerRatios(r) + decodeBreakdowns(r));
    }
    if (phases.contains(Phase.sync)) {
      WeightSyncBench.Result r = WeightSyncBench.run(model.withNumKeyValueHeads(2), quick ? 2 : 10, 1);
      report.put("sync", BenchCommand.Sync.toMap(r));
      shares.sync(r);
    }
    report.put("against_limit", shares.toList());
    String text = PhaseShares.limitsText(limits) + "\n" + shares.table() + "\n" + String.join("\n", breakdowns);
    Path dir = home.root().resolve("bench");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("all.json"),
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
    Files.writeString(dir.resolve("all.txt"), text);
    System.out.println();
    System.out.print(text);
    System.out.println("written to " + dir.resolve("all.json") + " and " + dir.resolve("all.txt"));
    return 0;
  }

  static String decodeBreakdowns(SamplerBench.Result r) {
    StringBuilder sb = new StringBuilder();
    r.breakdowns().forEach((batch, b) -> sb.append("decode step, ").append(batch)
        .append(", each group alone on its shapes:\n")
        .append(BenchCommand.breakdownTable(b.groupSeconds(), b.stepSeconds())));
    return sb.toString();
  }
}
