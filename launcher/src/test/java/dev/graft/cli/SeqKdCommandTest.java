package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Sequence-level distillation as `graft distill` runs it: a teacher-serving sampler-service
 * started on loopback, every row of every batch the teacher's greedy continuation of a corpus
 * prompt, trained by cross-entropy on the teacher's tokens, and optionally plus KL.
 */
class SeqKdCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static int exec(StringWriter err, String... args) {
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  /** Runs 6 steps of 8 teacher rows with {@code kl_weight}; returns the run directory. */
  private static Path run(Path home, double klWeight, ByteArrayOutputStream console) {
    StringWriter err = new StringWriter();
    Path out = home.resolve("run");
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(console, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, exec(err, "--home", home.toString(), "distill", "--steps", "6",
          "--set", "teacher.model=" + TinyBase.teacher(), "--set", "data.corpus=" + TinyBase.data(),
          "--set", "data.seq_len=64", "--set", "data.validation_fraction=0.1",
          "--set", "train.batch_size=8", "--set", "train.micro_batch=4", "--set", "train.warmup_steps=2",
          "--set", "retrofit.kv_heads=1",
          "--set", "retrofit.alpha_ramp_steps=2", "--set", "loss.k=16", "--set", "onpolicy.fraction=0",
          "--set", "seqkd.fraction=1", "--set", "seqkd.prompt_tokens=8", "--set", "seqkd.max_new_tokens=24",
          "--set", "seqkd.temperature=0", "--set", "seqkd.kl_weight=" + klWeight,
          "--set", "eval.every=0", "--set", "eval.sequences=4", "--set", "eval.continuations=0",
          "--set", "checkpoint.every=0", "--set", "output=" + out), err.toString());
    } finally {
      System.setOut(stdout);
    }
    return out;
  }

  @Test
  void seqkdRun_withTheLoopbackTeacherSampler_trainsEveryRowOnTheTeachersText_andKlWeightAddsTheDivergence(
      @TempDir Path home) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Path ce = run(home.resolve("ce"), 0, console);
    assertTrue(console.toString(StandardCharsets.UTF_8).contains("sampler-service (teacher): "),
        "a teacher-serving sampler on loopback: " + console);
    JsonNode training = JSON.readTree(ce.resolve("student/report.json").toFile()).get("training");
    JsonNode seqkd = training.get("seqkd");
    assertEquals(6 * 8, seqkd.get("rows").asLong(), seqkd.toString());
    long tokens = seqkd.get("tokens").asLong();
    // Each row trains on its continuation only: at least one token (the teacher stopped at EOS), at most 24.
    assertTrue(tokens >= 6 * 8 && tokens <= 6 * 8 * 24, seqkd.toString());
    List<String> ceSteps = Files.readAllLines(ce.resolve("steps.jsonl"));
    assertEquals(6, ceSteps.size());
    assertEquals(tokens, training.get("tokens").asLong(),
        "every trained position of every step is a continuation position");

    Path kl = run(home.resolve("kl"), 1, new ByteArrayOutputStream());
    JsonNode klSeqkd = JSON.readTree(kl.resolve("student/report.json").toFile()).get("training").get("seqkd");
    assertEquals(seqkd.get("tokens").asLong(), klSeqkd.get("tokens").asLong(),
        "greedy teacher continuations: the same rows in both runs");
    // Step 1 trains the same student on the same rows: the loss with kl_weight 1 is the CE plus a KL > 0.
    double ceLoss = JSON.readTree(ceSteps.get(0)).get("loss").asDouble();
    double klLoss = JSON.readTree(Files.readAllLines(kl.resolve("steps.jsonl")).get(0)).get("loss").asDouble();
    assertTrue(klLoss > ceLoss + 1e-4, "CE " + ceLoss + " vs CE + KL " + klLoss);
  }
}
