package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchAllCommandTest {

  @Test
  void quickRun_reportsEachPhaseAgainstItsLimit_withTheDecodeBreakdown(@TempDir Path home) throws Exception {
    CommandLine cl = GraftCommand.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(0, cl.execute("--home", home.toString(), "bench", "all", "--quick", "--phases", "sampler,sync"),
        err.toString());
    JsonNode r = new ObjectMapper().readTree(home.resolve("bench/all.json").toFile());
    assertTrue(r.get("machine").get("gemm_model_shapes_gflops").asDouble() > 0);
    JsonNode rows = r.get("against_limit");
    assertEquals(List.of("sampler decode", "sampler decode", "weight sync"),
        List.of(rows.get(0).get("phase").asText(), rows.get(1).get("phase").asText(), rows.get(2).get("phase").asText()));
    for (JsonNode row : rows) {
      assertEquals(row.get("achieved").asDouble() / row.get("limit").asDouble(), row.get("share_of_limit").asDouble(),
          1e-12);
    }
    JsonNode b = r.get("sampler").get("decode_step_breakdown").get("batch1").get("breakdown_seconds");
    double sum = 0;
    for (String g : List.of("projections", "attention", "norms_activations", "vocabulary_head", "sampling",
        "java_and_overhead")) {
      sum += b.get(g).asDouble();
    }
    assertEquals(r.get("sampler").get("decode_step_breakdown").get("batch1").get("step_seconds").asDouble(), sum, 1e-9);
    assertTrue(Files.readString(home.resolve("bench/all.txt")).contains("share"));
  }

  @Test
  void noPhase_isRefused(@TempDir Path home) {
    CommandLine cl = GraftCommand.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute("--home", home.toString(), "bench", "all", "--quick", "--phases", "nonsense"));
    assertTrue(err.toString().contains("Invalid value for option '--phases'"), err.toString());
  }
}
