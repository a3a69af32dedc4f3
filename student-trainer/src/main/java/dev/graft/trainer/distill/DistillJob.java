package dev.graft.trainer.distill;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.model.LlamaConfig;
import dev.graft.retrofit.HybridExport;
import dev.graft.retrofit.HybridRetrofit;
import dev.graft.retrofit.QuantExport;
import dev.graft.retrofit.QuantRetrofit;
import dev.graft.retrofit.Retrofit;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.service.Backoff;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherScorer;
import dev.graft.teacher.TeacherUnavailableException;
import dev.graft.teacher.store.TargetStore;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.checkpoint.RunCheckpoints;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.plan.RunPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * One retrofit, end to end: checks the teacher against the run (vocabulary, tokenizer), splits
 * and packs the corpus with the teacher's tokenizer, builds the student at α = 0 and refuses to
 * train unless it reproduces the teacher (the exactness check), evaluates the untrained α = 1
 * student, trains, evaluates again, and writes the student in Hugging Face layout with
 * {@code report.json} and {@code report.txt}.
 *
 * @param plan the run, bound to the teacher's architecture
 * @param teacherDir the teacher's checkpoint (weights, tokenizer), read to build the student
 * @param runDir where checkpoints and the resolved config go
 * @param out where the finished student goes
 * @param stop asks the training loop to stop after the current step with a checkpoint
 *     ({@link TrainingStopped})
 */
public record DistillJob(RunPlan.Bound plan, Path teacherDir, Path runDir, Path out, StopRequest stop) {

  /** A job that runs to its last step. */
  public DistillJob(RunPlan.Bound plan, Path teacherDir, Path runDir, Path out) {
    this(plan, teacherDir, runDir, out, new StopRequest());
  }

  public static final String REPORT_JSON = "report.json";
  public static final String REPORT_TXT = "report.txt";
  /** Makes the prompts of teacher-continuation rows another draw than those of on-policy rows. */
  private static final long SEQKD_PROMPT_SALT = 0x5EC4D_0000_0001L;
  /** With the stage's number, makes an alignment stage's teacher rows (prompts, seeds) its own draw. */
  private static final long ALIGN_SEQKD_SALT = 0xA11C_4D00_0000_0000L;
  /** Held-out sequences compared position by position in the exactness check. */
  static final int EXACTNESS_SEQUENCES = 4;

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Runs an off-policy job against {@code teacher}; returns the report, also written under {@code out}. */
  public DistillReport run(TeacherScorer teacher, List<Document> corpus, NDManager manager,
      DistillListener listener, PrintStream log) throws IOException {
    return run(Peers.offPolicy(teacher), teacher, corpus, manager, listener, log);
  }

  /**
   * Runs the job; returns the report, also written under {@code out}.
   *
   * @param peers the teacher for training targets (at the run's wire precision), and for an
   *     on-policy run the samplers and where policy versions go
   * @param exactTeacher the same teacher at full fp32 precision, for the exactness check and
   *     evaluation
   */
  public DistillReport run(Peers peers, TeacherScorer exactTeacher, List<Document> corpus, NDManager manager,
      DistillListener listener, PrintStream log) throws IOException {
    long wall0 = System.nanoTime();
    RunPlan p = plan.plan();
    if (p.onpolicy().enabled() && (peers.samplers() == null || peers.policies() == null)) {
      throw new IllegalArgumentException("onpolicy.fraction " + p.onpolicy().fraction()
          + " needs samplers and a policy publisher");
    }
    if (p.needsTeacherSamplers() && peers.teacherSamplers() == null) {
      throw new IllegalArgumentException(p.teacherSamplersReason() + " needs samplers that serve the teacher");
    }
    if (p.loss().divergence().usesTeacher() && peers.teacher() == null) {
      throw new IllegalArgumentException(p.loss().divergence().spec() + " needs a teacher");
    }
    LlamaConfig teacherConfig = plan.teacher();
    try (GraftTokenizer tok = GraftTokenizer.load(teacherDir.resolve(BpeModel.TOKENIZER_JSON))) {
      // Teachers that are not ready yet (pods still starting) are waited for, as during training.
      TeacherInfo info = patience("teachers", p.teacher().patience(), TeacherUnavailableException.class, listener)
          .call(peers.teacher()::info);
      requireCompatible(info, teacherConfig, tok);
      Retrofit retrofit = p.retrofit().change();
      log.println("retrofit: " + retrofit.describe(teacherConfig) + "; loss "
          + p.loss().divergence().spec() + " on " + p.source().loss().targets() + " targets");
      DocumentPrompts prompts = new DocumentPrompts(tok.bosId(), p.onpolicy().promptTokens(), p.train().seed());
      DocumentPrompts seqkdPrompts = new DocumentPrompts(tok.bosId(), p.seqkd().promptTokens(),
          p.train().seed() ^ SEQKD_PROMPT_SALT, "a teacher-continuation prompt", "seqkd.prompt_tokens");
      Optional<HeldOut> recorded = HeldOut.read(teacherDir);
      DatasetSplit split = TrainingData.split(p, recorded, corpus);
      EvaluationSet evaluationSet = new EvaluationSet(split.validation().size(), recorded.isPresent(),
          HeldOut.of(split, "").sha256());
      log.println("held out: " + evaluationSet.describe());
      PackedSequences[] data = pack(split, tok, prompts, seqkdPrompts, log);
      TrainingTargets targets = trainingTargets(peers, patience("teachers", p.teacher().patience(),
          TeacherUnavailableException.class, listener), info, tok, split, recorded, data[0], log);
      writeResolvedConfig();
      try (NDManager scratch = manager.newSubManager();
          RetrofitStudent student = retrofit.build(teacherConfig,
              HfCheckpoint.loadTensors(teacherDir, teacherConfig, scratch), manager)) {
        scratch.close();
        LlamaConfig target = student.targetConfig();
        log.printf(Locale.ROOT, "teacher %,d parameters, KV cache %,d B/token; student %,d parameters,"
                + " KV cache %,d B/token (fp32)%n", teacherConfig.parameterCount(),
            teacherConfig.kvCacheBytesPerToken(4), retrofit.parameterCount(teacherConfig),
            retrofit.kvCacheBytesPerToken(teacherConfig, 4));
        DistillEvaluator evaluator = new DistillEvaluator(data[1], p.eval().sequences(),
            Math.min(p.train().microBatch(), 16), exactTeacher, p.vocabBudget());
        double exact = exactnessCheck(student, evaluator, log);
        student.setAllAlphas(1);
        DistillEvaluator.Result before = evaluator.evaluate(student.model());
        log.printf(Locale.ROOT, "before training (alpha = 1, untrained): KL %.4f, perplexity %.2f"
                + " (teacher %.2f), top-1 agreement %.3f over %,d held-out tokens%n",
            before.overall().meanKl(), before.overall().studentPerplexity(),
            before.overall().teacherPerplexity(), before.overall().top1Agreement(), before.overall().tokens());
        listener.onBaseline(before);
        // Prompt + continuation is scored as one sequence: it must fit the run's windows.
        int writeTokens = Math.min(p.onpolicy().maxNewTokens(), p.data().seqLen() - p.onpolicy().promptTokens() + 1);
        ContinuationEvaluator writing = p.eval().continuations() == 0 || writeTokens < 1 ? null
            : ContinuationEvaluator.of(split.validation(), tok::encode, tok.bosId(), tok.eosId(),
                p.onpolicy().promptTokens(), writeTokens, p.eval().continuations(), 16, exactTeacher,
                p.vocabBudget())
                .stoppingAlsoAt(configEos(student));
        ContinuationEvaluator.Result[] written = writing == null ? null : baselineWriting(student, writing);
        List<StageReport> stages = align(student, data[0], exactTeacher, peers.teacherSamplers(), seqkdPrompts,
            tok.eosId(), info.modelFingerprint(), listener, log);
        DistillOutcome outcome = distiller(student, data[0], peers, targets, prompts, seqkdPrompts, tok.eosId(),
            evaluator, info.modelFingerprint(), listener).run();
        Continuations continuations = writing == null ? null : new Continuations(writing.prompts(),
            writeTokens, written[0], written[1], writing.evaluate(student.model()));
        DistillReport report = new DistillReport(retrofit.describe(teacherConfig),
            p.loss().divergence().spec(), teacherConfig, target, before, outcome,
            exact, (System.nanoTime() - wall0) / 1e9, evaluationSet, continuations, cacheBytes(retrofit, teacherConfig),
            retrofit.weightBytes(teacherConfig), retrofit.parameterCount(teacherConfig),
            retrofit.kvCacheBytesPerToken(teacherConfig, 4), stages);
        export(student, report);
        return report;
      }
    }
  }

  /**
   * The alignment stages with a budget ({@code align:}), before end-to-end distillation, against
   * the fp32 teacher; once end-to-end distillation has checkpointed they are only read back.
   */
  private List<StageReport> align(RetrofitStudent student, PackedSequences train, TeacherScorer teacher,
      RolloutSource teacherSamplers, DocumentPrompts seqkdPrompts, int eosId, String teacherFingerprint,
      DistillListener listener, PrintStream log) throws IOException {
    RunPlan p = plan.plan();
    if (!p.align().enabled()) {
      return List.of();
    }
    Path root = runDir.resolve("checkpoints");
    boolean finished = !new RunCheckpoints(root, p.checkpoint().keep()).complete().isEmpty();
    Patience patience = patience("teachers", p.teacher().patience(), TeacherUnavailableException.class, listener);
    StagedAlignment stages = new StagedAlignment(p, student, train, teacher, root, teacherFingerprint, stop,
        System::nanoTime, log).retrying(patience::call);
    if (p.align().generates()) { // align.data: seqkd
      stages.withTeacherRows((stage, steps) -> {
        long salt = ALIGN_SEQKD_SALT + stage.number();
        return teacherContinuations(teacherSamplers, seqkdPrompts.salted(salt), eosId, configEos(student),
            teacherFingerprint, listener, p.align().batchSize(), salt, steps);
      });
    }
    List<StageReport> reports = stages.run(finished);
    log.println("stage 3 (end-to-end): every alpha at 1 from the first step, after the alignment stages");
    return reports;
  }

  /** Every eos id of the teacher's config.json: generation stops at these as at the tokenizer's. */
  private static int[] configEos(RetrofitStudent student) {
    return student.teacherConfig().eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
  }

  /** The training loop and its parts, wired for this job. */
  private Distiller distiller(RetrofitStudent student, PackedSequences train, Peers peers,
      TrainingTargets targets, DocumentPrompts prompts, DocumentPrompts seqkdPrompts, int eosId,
      DistillEvaluator evaluator, String teacherFingerprint, DistillListener listener) {
    RunPlan p = plan.plan();
    StudentPublisher publisher = p.onpolicy().enabled()
        ? new StudentPublisher(student, plan.alphas(), peers.policies(), p.onpolicy().publishEvery(),
            listener, System::nanoTime) : null;
    OnPolicyData onPolicy = null;
    if (p.onpolicy().enabled()) {
      int[] stops = IntStream.concat(IntStream.concat(IntStream.of(eosId), IntStream.of(configEos(student))),
          IntStream.of(p.onpolicy().stopTokenIds())).distinct().toArray();
      onPolicy = new OnPolicyData(p.onpolicy(), peers.samplers(), prompts, eosId, stops, publisher,
          patience("samplers", p.onpolicy().patience(), SamplerUnavailableException.class, listener),
          p.train().seed());
    }
    BatchPipeline batches = new BatchPipeline(train, p.train().batchSize(), p.train().seed(),
        p.loss().divergence().usesTeacher() ? targets : null, onPolicy, System::nanoTime);
    if (p.seqkd().enabled()) {
      int to = p.train().batchSize() - p.onpolicy().rows();
      batches.withTeacherRows(teacherContinuations(peers.teacherSamplers(), seqkdPrompts, eosId, configEos(student),
          teacherFingerprint, listener, p.seqkd().rows(), 0, p.train().steps()), to - p.seqkd().rows(), to);
    }
    DistillCheckpoints checkpoints = new DistillCheckpoints(
        new RunCheckpoints(runDir.resolve("checkpoints"), p.checkpoint().keep()), student,
        p.checkpoint().every(), p.train().seed(), p.fingerprint(), teacherFingerprint);
    return new Distiller(plan, student, batches, publisher, checkpoints, evaluator, listener, System::nanoTime,
        stop);
  }

  /**
   * The data source of teacher-continuation rows ({@code seqkd}), after checking that its samplers
   * serve the teacher (the teacher-service's model fingerprint).
   *
   * @param rows rows per step ({@code seqkd.rows} for stage 3, {@code align.batch_size} for a stage)
   * @param salt 0 for stage 3; an alignment stage's own, mixed into the sampling seeds
   * @param lastStep the consumer's last step
   */
  TeacherContinuations teacherContinuations(RolloutSource samplers, DocumentPrompts seqkdPrompts, int eosId,
      int[] configEos, String teacherFingerprint, DistillListener listener, int rows, long salt, long lastStep) {
    RunPlan p = plan.plan();
    Patience patience = patience("teacher-samplers", p.seqkd().patience(), SamplerUnavailableException.class,
        listener);
    String served = patience.call(samplers::info).modelFingerprint();
    if (!served.equals(teacherFingerprint)) {
      throw new IllegalArgumentException("seqkd.samplers do not serve the teacher: they "
          + (served.isEmpty() ? "follow a trainer's policy versions" : "serve model " + served)
          + " but the teacher-service serves model " + teacherFingerprint
          + "; start them with `graft sampler --model <the teacher's checkpoint>`");
    }
    int[] stops = IntStream.concat(IntStream.of(eosId), IntStream.of(configEos)).distinct().toArray();
    return new TeacherContinuations(p.seqkd(), rows, salt, samplers, teacherFingerprint, seqkdPrompts,
        p.data().seqLen(), eosId, stops, patience, p.train().seed(), lastStep, System::nanoTime);
  }

  /**
   * The teacher, or with {@code teacher.store} the store for corpus rows (its key checked against
   * this run) and the teacher for rollouts.
   */
  private TrainingTargets trainingTargets(Peers peers, Patience patience, TeacherInfo info, GraftTokenizer tok,
      DatasetSplit split, Optional<HeldOut> recorded, PackedSequences train, PrintStream log) throws IOException {
    RunPlan p = plan.plan();
    TrainingTargets live = TrainingTargets.live(peers.teacher(), patience, p.loss().trainingRequest());
    if (p.teacher().store() == null) {
      return live;
    }
    TargetStore store = TargetStore.open(p.teacher().store());
    boolean generated = p.onpolicy().enabled() || p.seqkd().enabled(); // rows the store cannot hold
    store.requireKey(TrainingData.storeKey(info, tok.fingerprint(), split, TrainingData.splitRule(p, recorded),
        train, p));
    log.printf(Locale.ROOT, "teacher targets: corpus rows from the target store %s (%,d of %,d training"
            + " sequences, %.0f B/token)%s%n", store.dir(), store.storedSequences(), train.size(),
        store.bytesPerToken(), p.onpolicy().enabled() ? "; rollouts from the teacher" : "");
    return new StoredTargets(store, p.onpolicy().enabled() ? live : null);
  }

  /** Retries 1 s apart at first, then every {@value #MAX_RETRY_SECONDS} s: a returning pod is seen soon. */
  private static final int MAX_RETRY_SECONDS = 5;

  private static Patience patience(String peers, Duration patience, Class<? extends RuntimeException> unavailable,
      DistillListener listener) {
    return new Patience(peers, patience,
        new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(MAX_RETRY_SECONDS)),
        Backoff.Sleeper.SYSTEM, System::nanoTime, listener, unavailable);
  }

  /** Refuses a teacher whose vocabulary or tokenizer differs from the data's, naming both sides. */
  static void requireCompatible(TeacherInfo info, LlamaConfig teacherConfig, GraftTokenizer tok) {
    if (info.vocabSize() != teacherConfig.vocabSize()) {
      throw new IllegalArgumentException("vocabulary mismatch: the teacher-service serves a model with "
          + info.vocabSize() + " tokens but the checkpoint the student is built from has "
          + teacherConfig.vocabSize() + " (" + HfCheckpoint.CONFIG_FILE + ")");
    }
    if (tok.vocabSize() > teacherConfig.vocabSize()) {
      throw new IllegalArgumentException("vocabulary mismatch: the data tokenizer " + tok.path() + " has "
          + tok.vocabSize() + " tokens but the teacher's vocabulary has " + teacherConfig.vocabSize());
    }
    if (!info.tokenizerFingerprint().isEmpty() && !info.tokenizerFingerprint().equals(tok.fingerprint())) {
      throw new IllegalArgumentException("tokenizer mismatch: the teacher-service's tokenizer is sha256 "
          + info.tokenizerFingerprint() + " but the data tokenizer " + tok.path() + " is sha256 "
          + tok.fingerprint());
    }
  }

  private PackedSequences[] pack(DatasetSplit split, GraftTokenizer tok, DocumentPrompts prompts,
      DocumentPrompts seqkdPrompts, PrintStream log) {
    RunPlan.Data d = plan.plan().data();
    SequencePacker packer = new SequencePacker(d.seqLen(), tok.bosId(), tok.eosId(), tok.eosId());
    PackedSequences train = TrainingData.packTrain(plan.plan(), split,
        seqkdPrompts.capturing(prompts.capturing(tok::encode)), tok.bosId(),
        tok.eosId());
    PackedSequences val = packer.pack(split.validation(), tok::encode, SequencePacker.Tail.PAD);
    int batchSize = plan.plan().train().batchSize();
    if (train.size() < batchSize) {
      throw new IllegalArgumentException("the corpus gives " + train.size()
          + " training sequences, fewer than one batch (train.batch_size " + batchSize + ")");
    }
    log.printf(Locale.ROOT, "data: %,d training sequences of %d tokens, %,d held-out sequences from %d documents%n",
        train.size(), d.seqLen(), val.size(), split.validation().size());
    return new PackedSequences[] {train, val};
  }

  /** The teacher's own continuations (the student at α = 0), then the untrained student's (α = 1). */
  private static ContinuationEvaluator.Result[] baselineWriting(RetrofitStudent student,
      ContinuationEvaluator writing) {
    student.setAllAlphas(0);
    ContinuationEvaluator.Result teacher = writing.evaluate(student.model());
    student.setAllAlphas(1);
    return new ContinuationEvaluator.Result[] {teacher, writing.evaluate(student.model())};
  }

  /** The student's cache bytes (fp32) per sequence of each of the report's lengths. */
  private static Map<Long, Long> cacheBytes(Retrofit retrofit, LlamaConfig teacherConfig) {
    Map<Long, Long> m = new LinkedHashMap<>();
    for (long t : DistillReport.SEQUENCE_TOKENS) {
      m.put(t, retrofit.kvCacheBytesPerSequence(teacherConfig, t, 4));
    }
    return m;
  }

  private double exactnessCheck(RetrofitStudent student, DistillEvaluator evaluator, PrintStream log) {
    student.setAllAlphas(0);
    double diff = evaluator.maxLogProbDifference(student.model(), EXACTNESS_SEQUENCES);
    double tol = plan.plan().eval().exactnessTolerance();
    log.printf(Locale.ROOT, "exactness check: student at alpha = 0 vs teacher, max |log q - log p| = %.3g"
        + " (tolerance %.1g) -> %s%n", diff, tol, diff <= tol ? "ok" : "FAILED");
    if (!(diff <= tol)) {
      throw new IllegalStateException("exactness check failed: the student at alpha = 0 differs from the"
          + " teacher by " + diff + " in log-probability (tolerance " + tol + "); the retrofit or the"
          + " teacher-service does not compute the teacher's function, refusing to train");
    }
    return diff;
  }

  private void writeResolvedConfig() throws IOException {
    Files.createDirectories(runDir);
    Files.writeString(runDir.resolve("config.yaml"), plan.plan().source().toYaml());
  }

  private void export(RetrofitStudent student, DistillReport report) throws IOException {
    Files.createDirectories(out);
    if (student.retrofit() instanceof HybridRetrofit hybrid) { // Llama's layout cannot hold its layers
      HybridExport.write(out, hybrid, student);
    } else {
      HfCheckpoint.save(out, student.targetConfig(), student.exportTensors(), Dtype.F32,
          ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
    }
    if (student.retrofit() instanceof QuantRetrofit quant) { // the integers and scales, beside
      QuantExport.write(out, quant, student.teacherConfig(), student.parameters());
    }
    for (String f : List.of(BpeModel.TOKENIZER_JSON, BpeModel.TOKENIZER_CONFIG_JSON)) {
      if (Files.isRegularFile(teacherDir.resolve(f))) {
        Files.copy(teacherDir.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.writeString(out.resolve(REPORT_TXT), report.toTable());
    Files.writeString(out.resolve(REPORT_JSON), JSON.writeValueAsString(report.toJson()));
  }
}
