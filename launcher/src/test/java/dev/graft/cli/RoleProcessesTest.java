package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherUnavailableException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The roles as separate OS processes on loopback ({@code graft teacher | sampler | trainer}, each a
 * JVM with one engine thread), as pods would run them: (a) an on-policy run with two teachers and
 * two samplers completes although one teacher and one sampler are killed with SIGKILL mid-run;
 * (b) an off-policy trainer sent SIGTERM mid-run finishes its step, writes a checkpoint and exits
 * 0; started again it resumes from that checkpoint, and its final held-out evaluation equals an
 * uninterrupted run's exactly (resume is exact: weights, optimizer moments, step and data position).
 */
class RoleProcessesTest {

  private static final int STEPS = 10;
  private static final long PROCESS_SECONDS = 300;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void killingATeacherAndASamplerMidRun_theRunCompletes(@TempDir Path home) throws Exception {
    List<Process> all = new ArrayList<>();
    try {
      int trainerPort = freePort();
      List<Process> teachers = new ArrayList<>();
      List<String> teacherEndpoints = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        int port = freePort();
        teachers.add(start(all, home, "teacher-" + i, "teacher", "--checkpoint", TinyBase.teacher().toString(),
            "--port", Integer.toString(port), "--metrics-port", "-1", "--shutdown-grace-s", "1"));
        teacherEndpoints.add("localhost:" + port);
      }
      List<Process> samplers = new ArrayList<>();
      List<String> samplerEndpoints = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        int port = freePort();
        samplers.add(start(all, home, "sampler-" + i, "sampler", "--trainer", "localhost:" + trainerPort,
            "--port", Integer.toString(port), "--metrics-port", "-1", "--slots", "4", "--shutdown-grace-s", "1"));
        samplerEndpoints.add("localhost:" + port);
      }
      teacherEndpoints.forEach(RoleProcessesTest::awaitTeacher);
      Path out = home.resolve("onpolicy");
      Process trainer = start(all, home, "trainer", trainerArgs(out, teacherEndpoints, "onpolicy.fraction=0.5",
          "onpolicy.samplers=" + String.join(",", samplerEndpoints), "onpolicy.prompt_tokens=8",
          "onpolicy.max_new_tokens=8", "onpolicy.publish_every=2", "onpolicy.patience_seconds=120",
          "server.port=" + trainerPort));
      await("3 steps trained", trainer, home.resolve("trainer.log"), () -> steps(out) >= 3);
      assertTrue(steps(out) < STEPS, "killed mid-run, not after it");
      long killedAt = steps(out);
      teachers.get(0).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      samplers.get(0).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      System.out.printf("role processes: a teacher and a sampler killed (SIGKILL) after step %d of %d%n", killedAt, STEPS);
      assertTrue(trainer.waitFor(PROCESS_SECONDS, TimeUnit.SECONDS), "the trainer did not finish");
      assertEquals(0, trainer.exitValue(), log(home, "trainer"));
      JsonNode report = JSON.readTree(out.resolve("student/report.json").toFile());
      assertEquals(STEPS, report.path("training").path("steps").asInt(), report.toString());
      assertEquals(0, report.path("training").path("fallback_rows").asInt(), "every on-policy row was a rollout");
    } finally {
      all.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void sigtermMidRun_checkpointsAndExits0_andTheRestartResumesToTheUninterruptedResult(@TempDir Path home)
      throws Exception {
    List<Process> all = new ArrayList<>();
    try {
      int port = freePort();
      start(all, home, "teacher", "teacher", "--checkpoint", TinyBase.teacher().toString(),
          "--port", Integer.toString(port), "--metrics-port", "-1", "--shutdown-grace-s", "1");
      List<String> teachers = List.of("localhost:" + port);
      awaitTeacher(teachers.get(0));
      Path whole = home.resolve("uninterrupted");
      Path cut = home.resolve("interrupted");
      Process reference = start(all, home, "reference", trainerArgs(whole, teachers, "server.port=-1"));
      Process first = start(all, home, "first", trainerArgs(cut, teachers, "server.port=-1"));
      await("3 steps trained", first, home.resolve("first.log"), () -> steps(cut) >= 3);
      long sigterm = System.nanoTime();
      first.destroy(); // SIGTERM
      assertTrue(first.waitFor(120, TimeUnit.SECONDS), "the trainer did not stop after SIGTERM");
      double stopSeconds = (System.nanoTime() - sigterm) / 1e9;
      assertEquals(0, first.exitValue(), log(home, "first"));
      long stoppedAt = steps(cut);
      assertTrue(stoppedAt < STEPS, "stopped mid-run: " + stoppedAt + " steps");
      assertTrue(Files.isDirectory(cut.resolve("checkpoints")), "a checkpoint was written");
      assertTrue(Files.readString(home.resolve("first.log")).contains("stopped after step " + stoppedAt),
          log(home, "first"));
      assertFalse(Files.exists(cut.resolve("student/report.json")), "the first run did not finish");
      System.out.printf("role processes: trainer sent SIGTERM stopped after step %d of %d with a checkpoint,"
          + " exit 0, %.1f s after the signal%n", stoppedAt, STEPS, stopSeconds);

      Process second = start(all, home, "second", trainerArgs(cut, teachers, "server.port=-1"));
      assertTrue(second.waitFor(PROCESS_SECONDS, TimeUnit.SECONDS), "the restarted trainer did not finish");
      assertEquals(0, second.exitValue(), log(home, "second"));
      assertTrue(reference.waitFor(PROCESS_SECONDS, TimeUnit.SECONDS), "the reference run did not finish");
      assertEquals(0, reference.exitValue(), log(home, "reference"));

      assertEquals(STEPS, steps(cut), "steps.jsonl lists each step once across the restart");
      JsonNode a = JSON.readTree(whole.resolve("student/report.json").toFile());
      JsonNode b = JSON.readTree(cut.resolve("student/report.json").toFile());
      assertEquals(STEPS, b.path("training").path("steps").asInt());
      assertEquals(a.path("overall"), b.path("overall"), "final held-out evaluation, uninterrupted vs resumed");
      assertEquals(a.path("training").path("final_train_loss"), b.path("training").path("final_train_loss"));
      assertTrue(Files.readString(home.resolve("second.log")).contains("resuming at step " + stoppedAt + " of " + STEPS),
          log(home, "second"));
      System.out.printf("role processes: resumed run's final KL %s = uninterrupted run's %s%n",
          b.path("overall").path("kl_after"), a.path("overall").path("kl_after"));
    } finally {
      all.forEach(Process::destroyForcibly);
    }
  }

  private static String[] trainerArgs(Path out, List<String> teachers, String... extra) {
    List<String> args = new ArrayList<>(List.of("trainer"));
    List<String> sets = new ArrayList<>(List.of("teacher.model=" + TinyBase.teacher(),
        "teacher.endpoints=" + String.join(",", teachers), "teacher.patience_seconds=120",
        "data.corpus=" + TinyBase.data(), "data.seq_len=64", "data.validation_fraction=0.1",
        "train.batch_size=8", "train.micro_batch=8", "train.steps=" + STEPS, "train.warmup_steps=2",
        "retrofit.kv_heads=1", "retrofit.alpha_ramp_steps=4", "loss.k=16", "onpolicy.fraction=0",
        "eval.every=0", "eval.sequences=4", "eval.continuations=0", "checkpoint.every=0", "output=" + out));
    sets.addAll(List.of(extra));
    sets.forEach(s -> args.addAll(List.of("--set", s)));
    args.addAll(List.of("--stop-grace-s", "120", "--metrics-port", "-1"));
    return args.toArray(String[]::new);
  }

  /** {@code graft ARGS} in its own JVM on the test classpath, output to {@code home/NAME.log}. */
  private static Process start(List<Process> all, Path home, String name, String... args) throws IOException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Dai.djl.offline=true",
        "-Dai.djl.pytorch.num_threads=1", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp", cp, GraftCommand.class.getName(), "--home", home.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("GRAFT_PLAINTEXT", "true"); // loopback: no certificates
    Files.createDirectories(home);
    pb.redirectErrorStream(true).redirectOutput(home.resolve(name + ".log").toFile());
    Process p = pb.start();
    all.add(p);
    return p;
  }

  /** Steps the run in {@code out} has logged so far. */
  private static long steps(Path out) {
    Path log = out.resolve("steps.jsonl");
    if (!Files.exists(log)) {
      return 0;
    }
    try (Stream<String> lines = Files.lines(log)) {
      return lines.filter(l -> !l.isBlank()).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Polls {@code condition} until it holds; fails if {@code process} ends first or after the deadline. */
  private static void await(String what, Process process, Path log, BooleanSupplier condition)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(PROCESS_SECONDS);
    while (!condition.getAsBoolean()) {
      if (!process.isAlive()) {
        throw new AssertionError("the process ended (exit " + process.exitValue() + ") before: " + what + "\n"
            + log(log.getParent(), log.getFileName().toString().replace(".log", "")));
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + PROCESS_SECONDS + " s: " + what);
      }
      process.waitFor(50, TimeUnit.MILLISECONDS); // the poll interval, ending early if the process does
    }
  }

  /** Waits until the teacher process at {@code endpoint} answers, as a readiness probe would. */
  private static void awaitTeacher(String endpoint) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(PROCESS_SECONDS);
    try (TeacherClient client = TeacherClient.builder().endpoints(List.of(endpoint)).deadline(Duration.ofSeconds(10))
        .maxAttempts(1).build()) {
      while (true) {
        try {
          client.info();
          return;
        } catch (TeacherUnavailableException e) {
          if (System.nanoTime() > end) {
            throw new AssertionError("teacher " + endpoint + " did not start: " + e.getMessage(), e);
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // poll interval, under the deadline above
        }
      }
    }
  }

  private static String log(Path home, String name) {
    try {
      return Files.readString(home.resolve(name + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
