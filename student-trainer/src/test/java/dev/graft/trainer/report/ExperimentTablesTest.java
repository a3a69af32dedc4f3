package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.trainer.distill.DistillReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExperimentTablesTest {

  @Test
  void exceeds_isTwiceTheStandardErrorOfTheDifference() {
    // means 1.0 and 1.3, std 0.1 each over 3 seeds: SE = sqrt(2 * 0.01 / 3) = 0.0816, 2 SE = 0.163
    assertTrue(ExperimentTables.exceeds(Spread.of(0.9, 1.0, 1.1), Spread.of(1.2, 1.3, 1.4)));
    // means 1.0 and 1.1: within
    assertFalse(ExperimentTables.exceeds(Spread.of(0.9, 1.0, 1.1), Spread.of(1.0, 1.1, 1.2)));
    // single values have no spread: any difference exceeds it
    assertTrue(ExperimentTables.exceeds(Spread.of(1.0), Spread.of(1.0001)));
  }

  @Test
  void armTable_andSeparations_holdTheArmsMeansAndSpread() {
    Map<String, List<DistillReport>> arms = new LinkedHashMap<>();
    arms.put("good", List.of(Reports.report(10, 0.5, 0.10, Reports.genres("news", 0.5, 0.1)),
        Reports.report(10, 0.5, 0.12, Reports.genres("news", 0.5, 0.12)),
        Reports.report(10, 0.5, 0.11, Reports.genres("news", 0.5, 0.11))));
    arms.put("bad", List.of(Reports.report(10, 0.5, 0.30, Reports.genres("news", 0.5, 0.3)),
        Reports.report(10, 0.5, 0.31, Reports.genres("news", 0.5, 0.31)),
        Reports.report(10, 0.5, 0.29, Reports.genres("news", 0.5, 0.29))));
    arms.put("near", List.of(Reports.report(10, 0.5, 0.11, Reports.genres("news", 0.5, 0.11)),
        Reports.report(10, 0.5, 0.13, Reports.genres("news", 0.5, 0.13)),
        Reports.report(10, 0.5, 0.10, Reports.genres("news", 0.5, 0.10))));
    String table = ExperimentTables.armTable(arms);
    assertTrue(table.contains("| good | 3 |") && table.contains("0.1100 ± 0.0100"), table);
    assertTrue(table.contains("0.3000 ± 0.0100"), table);
    String sep = ExperimentTables.separations(arms, List.<String[]>of(new String[] {"good", "bad"},
        new String[] {"good", "near"}));
    assertTrue(sep.contains("**forward KL on held-out text** (lower is better): best good (0.1100 ± 0.0100);"
        + " within the seed spread of it: near"), sep);
    assertTrue(sep.contains("good > bad; good ≈ near"), sep);
    assertFalse(sep.contains("own continuations"), "runs without continuations have no such line: " + sep);
    assertTrue(ExperimentTables.separations(Map.of("one", List.of(arms.get("good").get(0))), List.of())
        .contains("no seed spread"));
    String genres = ExperimentTables.genreTables(arms);
    assertTrue(genres.contains("| news | 78.0% ± 2.0 pp | 40.0% ± 2.0 pp |"), genres);
  }
}
