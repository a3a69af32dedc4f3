package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module layout's rules, checked on the main sources' imports: every arrow points from a role
 * to what it uses, a role uses another role's api and never its server, the trainer uses only the
 * publish side of weight sync and the sampler only the subscribe side, and no service does the
 * model's arithmetic.
 */
class ArchitectureTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern IMPORT = Pattern.compile("^import (?:static )?(dev\\.graft\\.[\\w.]+);", Pattern.MULTILINE);

  /** Module → package prefixes its main code must not import. */
  private static final Map<String, List<String>> FORBIDDEN = Map.of(
      "model", List.of("dev.graft.service", "dev.graft.teacher", "dev.graft.sampler", "dev.graft.sync",
          "dev.graft.trainer", "dev.graft.cli", "dev.graft.proto"),
      "service-common", List.of("dev.graft.teacher", "dev.graft.sampler", "dev.graft.sync", "dev.graft.trainer",
          "dev.graft.cli"),
      "teacher-api", List.of("dev.graft.teacher.server", "dev.graft.sampler", "dev.graft.sync", "dev.graft.trainer",
          "dev.graft.cli"),
      "teacher-service", List.of("dev.graft.sampler", "dev.graft.sync", "dev.graft.trainer", "dev.graft.cli"),
      "sampler-api", List.of("dev.graft.sampler.server", "dev.graft.teacher", "dev.graft.sync", "dev.graft.trainer",
          "dev.graft.cli"),
      "sampler-service", List.of("dev.graft.teacher", "dev.graft.sync.publish", "dev.graft.trainer", "dev.graft.cli",
          // decoding is the model's: the sampler schedules, samples and streams
          "dev.graft.model.Attention", "dev.graft.model.AttentionCore", "dev.graft.model.RotaryEmbedding",
          "dev.graft.model.RmsNorm", "dev.graft.model.Linear", "dev.graft.model.FeedForward",
          "dev.graft.model.KvCache", "dev.graft.model.DecodeStep", "dev.graft.model.Scalars"),
      "weight-sync", List.of("dev.graft.teacher", "dev.graft.sampler", "dev.graft.trainer", "dev.graft.cli"),
      "student-trainer", List.of("dev.graft.teacher.server", "dev.graft.sampler.server", "dev.graft.sync.subscribe",
          "dev.graft.cli"),
      "kube-submit", List.of("dev.graft.teacher.server", "dev.graft.sampler.server", "dev.graft.sync", "dev.graft.cli"),
      "kube-discovery", List.of("dev.graft.model", "dev.graft.teacher", "dev.graft.sampler", "dev.graft.sync",
          "dev.graft.trainer", "dev.graft.cli"));

  @Test
  void everyModuleImportsOnlyWhatItsRoleMayUse() throws IOException {
    List<String> violations = new ArrayList<>();
    for (var e : FORBIDDEN.entrySet()) {
      Path src = ROOT.resolve(e.getKey()).resolve("src/main/java");
      assertTrue(Files.isDirectory(src), "no module " + src);
      for (Path file : javaFiles(src)) {
        Matcher m = IMPORT.matcher(Files.readString(file));
        while (m.find()) {
          String imported = m.group(1);
          for (String bad : e.getValue()) {
            if (imported.equals(bad) || imported.startsWith(bad + ".")) {
              violations.add(ROOT.relativize(file) + " imports " + imported);
            }
          }
        }
      }
    }
    assertEquals(List.of(), violations);
  }

  @Test
  void weightSyncSides_doNotUseEachOther() throws IOException {
    List<String> violations = new ArrayList<>();
    Path sync = ROOT.resolve("weight-sync/src/main/java/dev/graft/sync");
    for (String[] rule : new String[][] {{"publish", "dev.graft.sync.subscribe"}, {"subscribe", "dev.graft.sync.publish"}}) {
      for (Path file : javaFiles(sync.resolve(rule[0]))) {
        if (Files.readString(file).contains("import " + rule[1] + ".")) {
          violations.add(ROOT.relativize(file) + " imports " + rule[1]);
        }
      }
    }
    for (Path file : javaFiles(sync)) {
      boolean shared = file.getParent().equals(sync);
      String text = Files.readString(file);
      if (shared && (text.contains("import dev.graft.sync.publish.") || text.contains("import dev.graft.sync.subscribe."))) {
        violations.add(ROOT.relativize(file) + ": shared weight-sync types depend on one side");
      }
    }
    assertEquals(List.of(), violations);
  }

  /** The Kubernetes client stays out of the roles: only kube-discovery, kube-submit and the launcher use it. */
  @Test
  void onlyTheKubeModulesAndTheLauncher_importFabric8() throws IOException {
    List<String> violations = new ArrayList<>();
    for (String module : List.of("model", "service-common", "teacher-api", "teacher-service", "sampler-api",
        "sampler-service", "weight-sync", "student-trainer")) {
      for (Path file : javaFiles(ROOT.resolve(module).resolve("src/main/java"))) {
        if (Files.readString(file).contains("import io.fabric8.")) {
          violations.add(ROOT.relativize(file) + " imports io.fabric8");
        }
      }
    }
    assertEquals(List.of(), violations);
  }

  private static List<Path> javaFiles(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    }
  }
}
