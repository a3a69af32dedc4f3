package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The role commands take every option from a {@code GRAFT_<ROLE>_<OPTION>} environment variable
 * when the flag is absent (how a pod configures them), a flag wins over the variable, and a bad
 * value is refused naming the option. Each case parses in a child JVM with exactly the given
 * environment: picocli reads {@code ${env:...}} from the process environment, which a test must
 * not change in its own JVM.
 */
class RoleEnvDefaultsTest {

  @Test
  void teacher_readsEveryOptionFromItsEnvironment_andAFlagWins() throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("GRAFT_TEACHER_CHECKPOINT", "/var/lib/graft/models/m");
    env.put("GRAFT_TEACHER_PORT", "6001");
    env.put("GRAFT_TEACHER_METRICS_PORT", "7001");
    env.put("GRAFT_TEACHER_MAX_SEQUENCE_LENGTH", "512");
    env.put("GRAFT_TEACHER_MAX_TOKENS_PER_REQUEST", "4096");
    env.put("GRAFT_TEACHER_CAPACITY_TOKENS", "65536");
    env.put("GRAFT_TEACHER_MAX_BATCH_TOKENS", "8192");
    env.put("GRAFT_TEACHER_MAX_WAIT_MS", "7");
    env.put("GRAFT_TEACHER_CHUNK_BYTES", "2048");
    env.put("GRAFT_TEACHER_MAX_HIDDEN_STATE_BYTES", "65536");
    env.put("GRAFT_TEACHER_VOCAB_BUDGET_MB", "128");
    env.put("GRAFT_TEACHER_SHUTDOWN_GRACE_S", "12");
    env.put("GRAFT_DEVICE", "cpu");
    Map<String, String> parsed = probe(env, "teacher", "--metrics-port", "7100");

    assertEquals(Path.of("/var/lib/graft/models/m").toString(), parsed.get("--checkpoint"));
    assertEquals("6001", parsed.get("--port"));
    assertEquals("7100", parsed.get("--metrics-port"), "a flag wins over GRAFT_TEACHER_METRICS_PORT");
    assertEquals("512", parsed.get("--max-sequence-length"));
    assertEquals("4096", parsed.get("--max-tokens-per-request"));
    assertEquals("65536", parsed.get("--capacity-tokens"));
    assertEquals("8192", parsed.get("--max-batch-tokens"));
    assertEquals("7", parsed.get("--max-wait-ms"));
    assertEquals("2048", parsed.get("--chunk-bytes"));
    assertEquals("65536", parsed.get("--max-hidden-state-bytes"));
    assertEquals("128", parsed.get("--vocab-budget-mb"));
    assertEquals("12", parsed.get("--shutdown-grace-s"));
    assertEquals("cpu", parsed.get("--device"));
  }

  @Test
  void sampler_takesTheTrainerAndPortsFromItsEnvironment() throws Exception {
    Map<String, String> parsed = probe(Map.of(
        "GRAFT_SAMPLER_TRAINER", "graft-trainer:50053",
        "GRAFT_SAMPLER_PORT", "6002",
        "GRAFT_SAMPLER_METRICS_PORT", "7002",
        "GRAFT_SAMPLER_SLOTS", "4",
        "GRAFT_SAMPLER_MAX_QUEUED", "64",
        "GRAFT_SAMPLER_MAX_NEW_TOKENS", "256",
        "GRAFT_SAMPLER_SHUTDOWN_GRACE_S", "20"), "sampler");

    assertEquals("graft-trainer:50053", parsed.get("--trainer"));
    assertEquals("6002", parsed.get("--port"));
    assertEquals("7002", parsed.get("--metrics-port"));
    assertEquals("4", parsed.get("--slots"));
    assertEquals("64", parsed.get("--max-queued"));
    assertEquals("256", parsed.get("--max-new-tokens"));
    assertEquals("20", parsed.get("--shutdown-grace-s"));
  }

  @Test
  void trainer_readsItsRunConfigPathFromGraftConfig() throws Exception {
    Map<String, String> parsed = probe(Map.of("GRAFT_CONFIG", "/etc/graft/run.yaml", "GRAFT_DEVICE", "gpu:1"),
        "trainer");

    assertEquals(Path.of("/etc/graft/run.yaml").toString(), parsed.get("--config"));
    assertEquals("gpu:1", parsed.get("--device"));
  }

  @Test
  void withoutEnvironment_theDocumentedDefaultsHold_andTheSamplerLeavesTrainerAndModelUnset() throws Exception {
    Map<String, String> teacher = probe(Map.of(), "teacher");
    assertEquals("50051", teacher.get("--port"));
    assertEquals("9464", teacher.get("--metrics-port"));
    assertEquals("null", teacher.get("--checkpoint"));
    assertEquals("null", teacher.get("--vocab-budget-mb"));
    assertEquals("auto", teacher.get("--device"));

    // Neither --trainer nor --model (GRAFT_SAMPLER_MODEL) parses; running refuses it (SamplerCommandTest).
    Map<String, String> sampler = probe(Map.of(), "sampler");
    assertEquals("null", sampler.get("--trainer"));
    assertEquals("null", sampler.get("--model"));
  }

  @Test
  void aMalformedVariable_isRefusedNamingTheOption() throws Exception {
    Map<String, String> parsed = probe(Map.of("GRAFT_TEACHER_PORT", "fifty"), "teacher");

    String error = parsed.get("error");
    assertTrue(error != null && error.contains("--port") && error.contains("'fifty' is not an int"),
        "error: " + error);
  }

  /** Runs {@link RoleEnvProbe} with exactly {@code env} (plus PATH) and returns its option values. */
  private static Map<String, String> probe(Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-Xmx128m", "-cp", System.getProperty("java.class.path"), RoleEnvProbe.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    String path = pb.environment().get("PATH");
    pb.environment().clear();
    if (path != null) {
      pb.environment().put("PATH", path);
    }
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not exit");
    assertEquals(0, p.exitValue(), out);
    Map<String, String> values = new LinkedHashMap<>();
    for (String line : out.lines().toList()) {
      int eq = line.indexOf('=');
      if (eq > 0 && (line.startsWith("--") || line.startsWith("error="))) {
        values.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return values;
  }
}
