package dev.graft.cli;

import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.kube.discovery.EndpointSliceResolverProvider;
import dev.graft.model.ComputeDevice;
import dev.graft.model.LlamaConfig;
import dev.graft.model.VocabBudget;
import dev.graft.service.HostPort;
import dev.graft.service.TransportSecurity;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.trainer.Home;
import dev.graft.trainer.Trainer;
import dev.graft.trainer.data.Corpora;
import dev.graft.trainer.distill.TargetStoreJob;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code graft score}: a run's training targets, scored once into a target store. */
@Command(name = "score", mixinStandardHelpOptions = true,
    header = "Score a run's training corpus once into a target store that many runs reuse.", sortOptions = false,
    description = {"Score the training sequences of a run config with its teacher and write the teacher's "
            + "top-k + tail targets (loss.k, loss.temperature, loss.value_dtype) to a target store: chunk files "
            + "with CRC32C checksums and a manifest keyed by the teacher's model fingerprint, its tokenizer, the "
            + "training documents and their packing (data.seq_len), k, temperature and dtype; about 258 bytes "
            + "per token at k = 64 in bf16.",
        "",
        "A run then reads it with --set teacher.store=DIR: its corpus rows take their targets from the store "
            + "(the same loss as asking the teacher), the teacher still scores on-policy rollouts, the "
            + "exactness check and evaluation. A run refuses a store whose key differs from its own, naming "
            + "each field.",
        "",
        "The teacher is the one the run would use: teacher.endpoints if set (gRPC; give --tls-* or "
            + "--plaintext), else teacher.model (or "
            + "the embedded base model) scored in this process. The store is written to DIR.partial and "
            + "renamed to DIR when complete; an interrupted write resumes from its finished chunks.",
        "",
        "Example: graft score --config sweep.yaml --out stores/brown && "
            + "graft distill --config sweep.yaml --set teacher.store=stores/brown"})
final class ScoreCommand implements Callable<Integer> {

  @ParentCommand
  GraftCommand parent;

  @Mixin
  RunOptions run = new RunOptions();

  @Option(names = "--out", paramLabel = "DIR",
      description = "Store directory (default: HOME/stores/<teacher>-seq<T>-k<k>-<dtype>-<sequences>).")
  Path out;

  @Option(names = "--sequences", paramLabel = "run|all|N", defaultValue = "run",
      description = {"Which training sequences: run = those the config's train.steps x train.batch_size draw; "
          + "all = the whole training split (any run length); N = the first N of the data order "
          + "(train.seed). Default: ${DEFAULT-VALUE}."})
  String sequences;

  @Option(names = "--rows-per-request", paramLabel = "N", defaultValue = "16",
      description = "Sequences per teacher request. Default: ${DEFAULT-VALUE}.")
  int rowsPerRequest;

  @Option(names = "--chunk-mb", paramLabel = "MB", defaultValue = "64",
      description = "Size of one chunk file, in MiB (1 to 2047). Default: ${DEFAULT-VALUE}.")
  int chunkMb;

  @Mixin
  DeviceOption device = new DeviceOption();

  @Mixin
  TlsClientOptions tls = new TlsClientOptions();

  @Override
  public Integer call() throws Exception {
    RunPlan plan = run.plan();
    Home home = new Home(parent.home);
    Path teacherDir = Trainer.teacherDir(plan, home.model(new PretrainOptions().modelName("brown")));
    RunPlan.Bound bound = plan.bind(LlamaConfig.read(teacherDir.resolve(HfCheckpoint.CONFIG_FILE)));
    Path dir = out != null ? out : home.root().resolve("stores").resolve(String.format(Locale.ROOT,
        "%s-seq%d-k%d-%s-%s", teacherDir.getFileName(), plan.data().seqLen(), plan.loss().k(),
        plan.loss().valueDtype().name().toLowerCase(Locale.ROOT), sequences));
    TargetStoreJob job = new TargetStoreJob(bound, teacherDir, dir, TargetStoreJob.Selection.parse(sequences, plan),
        rowsPerRequest, chunkMb * (1L << 20), false);
    List<Document> corpus = Corpora.load(home, plan.data().corpus(), System.out);
    TransportSecurity security = plan.teacher().endpoints().isEmpty() ? null : tls.security("graft score");
    try (TeacherScorer teacher = teacher(plan, teacherDir, device.device(), security)) {
      job.run(teacher, corpus, System.out, System.console() != null, System::nanoTime);
    }
    System.out.println("use it with: --set teacher.store=" + dir.toAbsolutePath());
    return 0;
  }

  /** {@link #teacher(RunPlan, Path, ComputeDevice, TransportSecurity)} in plaintext, as local mode runs. */
  static TeacherScorer teacher(RunPlan plan, Path teacherDir, ComputeDevice device) throws IOException {
    return teacher(plan, teacherDir, device, TransportSecurity.plaintext());
  }

  /**
   * The run's teacher-services over gRPC at the run's wire dtype, secured as {@code security} says,
   * or its checkpoint in this process.
   */
  static TeacherScorer teacher(RunPlan plan, Path teacherDir, ComputeDevice device, TransportSecurity security)
      throws IOException {
    List<HostPort> endpoints = plan.teacher().endpoints();
    if (!endpoints.isEmpty()) {
      TeacherReplicaCheck.install(EndpointSliceResolverProvider.register(), endpoints, plan.teacher().deadline(),
          security);
      return TeacherClient.builder().endpoints(endpoints.stream().map(HostPort::toString).toList()).security(security)
          .deadline(plan.teacher().deadline()).valueType(plan.loss().valueDtype().proto()).build();
    }
    return LocalTeacher.load(teacherDir, 0, 0, VocabBudget.forMachine(), device);
  }
}
