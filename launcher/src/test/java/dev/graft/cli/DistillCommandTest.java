package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.teacher.server.TeacherServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The retrofit through real gRPC servers on loopback, as `graft local` runs it, on a tiny preset:
 * pretrain a tiny teacher on a synthetic corpus, then distill it to MQA through the teacher-service.
 */
class DistillCommandTest {

  private static int exec(StringWriter err, String... args) {
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  static Path corpus(Path dir) throws Exception {
    String[][] words = {
        {"the", "market", "rose", "as", "traders", "bought", "shares", "and", "bonds", "today"},
        {"she", "walked", "home", "under", "the", "quiet", "moon", "and", "smiled", "softly"}};
    Random rng = new Random(3);
    List<String> lines = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    for (int i = 0; i < 40; i++) {
      int d = i % 2;
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < 200; w++) {
        sb.append(rng.nextInt(5) == 0 ? words[rng.nextInt(2)][rng.nextInt(10)] : words[d][w % 10]).append(' ');
      }
      lines.add(json.writeValueAsString(java.util.Map.of("text", sb.toString().trim(),
          "domain", d == 0 ? "news" : "fiction")));
    }
    Path f = dir.resolve("synthetic.jsonl");
    Files.write(f, lines);
    return f;
  }

  private static Path data;
  private static Path teacher;

  @BeforeAll
  static void pretrainTinyTeacher() {
    data = TinyBase.data();
    teacher = TinyBase.teacher();
  }

  @Test
  void distill_tinyPresetThroughGrpc_closesMostOfTheKlGap(@TempDir Path home) throws Exception {
    StringWriter err = new StringWriter();
    Path out = home.resolve("run");
    assertEquals(0, exec(err, "--home", home.toString(), "distill", "--steps", "60",
        "--set", "teacher.model=" + teacher, "--set", "data.corpus=" + data,
        "--set", "data.seq_len=64", "--set", "data.validation_fraction=0.1",
        "--set", "train.batch_size=8", "--set", "train.micro_batch=8", "--set", "train.lr=3e-3",
        "--set", "retrofit.kv_heads=1", "--set", "retrofit.alpha_ramp_steps=20",
        "--set", "loss.k=16", "--set", "eval.every=30", "--set", "eval.sequences=8",
        "--set", "checkpoint.every=30", "--set", "onpolicy.fraction=0", "--set", "output=" + out),
        err.toString());
    JsonNode report = new ObjectMapper().readTree(out.resolve("student/report.json").toFile());
    double gap = report.get("overall").get("gap_recovered").asDouble();
    assertTrue(gap > 0.5, "gap recovered " + gap + " in " + report);
    assertEquals(1, new ObjectMapper().readTree(out.resolve("student/config.json").toFile())
        .get("num_key_value_heads").asInt());
    // report.html beside report.json, with the same headline and the evaluations at steps 30 and 60
    Document html = Jsoup.parse(out.resolve("student/report.html").toFile());
    assertEquals(gap, Double.parseDouble(html.selectFirst("td.headline-gap").attr("data-value")), 0);
    assertEquals(List.of("30", "60"), html.select("circle.point[data-series=held-out KL]").eachAttr("data-x"));
    assertEquals(2, Files.readAllLines(out.resolve("evals.jsonl")).size() - 1, "baseline + 2 evaluations");
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "on-policy fraction {0}")
  @org.junit.jupiter.params.provider.ValueSource(doubles = {0.5, 1.0})
  void distill_onPolicyThroughSamplerAndWeightSync_lowersTheKl(double fraction, @TempDir Path home)
      throws Exception {
    StringWriter err = new StringWriter();
    Path out = home.resolve("run");
    assertEquals(0, exec(err, "--home", home.toString(), "distill", "--steps", "30",
        "--set", "teacher.model=" + teacher, "--set", "data.corpus=" + data,
        "--set", "data.seq_len=64", "--set", "data.validation_fraction=0.1",
        "--set", "train.batch_size=8", "--set", "train.micro_batch=8", "--set", "train.lr=3e-3",
        "--set", "retrofit.kv_heads=1", "--set", "retrofit.alpha_ramp_steps=10",
        "--set", "loss.divergence=reverse_kl", "--set", "loss.k=16",
        "--set", "onpolicy.fraction=" + fraction, "--set", "onpolicy.prompt_tokens=16",
        "--set", "onpolicy.max_new_tokens=24", "--set", "onpolicy.publish_every=5",
        "--set", "eval.every=0", "--set", "eval.sequences=8", "--set", "output=" + out), err.toString());
    JsonNode report = new ObjectMapper().readTree(out.resolve("student/report.json").toFile());
    double gap = report.get("overall").get("gap_recovered").asDouble();
    assertTrue(gap > 0.3, "gap recovered " + gap + " in " + report);
    JsonNode training = report.get("training");
    assertTrue(training.get("generated_tokens").asLong() > 0, training.toString());
    assertEquals(25, training.get("last_policy_version").asLong(), "published every 5 steps, the last before step 30");
    List<String> steps = Files.readAllLines(out.resolve("steps.jsonl"));
    assertEquals(30, steps.size());
    JsonNode last = new ObjectMapper().readTree(steps.get(29));
    assertEquals(25, last.get("policy_version").asLong());
    assertTrue(last.get("oldest_rollout_version").asLong() >= 25 - 20, last.toString());
  }

  @Test
  void trainerRole_alone_againstARunningTeacherService_completesTheRun(@TempDir Path home) throws Exception {
    try (TeacherServer server = TeacherServer.builder().checkpoint(teacher).port(0).build().start()) {
      StringWriter err = new StringWriter();
      Path out = home.resolve("run");
      assertEquals(0, exec(err, "--home", home.toString(), "trainer", "--plaintext", "--steps", "8",
          "--set", "teacher.model=" + teacher, "--set", "teacher.endpoints=localhost:" + server.port(),
          "--set", "data.corpus=" + data, "--set", "data.seq_len=64", "--set", "data.validation_fraction=0.1",
          "--set", "train.batch_size=8", "--set", "train.micro_batch=8", "--set", "retrofit.kv_heads=1",
          "--set", "retrofit.alpha_ramp_steps=4", "--set", "train.warmup_steps=2", "--set", "loss.k=16", "--set", "eval.every=0",
          "--set", "eval.sequences=4", "--set", "onpolicy.fraction=0", "--set", "output=" + out), err.toString());
      JsonNode report = new ObjectMapper().readTree(out.resolve("student/report.json").toFile());
      assertEquals(8, report.get("training").get("steps").asLong());
      assertTrue(report.get("overall").get("kl_after").asDouble() < report.get("overall").get("kl_before").asDouble(),
          report.toString());
    }
  }

  @Test
  void trainerRole_withoutRunningTeachersOrSamplers_saysWhatToSet(@TempDir Path home) {
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, "--home", home.toString(), "trainer"));
    assertTrue(err.toString().contains("set teacher.endpoints"), err.toString());
    err = new StringWriter();
    assertEquals(2, exec(err, "--home", home.toString(), "trainer", "--set", "teacher.endpoints=localhost:1"));
    assertTrue(err.toString().contains("set onpolicy.samplers"), err.toString());
    assertTrue(Files.notExists(home.resolve("runs")));
  }

  @Test
  void distill_unknownKey_failsBeforeAnyWork(@TempDir Path home) {
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, "--home", home.toString(), "distill", "--set", "loss.divergenze=tv"));
    assertTrue(err.toString().contains("unknown key 'loss.divergenze'"), err.toString());
    assertTrue(Files.notExists(home.resolve("runs")));
  }

  @Test
  void distill_impossibleValues_failBeforeAnyWork(@TempDir Path home) {
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, "--home", home.toString(), "distill", "--steps", "50",
        "--set", "retrofit.alpha_ramp_steps=80"));
    assertTrue(err.toString().contains("longer than the run"), err.toString());
  }

  @Test
  void distill_withoutABaseModel_saysHowToMakeOne(@TempDir Path home) {
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, "--home", home.toString(), "distill"));
    assertTrue(err.toString().contains("graft local"), err.toString());
  }

  private static String[] shortRun(Path home, Path teacherDir, Path corpus, String... more) {
    List<String> a = new ArrayList<>(List.of("--home", home.toString(), "distill", "--steps", "2",
        "--set", "teacher.model=" + teacherDir, "--set", "data.corpus=" + corpus,
        "--set", "data.seq_len=64", "--set", "train.batch_size=8", "--set", "train.micro_batch=8",
        "--set", "retrofit.alpha_ramp_steps=0", "--set", "train.warmup_steps=1", "--set", "loss.k=16",
        "--set", "eval.every=0",
        "--set", "eval.sequences=8", "--set", "onpolicy.fraction=0", "--set", "output=" + home.resolve("run")));
    for (String m : more) {
      a.add("--set");
      a.add(m);
    }
    return a.toArray(String[]::new);
  }

  @Test
  void distill_evaluatesOnTheDocumentsTheTeacherHeldOut_whateverItsOwnSplitSettings(@TempDir Path home)
      throws Exception {
    StringWriter err = new StringWriter();
    assertEquals(0, exec(err, shortRun(home, teacher, data, "data.validation_fraction=0.3", "data.split_seed=99")),
        err.toString());
    JsonNode heldOut = new ObjectMapper().readTree(teacher.resolve("heldout.json").toFile());
    JsonNode set = new ObjectMapper().readTree(home.resolve("run/student/report.json").toFile())
        .get("evaluation_set");
    assertTrue(set.get("recorded_by_teacher").asBoolean(), set.toString());
    assertEquals(heldOut.get("documents").size(), set.get("documents").asInt(),
        "the teacher's 10% held out, not this run's 30%");
    assertEquals(heldOut.get("sha256").asText(), set.get("sha256").asText());
  }

  @Test
  void distill_onACorpusLackingTheTeachersHeldOutDocuments_isRefused(@TempDir Path home) throws Exception {
    List<String> lines = Files.readAllLines(data);
    Path fewer = home.resolve("fewer.jsonl");
    Files.write(fewer, lines.subList(0, lines.size() / 2));
    StringWriter err = new StringWriter();
    assertEquals(2, exec(err, shortRun(home, teacher, fewer)));
    assertTrue(err.toString().contains("are not in this corpus") && err.toString().contains("heldout.json"),
        err.toString());
  }

  @Test
  void distill_ofATeacherThatRecordedNoHeldOutSet_saysContaminationCannotBeRuledOut(@TempDir Path home)
      throws Exception {
    Path external = home.resolve("external");
    Files.createDirectories(external);
    try (var files = Files.list(teacher)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals("heldout.json")) {
          Files.copy(f, external.resolve(f.getFileName()));
        }
      }
    }
    StringWriter err = new StringWriter();
    assertEquals(0, exec(err, shortRun(home, external, data)), err.toString());
    JsonNode set = new ObjectMapper().readTree(home.resolve("run/student/report.json").toFile())
        .get("evaluation_set");
    assertFalse(set.get("contamination_ruled_out").asBoolean(), set.toString());
    assertTrue(set.get("description").asText().contains("contamination cannot be ruled out"), set.toString());
    assertTrue(Files.readString(home.resolve("run/student/report.txt")).contains("contamination cannot be ruled out"));
  }
}
