package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.sampler.server.SamplerBench;
import dev.graft.sync.bench.WeightSyncBench;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherBench;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.Home;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.distill.DistillBench;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import dev.graft.trainer.pretrain.TrainStepBench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft bench}: benchmarks with a JSON report; timings live here, never in tests. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    header = "Benchmarks with a JSON report (all, scale, memory, pretrain, teacher, distill, sampler, sync).",
    description = {"Benchmarks on the embedded base model (train it first with `graft local` or `graft pretrain`).",
        "Each measures the machine's limit through the engine in the same run (GEMM rate at a large square and "
            + "at the model's shapes, GEMV rate at decode batch sizes, copy bandwidth) and reports its phase "
            + "as a share of it; `graft bench all` runs every phase and writes bench/all.json and bench/all.txt."},
    subcommands = {BenchAllCommand.class, BenchScaleCommand.class, BenchMemoryCommand.class, BenchCommand.Pretrain.class,
        BenchCommand.Teacher.class, BenchCommand.Distill.class, BenchCommand.Sampler.class, BenchCommand.Sync.class})
final class BenchCommand {

  @ParentCommand
  GraftCommand parent;

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  static Path baseModel(Home home) {
    Path base = home.model(new PretrainOptions().modelName("brown"));
    if (!Files.isRegularFile(base.resolve("config.json"))) {
      throw new IllegalArgumentException("no base model at " + base + "; run `graft local` or `graft pretrain` first");
    }
    return base;
  }

  static void write(Home home, String name, Object report) throws java.io.IOException {
    Path out = home.root().resolve("bench").resolve(name + ".json");
    Files.createDirectories(out.getParent());
    Files.writeString(out, JSON.writeValueAsString(report));
    System.out.println(JSON.writeValueAsString(report));
    System.out.println("written to " + out);
  }

  /** Writes {@code report} with the limits and the phase's shares, and prints the shares' table. */
  static void writeWithShares(Home home, String name, Map<String, Object> report, MachineLimits limits,
      PhaseShares shares) throws java.io.IOException {
    Map<String, Object> m = new LinkedHashMap<>(report);
    m.put("machine", limits.toMap());
    m.put("against_limit", shares.toList());
    write(home, name, m);
    System.out.print(PhaseShares.limitsText(limits));
    System.out.print(shares.table());
  }

  @Command(name = "pretrain", mixinStandardHelpOptions = true,
      header = "Pretraining step time, its share of the GEMM rate, and where the time goes.",
      description = {"A pretraining step (forward, cross-entropy, backward, clipping, AdamW) of the base "
          + "model's architecture (small preset, random weights and tokens) against the GEMM rate at the "
          + "model's shapes, with each group of operations timed alone on the same shapes (projections, "
          + "attention, norms and activations, vocabulary head and loss, optimizer) and the rest "
          + "attributed to Java-side work and call overhead."})
  static final class Pretrain implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "16",
        description = "Sequences per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--seq", paramLabel = "N", defaultValue = "128",
        description = "Tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int seq;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "5",
        description = "Timed steps (after 2 untimed). Default: ${DEFAULT-VALUE}.")
    int steps;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      LlamaConfig c = LlamaConfig.small(4096);
      MachineLimits limits = MachineLimits.measure(c, (long) batch * seq, MachineLimits.Sizes.FULL);
      TrainStepBench.Result r = TrainStepBench.run(c, batch, seq, 2, steps, 1, System::nanoTime);
      writeWithShares(home, "pretrain", r.toMap(), limits, new PhaseShares(limits).pretrain(r));
      System.out.print(breakdownTable(r.groupSeconds(), r.stepSeconds()));
      return 0;
    }
  }

  /** Each group's seconds and share of the whole. */
  static String breakdownTable(Map<String, Double> groups, double total) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-22s %12s %7s%n", "group", "ms", "share"));
    groups.forEach((g, sec) -> sb.append(String.format(Locale.ROOT, "%-22s %12.3f %6.0f%%%n", g, sec * 1e3,
        100 * sec / total)));
    sb.append(String.format(Locale.ROOT, "%-22s %12.3f%n", "whole step", total * 1e3));
    return sb.toString();
  }

  @Command(name = "teacher", mixinStandardHelpOptions = true,
    header = "Teacher tokens/s in-process and through gRPC; wire bytes per token.",
      description = {"Teacher tokens/s in-process and through gRPC on loopback, and wire bytes per scored "
              + "token for top-k 16, top-k 64 and the full distribution in fp32/fp16/bf16."})
  static final class Teacher implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "16",
        description = "Sequences per request. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--seq", paramLabel = "N", defaultValue = "128",
        description = "Tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int seq;

    @Option(names = "--reps", paramLabel = "N", defaultValue = "5",
        description = "Timed repetitions. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      Path base = baseModel(home);
      LlamaConfig c = LlamaConfig.read(base.resolve(HfCheckpoint.CONFIG_FILE));
      MachineLimits limits = MachineLimits.measure(c, (long) batch * seq, MachineLimits.Sizes.FULL);
      TeacherBench.Result r = teacher(base, batch, seq, reps);
      writeWithShares(home, "teacher", r.toMap(), limits, new PhaseShares(limits).teacher(r, c));
      return 0;
    }

    static TeacherBench.Result teacher(Path base, int batch, int seq, int reps) throws java.io.IOException {
      return TeacherBench.run(new TeacherBench.Config(base, null, 1, batch, seq, reps));
    }
  }

  @Command(name = "sampler", mixinStandardHelpOptions = true,
    header = "Generation tokens/s at batch 1 and 8, KV cache vs recomputation, where a step's time goes.",
      description = {"Generation tokens/s at batch 1 and 8 for 256 new tokens after a 16-token prompt, with "
              + "the KV cache vs recomputing the whole prefix each step, on the base model's "
              + "architecture (small preset, context raised to 512) with random weights, against the GEMV "
              + "rate at batch 1 and 8, and each decode step's time by group of operations."})
  static final class Sampler implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--new-tokens", paramLabel = "N", defaultValue = "256",
        description = "Tokens generated per sequence. Default: ${DEFAULT-VALUE}.")
    int newTokens;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      LlamaConfig c = model(newTokens);
      MachineLimits limits = MachineLimits.measure(c, 2048, MachineLimits.Sizes.FULL);
      SamplerBench.Result r = sampler(c, newTokens);
      writeWithShares(home, "sampler", r.toMap(), limits, new PhaseShares(limits).sampler(r, c));
      System.out.print(PhaseShares.samplerRatios(r) + BenchAllCommand.decodeBreakdowns(r));
      return 0;
    }

    static LlamaConfig model(int newTokens) {
      return LlamaConfig.small(4096).withMaxPositionEmbeddings(Math.max(512, 16 + newTokens));
    }

    static SamplerBench.Result sampler(LlamaConfig c, int newTokens) {
      return SamplerBench.run(new SamplerBench.Config(c, 1, 16, newTokens, List.of(1, 8)));
    }
  }

  @Command(name = "sync", mixinStandardHelpOptions = true,
    header = "Weight-sync time, trainer publish to sampler install.",
      description = {"Weight-sync time of the default student (the base model retrofitted to 2 KV heads): "
              + "publish on the trainer -> verified and installed on a sampler over loopback gRPC."})
  static final class Sync implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--versions", paramLabel = "N", defaultValue = "10",
        description = "Timed versions. Default: ${DEFAULT-VALUE}.")
    int versions;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      LlamaConfig c = LlamaConfig.small(4096).withNumKeyValueHeads(2);
      MachineLimits limits = MachineLimits.measure(c, 2048, MachineLimits.Sizes.FULL);
      WeightSyncBench.Result r = WeightSyncBench.run(c, versions, 1);
      writeWithShares(home, "sync", toMap(r), limits, new PhaseShares(limits).sync(r));
      return 0;
    }

    static Map<String, Object> toMap(WeightSyncBench.Result r) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("parameters", r.parameters());
      m.put("bytes", r.bytes());
      m.put("versions", r.versions());
      m.put("publish_ms", r.publishMillis());
      m.put("sync_ms_median", r.syncMillis());
      m.put("sync_ms_max", r.syncMillisMax());
      m.put("megabytes_per_second", r.megabytesPerSecond());
      return m;
    }
  }

  @Command(name = "distill", mixinStandardHelpOptions = true,
    header = "Trainer step time, teacher in-process vs through gRPC.",
      description = {"Trainer step time with the teacher in-process vs through gRPC on loopback, on the same "
              + "run config, shapes and data."})
  static final class Distill implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Mixin
    RunOptions run = new RunOptions();

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3",
        description = "Untimed first steps. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      Path base = baseModel(home);
      RunPlan plan = plan(run);
      LlamaConfig teacher = LlamaConfig.read(base.resolve(HfCheckpoint.CONFIG_FILE));
      MachineLimits limits = MachineLimits.measure(teacher,
          (long) plan.train().batchSize() * plan.data().seqLen(), MachineLimits.Sizes.FULL);
      PhaseShares shares = new PhaseShares(limits);
      Map<String, Object> report = distill(home, plan, base, warmup, shares);
      writeWithShares(home, "distill", report, limits, shares);
      return 0;
    }

    /** The run's plan for the bench: 23 steps without graduality unless set, off-policy, no server. */
    static RunPlan plan(RunOptions run) throws java.io.IOException {
      RunConfig cfg = run.steps == null && run.overrides.stream().noneMatch(o -> o.startsWith("train.steps"))
          ? run.load().with("train.steps=23").with("retrofit.graduality=false") : run.load();
      // Off-policy: this measures the teacher path alone (on-policy adds sampler time).
      return RunPlan.of(cfg.with("eval.sequences=8").with("server.port=-1").with("onpolicy.fraction=0"));
    }

    /** Both measurements (teacher in-process, then through gRPC), each added to {@code shares}. */
    static Map<String, Object> distill(Home home, RunPlan plan, Path base, int warmup, PhaseShares shares)
        throws Exception {
      RunConfig cfg = plan.source();
      List<Document> corpus = Corpora.load(home, plan.data().corpus(), System.out);
      LlamaConfig teacher = LlamaConfig.read(base.resolve(HfCheckpoint.CONFIG_FILE));
      LlamaConfig student = plan.bind(teacher).target();
      int b = plan.train().batchSize();
      int t = plan.data().seqLen();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("config", Map.of("steps", cfg.train().steps(), "warmup", warmup,
          "batch_size", cfg.train().batchSize(), "seq_len", cfg.data().seqLen(),
          "targets", cfg.loss().targets(), "k", cfg.loss().k(), "value_dtype", cfg.loss().valueDtype()));
      try (LocalTeacher local = LocalTeacher.load(base)) {
        DistillBench.Result r = DistillBench.run("in_process", plan, base, local, local, corpus, warmup);
        report.put("in_process", r.toMap());
        shares.distill(r, student, teacher, b, t);
        print(r);
      }
      try (TeacherServer server = TeacherServer.builder().checkpoint(base).port(0)
              .maxSequenceLength(plan.data().seqLen()).build().start();
          TeacherClient training = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
              .valueType(plan.loss().valueDtype().proto()).build();
          TeacherClient exact = TeacherClient.builder().endpoints(List.of("localhost:" + server.port()))
              .valueType(DType.DTYPE_FLOAT32).build()) {
        DistillBench.Result r = DistillBench.run("grpc_loopback", plan, base, training, exact, corpus, warmup);
        report.put("grpc_loopback", r.toMap());
        shares.distill(r, student, teacher, b, t);
        print(r);
      }
      return report;
    }

    private static void print(DistillBench.Result r) {
      System.out.printf(Locale.ROOT, "%-14s %.3f s/step (teacher wait %.3f s/step), %,.0f train tok/s%n",
          r.teacher(), r.stepSeconds(), r.teacherWaitSeconds(), r.tokensPerSecond());
    }
  }
}
