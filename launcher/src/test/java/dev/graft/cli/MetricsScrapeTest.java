package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.sampler.server.SamplerReplica;
import dev.graft.sampler.server.SamplerServer;
import dev.graft.service.HostPort;
import dev.graft.sync.subscribe.WeightSubscriber;
import dev.graft.teacher.server.TeacherServer;
import dev.graft.trainer.Home;
import dev.graft.trainer.Trainer;
import dev.graft.trainer.distill.DistillReport;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each role's real {@code /metrics}, scraped over HTTP after a tiny on-policy run on loopback (a
 * teacher-service, a sampler-service following the trainer's weights, and the trainer), passes
 * {@code promtool check metrics} and carries the documented meters with the right types; the
 * Grafana dashboard asks only for series the roles export.
 */
class MetricsScrapeTest {

  /** The documented meters of each role (docs/kubernetes.md, "Metrics"), by Prometheus type. */
  static final Map<String, Map<String, String>> DOCUMENTED = Map.of(
      "teacher", types(
          "graft_teacher_tokens_scored_total", "counter",
          "graft_teacher_requests_total", "counter",
          "graft_teacher_request_latency_seconds", "histogram",
          "graft_teacher_inflight_requests", "gauge",
          "graft_teacher_queue_depth", "gauge",
          "graft_teacher_inflight_tokens", "gauge",
          "graft_teacher_batch_requests", "histogram",
          "graft_teacher_batch_sequences", "histogram",
          "graft_teacher_batch_tokens", "histogram",
          "graft_teacher_batch_padded_tokens", "histogram"),
      "sampler", types(
          "graft_sampler_tokens_generated_total", "counter",
          "graft_sampler_requests_total", "counter",
          "graft_sampler_request_latency_seconds", "histogram",
          "graft_sampler_queue_depth", "gauge",
          "graft_sampler_active_slots", "gauge",
          "graft_sampler_batch_occupancy", "histogram",
          "graft_sampler_policy_version", "gauge",
          "graft_sampler_policy_switches_total", "counter",
          "graft_sync_rejects_total", "counter",
          "graft_sync_versions_installed_total", "counter",
          "graft_sync_policies_retired_total", "counter",
          "graft_sync_fetched_bytes_total", "counter",
          "graft_sync_fetch_seconds", "summary",
          "graft_sync_announced_version", "gauge"),
      "trainer", types(
          "graft_trainer_step", "gauge",
          "graft_trainer_steps_total", "counter",
          "graft_trainer_loss", "gauge",
          "graft_trainer_heldout_kl", "gauge",
          "graft_trainer_heldout_mean_alpha", "gauge",
          "graft_trainer_tokens_trained_total", "counter",
          "graft_trainer_rollout_lag_min", "gauge",
          "graft_trainer_rollout_lag_mean", "gauge",
          "graft_trainer_rollout_lag_max", "gauge",
          "graft_trainer_batch_wait_seconds_total", "counter",
          "graft_trainer_waiting_fraction", "gauge",
          "graft_trainer_policy_version", "gauge",
          "graft_trainer_publish_seconds", "summary",
          "graft_trainer_rollouts_stale_dropped_total", "counter",
          "graft_trainer_rollouts_foreign_dropped_total", "counter",
          "graft_trainer_fallback_rows_total", "counter",
          "graft_trainer_waiting", "gauge",
          "graft_trainer_waits_total", "counter",
          "graft_trainer_waited_seconds_total", "counter"));

  /** What every role carries besides its own: JVM, process and gRPC server meters. */
  static final Map<String, String> COMMON = types(
      "jvm_memory_used_bytes", "gauge",
      "jvm_gc_memory_allocated_bytes_total", "counter", // jvm_gc_pause_seconds comes with the first collection
      "jvm_threads_live_threads", "gauge",
      "jvm_classes_loaded_classes", "gauge",
      "process_cpu_usage", "gauge",
      "system_cpu_processors", "gauge",
      "process_cpu_seconds_total", "counter",
      "process_uptime_seconds", "gauge",
      "process_files_open_files", "gauge",
      "grpc_server_processing_duration_seconds", "summary",
      "grpc_server_requests_received_messages_total", "counter",
      "grpc_server_responses_sent_messages_total", "counter");

  /** The dashboard shipped for a run. */
  static final Path DASHBOARD = Path.of("..", "k8s", "grafana", "graft-run.json");

  private static final Pattern TYPE = Pattern.compile("^# TYPE (\\S+) (\\S+)$", Pattern.MULTILINE);
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", Pattern.MULTILINE);

  private static final Map<String, String> scrapes = new LinkedHashMap<>();
  private static Path dir;
  private static DistillReport report;

  @BeforeAll
  static void runAndScrape() throws Exception {
    dir = Files.createTempDirectory("graft-metrics");
    RunConfig cfg = RunConfig.load(null, List.of("teacher.model=" + TinyBase.teacher(),
        "data.corpus=" + TinyBase.data(), "data.seq_len=64", "data.validation_fraction=0.1",
        "train.batch_size=8", "train.micro_batch=8", "train.steps=4", "train.warmup_steps=1",
        "retrofit.alpha_ramp_steps=2", "loss.k=16", "onpolicy.fraction=0.5", "onpolicy.prompt_tokens=8",
        "onpolicy.max_new_tokens=8", "onpolicy.publish_every=2", "eval.every=2", "eval.sequences=4",
        "checkpoint.every=0", "server.port=0", "server.metrics_port=0", "output=" + dir.resolve("run")));
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    List<AutoCloseable> open = new ArrayList<>();
    try {
      Trainer trainer = Trainer.open(RunPlan.of(cfg), new Home(dir), null, true, quiet);
      open.add(0, trainer);
      TeacherServer teacher = TeacherServer.builder().checkpoint(TinyBase.teacher()).port(0).metricsPort(0)
          .maxSequenceLength(64).shutdownGrace(Duration.ofMillis(200)).build().start();
      open.add(0, teacher);
      SamplerReplica sampler = SamplerReplica.start(SamplerServer.builder().port(0).metricsPort(0).slots(4)
          .shutdownGrace(Duration.ofMillis(200)), WeightSubscriber.builder().endpoint("localhost:" + trainer.port()));
      open.add(0, sampler);
      report = trainer.run(List.of(new HostPort("localhost", teacher.port())),
          List.of(new HostPort("localhost", sampler.port())), false);
      scrapes.put("teacher", scrape(teacher.metricsPort()));
      scrapes.put("sampler", scrape(sampler.metricsPort()));
      scrapes.put("trainer", scrape(trainer.metricsPort()));
      Path out = Files.createDirectories(Path.of("target", "metrics-scrapes")); // kept for reading
      for (var e : scrapes.entrySet()) {
        Files.writeString(out.resolve(e.getKey() + ".prom"), e.getValue(), StandardCharsets.UTF_8);
      }
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
      }
    }
  }

  private static String scrape(int port) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics")).timeout(Duration.ofSeconds(30))
            .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), "GET /metrics on port " + port);
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
        "content type " + r.headers());
    return r.body();
  }

  private static Map<String, String> types(String... nameType) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < nameType.length; i += 2) {
      m.put(nameType[i], nameType[i + 1]);
    }
    return m;
  }

  /** Metric family name → type, from the {@code # TYPE} lines. */
  static Map<String, String> declaredTypes(String text) {
    Map<String, String> m = new LinkedHashMap<>();
    Matcher t = TYPE.matcher(text);
    while (t.find()) {
      m.put(t.group(1), t.group(2));
    }
    return m;
  }

  /** Every series name a scrape has samples of ({@code _bucket}, {@code _count} etc. included). */
  static Set<String> seriesNames(String text) {
    Set<String> names = new TreeSet<>();
    Matcher s = SAMPLE.matcher(text);
    while (s.find()) {
      names.add(s.group(1));
    }
    return names;
  }

  /** The value of the sample written exactly as {@code series} (name and labels), or NaN. */
  static double value(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
      }
    }
    return Double.NaN;
  }

  @Test
  void everyRole_exportsItsDocumentedMeters_withTheirTypes() {
    for (String role : List.of("teacher", "sampler", "trainer")) {
      Map<String, String> declared = declaredTypes(scrapes.get(role));
      Map<String, String> expected = new LinkedHashMap<>(DOCUMENTED.get(role));
      expected.putAll(COMMON);
      expected.forEach((name, type) -> assertEquals(type, declared.get(name),
          role + ": # TYPE of " + name + " among " + declared.keySet()));
    }
  }

  @Test
  void meters_holdValuesOfTheRunJustMade() {
    String trainer = scrapes.get("trainer");
    String teacher = scrapes.get("teacher");
    String sampler = scrapes.get("sampler");
    assertEquals(4, value(trainer, "graft_trainer_steps_total"), trainer);
    assertEquals(report.outcome().tokensSeen(), value(trainer, "graft_trainer_tokens_trained_total"), trainer);
    assertEquals(report.outcome().lastPolicyVersion(), value(trainer, "graft_trainer_policy_version"));
    assertTrue(value(trainer, "graft_trainer_heldout_kl") > 0, trainer);
    assertTrue(value(trainer, "graft_trainer_publish_seconds_count") >= 2, "version 0 and 2 were published");
    double fraction = value(trainer, "graft_trainer_waiting_fraction");
    assertTrue(fraction >= 0 && fraction <= 1, "waiting fraction " + fraction);
    assertTrue(value(trainer, "graft_trainer_rollout_lag_max") >= value(trainer, "graft_trainer_rollout_lag_min"));
    assertTrue(value(teacher, "graft_teacher_tokens_scored_total") > 0, teacher);
    assertEquals(0, value(teacher, "graft_teacher_inflight_requests"), "nothing in flight after the run");
    assertTrue(value(sampler, "graft_sync_versions_installed_total") >= 1, sampler);
    assertEquals(0, value(sampler, "graft_sync_rejects_total{reason=\"checksum_mismatch\"}"), sampler);
    assertTrue(value(sampler, "graft_sampler_tokens_generated_total") > 0, sampler);
    // gRPC meters on both ends of the score calls: the trainer's channels, the teacher's server.
    assertTrue(trainer.contains("grpc_client_processing_duration_seconds_count{method=\"Score\""), trainer);
    assertTrue(teacher.contains("grpc_server_processing_duration_seconds_count{method=\"Score\""), teacher);
    assertTrue(sampler.contains("grpc_client_processing_duration_seconds_count{method=\"WatchVersions\"")
        || sampler.contains("grpc_client_processing_duration_seconds_count{method=\"FetchWeights\""), sampler);
  }

  @Test
  void syncRejects_haveOneSeriesPerReason() {
    String sampler = scrapes.get("sampler");
    for (var r : dev.graft.sync.subscribe.RejectReason.values()) {
      String series = "graft_sync_rejects_total{reason=\"" + dev.graft.sync.subscribe.SubscriberMetrics.tag(r) + "\"}";
      assertFalse(Double.isNaN(value(sampler, series)), series + " in\n" + sampler);
    }
  }

  @Test
  void noMeter_isTaggedWithAnAddress() {
    Pattern address = Pattern.compile("(localhost|127\\.0\\.0\\.1):\\d+");
    scrapes.forEach((role, text) -> {
      Matcher m = address.matcher(text);
      assertFalse(m.find(), role + " exports an address: " + (m.hitEnd() ? "" : m.group()));
    });
  }

  @Test
  void promtool_checkMetrics_passesOnEveryRole() throws Exception {
    assumeTrue(onPath("promtool"), "promtool is not on PATH; install it (Debian: apt-get install prometheus) to run"
        + " `promtool check metrics` on each role's scrape");
    for (var e : scrapes.entrySet()) {
      Path file = dir.resolve(e.getKey() + ".prom");
      Files.writeString(file, e.getValue(), StandardCharsets.UTF_8);
      Process p = new ProcessBuilder("promtool", "check", "metrics").redirectInput(file.toFile())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish on " + e.getKey());
      assertEquals(0, p.exitValue(), e.getKey() + ": promtool check metrics said:\n" + out);
      assertEquals("", out.trim(), e.getKey() + ": promtool lint warnings:\n" + out);
    }
  }

  @Test
  void dashboard_asksOnlyForSeriesTheRolesExport() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    assertEquals("DS_PROMETHEUS", dashboard.at("/__inputs/0/name").asText(), "the datasource is an input");
    Set<String> exported = new TreeSet<>();
    scrapes.values().forEach(text -> exported.addAll(seriesNames(text)));
    Set<String> asked = new TreeSet<>();
    for (JsonNode panel : dashboard.get("panels")) {
      String title = panel.get("title").asText();
      assertEquals("${DS_PROMETHEUS}", panel.at("/datasource/uid").asText(), title);
      assertTrue(panel.get("targets").size() > 0, title + " has no query");
      for (JsonNode target : panel.get("targets")) {
        Set<String> names = PromQl.metricNames(target.get("expr").asText());
        assertFalse(names.isEmpty(), title + ": no metric in " + target.get("expr"));
        for (String name : names) {
          assertTrue(exported.contains(name), title + ": " + name + " is exported by no role");
        }
        asked.addAll(names);
      }
    }
    for (JsonNode variable : dashboard.at("/templating/list")) {
      Matcher m = Pattern.compile("label_values\\((\\w+),").matcher(variable.get("definition").asText());
      assertTrue(m.find() && exported.contains(m.group(1)), "variable " + variable.get("name") + " queries "
          + variable.get("definition"));
    }
    for (String needed : List.of("graft_trainer_loss", "graft_trainer_heldout_kl",
        "graft_trainer_tokens_trained_total", "graft_teacher_tokens_scored_total", "graft_trainer_rollout_lag_max",
        "graft_trainer_batch_wait_seconds_total", "graft_teacher_queue_depth", "graft_sampler_queue_depth",
        "graft_trainer_publish_seconds_sum", "graft_sync_fetch_seconds_sum", "graft_sync_rejects_total",
        "graft_trainer_policy_version", "graft_sampler_policy_version", "jvm_memory_used_bytes")) {
      assertTrue(asked.contains(needed), "no panel shows " + needed + "; panels ask for " + asked);
    }
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, command))) {
        return true;
      }
    }
    return false;
  }
}
