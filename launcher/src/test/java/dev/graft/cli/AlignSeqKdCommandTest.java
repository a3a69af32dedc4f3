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
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Stage 1 on the teacher's continuations ({@code align.data: seqkd}) as `graft distill` runs it:
 * with {@code seqkd.fraction 0} a teacher-serving sampler-service still starts on loopback, and
 * the stage trains on [bos] + prompt + the teacher's greedy continuation, padding left out.
 */
class AlignSeqKdCommandTest {

  @Test
  void stage1OnTeacherContinuations_startsTheLoopbackTeacherSampler_andCountsOnlyRealPositions(
      @TempDir Path home) throws Exception {
    StringWriter err = new StringWriter();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Path out = home.resolve("run");
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(console, true, StandardCharsets.UTF_8));
    try {
      CommandLine cl = GraftCommand.commandLine();
      cl.setErr(new PrintWriter(err, true));
      assertEquals(0, cl.execute("--home", home.toString(), "distill", "--steps", "1",
          "--set", "teacher.model=" + TinyBase.teacher(), "--set", "data.corpus=" + TinyBase.data(),
          "--set", "data.seq_len=64", "--set", "data.validation_fraction=0.1",
          "--set", "train.batch_size=4", "--set", "train.micro_batch=4", "--set", "train.warmup_steps=0",
          "--set", "retrofit.kv_heads=1", "--set", "loss.k=16",
          "--set", "onpolicy.fraction=0",
          "--set", "seqkd.fraction=0", "--set", "seqkd.prompt_tokens=8", "--set", "seqkd.max_new_tokens=24",
          "--set", "seqkd.temperature=0",
          "--set", "align.mixer_tokens=512", "--set", "align.batch_size=4", "--set", "align.data=seqkd",
          "--set", "eval.every=0", "--set", "eval.sequences=4", "--set", "eval.continuations=0",
          "--set", "checkpoint.every=0", "--set", "output=" + out), err.toString());
    } finally {
      System.setOut(stdout);
    }
    String log = console.toString(StandardCharsets.UTF_8);
    assertTrue(log.contains("sampler-service (teacher): "), "a teacher-serving sampler on loopback: " + log);
    assertTrue(log.contains("stage 1 (mixer): 2 steps of 4 rows x 64 positions of the teacher's continuations"), log);
    JsonNode stage = new ObjectMapper().readTree(out.resolve("student/report.json").toFile()).get("stages").get(0);
    assertEquals("mixer", stage.get("name").asText());
    assertEquals(512, stage.get("budget_positions").asLong());
    long positions = stage.get("positions").asLong();
    // 8 rows: each [bos] + 7 prompt tokens + 1..24 of the teacher's tokens; the padding up to 64 does not count
    assertTrue(positions >= 8 * 9 && positions <= 8 * 32, stage.toString());
    assertEquals(2, stage.get("loss_curve").size());
  }
}
