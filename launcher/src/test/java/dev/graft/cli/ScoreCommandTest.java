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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `graft score` writes a target store that `graft distill --set teacher.store=...` then trains from. */
class ScoreCommandTest {

  private static List<String> tiny(Path home, String command, String... more) {
    List<String> a = new ArrayList<>(List.of("--home", home.toString(), command, "--steps", "4",
        "--set", "teacher.model=" + TinyBase.teacher(), "--set", "data.corpus=" + TinyBase.data(),
        "--set", "data.seq_len=64", "--set", "train.batch_size=8", "--set", "train.micro_batch=8",
        "--set", "retrofit.kv_heads=1", "--set", "retrofit.alpha_ramp_steps=2", "--set", "loss.k=16",
        "--set", "train.warmup_steps=2",
        "--set", "eval.sequences=4", "--set", "eval.continuations=0", "--set", "checkpoint.every=0",
        "--set", "onpolicy.fraction=0", "--set", "server.port=-1"));
    a.addAll(List.of(more));
    return a;
  }

  private static int exec(StringWriter err, StringWriter out, List<String> args) {
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    PrintStream old = System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      return cl.execute(args.toArray(String[]::new));
    } finally {
      System.setOut(old);
      out.write(bytes.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void score_thenDistillFromTheStore_trainsWithoutAskingTheTeacherForTrainingTargets(@TempDir Path home)
      throws Exception {
    Path store = home.resolve("store");
    StringWriter err = new StringWriter();
    StringWriter out = new StringWriter();
    assertEquals(0, exec(err, out, tiny(home, "score", "--out", store.toString())), err + "\n" + out);
    assertTrue(out.toString().contains("66 B/token") && out.toString().contains("32 of "), out.toString());
    JsonNode manifest = new ObjectMapper().readTree(store.resolve("manifest.json").toFile());
    assertEquals(16, manifest.get("key").get("k").asInt());
    assertEquals("BF16", manifest.get("key").get("dtype").asText());
    assertEquals(32, manifest.get("sequences").size(), "4 steps x 8 rows, each drawn once");

    StringWriter again = new StringWriter();
    assertEquals(0, exec(err, again, tiny(home, "score", "--out", store.toString())), err.toString());
    assertTrue(again.toString().contains("already complete"), again.toString());

    StringWriter run = new StringWriter();
    assertEquals(0, exec(err, run, tiny(home, "distill", "--set", "teacher.store=" + store,
        "--set", "output=" + home.resolve("run"))), err + "\n" + run);
    assertTrue(run.toString().contains("corpus rows from the target store"), run.toString());
    assertTrue(Files.isRegularFile(home.resolve("run/student/report.json")));
  }

  @Test
  void distill_withAStoreOfAnotherK_failsNamingTheField(@TempDir Path home) {
    Path store = home.resolve("store");
    StringWriter err = new StringWriter();
    assertEquals(0, exec(err, new StringWriter(), tiny(home, "score", "--out", store.toString(),
        "--sequences", "8")), err.toString());
    StringWriter err2 = new StringWriter();
    assertEquals(2, exec(err2, new StringWriter(), tiny(home, "distill", "--set", "teacher.store=" + store,
        "--set", "loss.k=8", "--set", "output=" + home.resolve("run"))));
    assertTrue(err2.toString().contains("k: store 16, run 8"), err2.toString());
  }

  @Test
  void help_explainsTheStoreAndHowARunReadsIt() {
    StringWriter out = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    assertEquals(0, cl.execute("score", "--help"));
    assertTrue(out.toString().contains("teacher.store=DIR") && out.toString().contains("--sequences"),
        out.toString());
  }

  @Test
  void badSequences_isAnErrorNamingTheOption(@TempDir Path home) {
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, new StringWriter(), tiny(home, "score", "--sequences", "some")));
    assertTrue(err.toString().contains("--sequences 'some' must be run, all or a count"), err.toString());
  }
}
