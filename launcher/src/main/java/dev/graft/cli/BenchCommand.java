package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.data.Document;
import dev.graft.proto.v1.DType;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.teacher.server.TeacherBench;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.Home;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.distill.DistillBench;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
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
    header = "Benchmarks with a JSON report (teacher, distill, sampler, sync).",
    description = "Benchmarks on the embedded base model (train it first with `graft local` or `graft pretrain`).",
    subcommands = {BenchCommand.Teacher.class, BenchCommand.Distill.class, BenchCommand.Sampler.class,
        BenchMemoryCommand.class,
        BenchCommand.Sync.class})
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
      TeacherBench.Result r = TeacherBench.run(new TeacherBench.Config(baseModel(home), null, 1, batch, seq, reps));
      write(home, "teacher", r.toMap());
      return 0;
    }
  }

  @Command(name = "sampler", mixinStandardHelpOptions = true,
    header = "Generation tokens/s at batch 1 and 8, KV cache vs recomputation.",
      description = {"Generation tokens/s at batch 1 and 8 for 256 new tokens after a 16-token prompt, with "
              + "the KV cache vs recomputing the whole prefix each step, on the base model's "
              + "architecture (small preset, context raised to 512) with random weights."})
  static final class Sampler implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--new-tokens", paramLabel = "N", defaultValue = "256",
        description = "Tokens generated per sequence. Default: ${DEFAULT-VALUE}.")
    int newTokens;

    @Override
    public Integer call() throws Exception {
      Home home = new Home(bench.parent.home);
      dev.graft.model.LlamaConfig c = dev.graft.model.LlamaConfig.small(4096)
          .withMaxPositionEmbeddings(Math.max(512, 16 + newTokens));
      var r = dev.graft.sampler.server.SamplerBench.run(
          new dev.graft.sampler.server.SamplerBench.Config(c, 1, 16, newTokens, List.of(1, 8)));
      write(home, "sampler", r.toMap());
      return 0;
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
      var r = dev.graft.sync.bench.WeightSyncBench.run(
          dev.graft.model.LlamaConfig.small(4096).withNumKeyValueHeads(2), versions, 1);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("parameters", r.parameters());
      m.put("bytes", r.bytes());
      m.put("versions", r.versions());
      m.put("publish_ms", r.publishMillis());
      m.put("sync_ms_median", r.syncMillis());
      m.put("sync_ms_max", r.syncMillisMax());
      m.put("megabytes_per_second", r.megabytesPerSecond());
      write(home, "sync", m);
      return 0;
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
      RunConfig cfg = run.steps == null && run.overrides.stream().noneMatch(o -> o.startsWith("train.steps"))
          ? run.load().with("train.steps=23").with("retrofit.graduality=false") : run.load();
      // Off-policy: this measures the teacher path alone (on-policy adds sampler time).
      RunPlan plan = RunPlan.of(cfg.with("eval.sequences=8").with("server.port=-1").with("onpolicy.fraction=0"));
      cfg = plan.source();
      Path base = baseModel(home);
      List<Document> corpus = Corpora.load(home, plan.data().corpus(), System.out);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("config", Map.of("steps", cfg.train().steps(), "warmup", warmup,
          "batch_size", cfg.train().batchSize(), "seq_len", cfg.data().seqLen(),
          "targets", cfg.loss().targets(), "k", cfg.loss().k(), "value_dtype", cfg.loss().valueDtype()));
      try (LocalTeacher local = LocalTeacher.load(base)) {
        DistillBench.Result r = DistillBench.run("in_process", plan, base, local, local, corpus, warmup);
        report.put("in_process", r.toMap());
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
        print(r);
      }
      write(home, "distill", report);
      return 0;
    }

    private static void print(DistillBench.Result r) {
      System.out.printf(Locale.ROOT, "%-14s %.3f s/step (teacher wait %.3f s/step), %,.0f train tok/s%n",
          r.teacher(), r.stepSeconds(), r.teacherWaitSeconds(), r.tokensPerSecond());
    }
  }
}
