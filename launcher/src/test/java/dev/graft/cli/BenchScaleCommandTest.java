package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.model.LlamaConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchScaleCommandTest {

  @Test
  void family_atTheLargestHiddenSize_isTheLlama32OneBShape_withTheLayersAsked() {
    LlamaConfig c = BenchScaleCommand.family(2048, 128256, 2, 4096);
    assertEquals(2048, c.hiddenSize());
    assertEquals(32, c.numAttentionHeads());
    assertEquals(8, c.numKeyValueHeads());
    assertEquals(8192, c.intermediateSize());
    assertEquals(128256, c.vocabSize());
    assertEquals(2, c.numHiddenLayers());
    assertTrue(c.tieWordEmbeddings());
  }

  @Test
  void slope_ofAPowerLaw_isItsExponent() {
    List<double[]> xy = List.of(new double[] {Math.log(2), Math.log(3 * 4)}, new double[] {Math.log(4), Math.log(3 * 16)},
        new double[] {Math.log(8), Math.log(3 * 64)});
    assertEquals(2.0, BenchScaleCommand.slope(xy), 1e-12);
    var e = assertThrows(IllegalArgumentException.class,
        () -> BenchScaleCommand.slope(List.of(new double[] {1, 1}, new double[] {1, 2})));
    assertEquals("a growth exponent needs at least two different sizes", e.getMessage());
  }

  @Test
  void exponents_arePerSweep_andSkipMissingFigures() {
    List<Map<String, Object>> rows = List.of(
        Map.of("sweep", "vocab_size", "value", 1000L, "parameters", 10.0, "sampler_tokens_per_second", 100.0),
        Map.of("sweep", "vocab_size", "value", 10000L, "parameters", 100.0, "sampler_tokens_per_second", 10.0),
        Map.of("sweep", "seq_len", "value", 16L, "parameters", 5.0));
    var exps = BenchScaleCommand.exponents(rows);
    assertEquals(1.0, exps.get("vocab_size").get("parameters"), 1e-12);
    assertEquals(-1.0, exps.get("vocab_size").get("sampler_tokens_per_second"), 1e-12);
    assertFalse(exps.get("vocab_size").containsKey("load_seconds"));
    assertEquals(Map.of(), exps.get("seq_len")); // one point: no slope
  }

  @Test
  void loadProbe_onADirectoryWithoutACheckpoint_isReportedWithTheDirectory(@TempDir Path dir) {
    assertTrue(BenchScaleCommand.hasLoadProbe(), "the load probe is part of this build");
    var e = assertThrows(IllegalStateException.class, () -> BenchScaleCommand.loadProbe(dir));
    assertTrue(e.getMessage().startsWith("dev.graft.checkpoint.LoadProbe failed on " + dir + " (exit 1)"),
        e.getMessage());
  }

  @Test
  void layers_belowOne_isRefused() {
    BenchScaleCommand cmd = new BenchScaleCommand();
    cmd.layers = 0;
    var e = assertThrows(IllegalArgumentException.class, cmd::points);
    assertEquals("--layers must be >= 1, got 0", e.getMessage());
  }

  @Test
  void quickRun_writesEveryFigureTheTableAndOneChartPerSweep(@TempDir Path home) throws Exception {
    CommandLine cl = GraftCommand.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(0, cl.execute("--home", home.toString(), "bench", "scale", "--quick", "--layers", "1"),
        err.toString());
    JsonNode r = new ObjectMapper().readTree(home.resolve("bench/scale.json").toFile());
    assertEquals(6, r.get("points").size());
    assertEquals("every model has 1 layer(s); Llama-3.2-1B has 16", r.get("note").asText());
    for (JsonNode p : r.get("points")) {
      for (String key : List.of("parameters", "teacher_tokens_per_second", "trainer_tokens_per_second",
          "wire_bytes_per_token_top64_bf16", "sampler_tokens_per_second")) {
        assertTrue(p.get(key).asDouble() > 0, key + " of " + p);
      }
    }
    // parameters grow with vocabulary by exactly the embedding rows: 64 per token at hidden 64
    JsonNode vocab = r.get("points").get(3);
    assertEquals(1024, vocab.get("vocab_size").asInt());
    assertEquals(r.get("points").get(2).get("parameters").asLong() + 768L * 64,
        vocab.get("parameters").asLong());
    assertTrue(r.get("growth_exponents").get("hidden_size").has("parameters"));
    for (String sweep : List.of("hidden_size", "vocab_size", "seq_len")) {
      assertTrue(Files.readString(home.resolve("bench/scale-" + sweep + ".svg")).contains("<svg"));
    }
    assertTrue(Files.readString(home.resolve("bench/scale.txt")).contains("growth exponents"));
  }
}
