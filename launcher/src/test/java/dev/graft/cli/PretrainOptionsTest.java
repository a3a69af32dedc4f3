package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PretrainOptionsTest {

  private static PretrainOptions parse(String... args) {
    PretrainOptions options = new PretrainOptions();
    new CommandLine(options).parseArgs(args);
    return options;
  }

  @Test
  void smallMqa_isTheSmallShapeWithOneKvHead() {
    LlamaConfig small = parse("--preset", "small").architecture(128).apply(4096);
    LlamaConfig mqa = parse("--preset", "small-mqa").architecture(128).apply(4096);
    assertEquals(8, small.numKeyValueHeads());
    assertEquals(1, mqa.numKeyValueHeads());
    assertEquals(small.withNumKeyValueHeads(1), mqa);
    assertEquals("base-small-mqa-brown", parse("--preset", "small-mqa").modelName("brown"));
  }

  @Test
  void smallMqa_raisesTheContextLikeSmall() {
    LlamaConfig mqa = parse("--preset", "small-mqa").architecture(512).apply(4096);
    assertEquals(512, mqa.maxPositionEmbeddings());
    assertEquals(1, mqa.numKeyValueHeads());
  }

  @Test
  void kvHeads_setsTheKeyValueHeadsOfThePreset_andNamesTheModel() {
    LlamaConfig gqa = parse("--preset", "small", "--kv-heads", "2").architecture(128).apply(4096);
    assertEquals(LlamaConfig.small(4096).withNumKeyValueHeads(2), gqa);
    assertEquals("base-small-kv2-brown", parse("--kv-heads", "2").modelName("brown"));
    assertEquals("base-small-brown", parse().modelName("brown"));
    assertEquals(4, parse("--preset", "small-mqa", "--kv-heads", "4").architecture(128).apply(4096).numKeyValueHeads());
  }

  @Test
  void kvHeads_thatDoNotDivideTheHeads_areRefusedBeforeTraining() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("--kv-heads", "3").architecture(128));
    assertEquals("--kv-heads (3) must be a divisor of the preset's 8 attention heads", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> parse("--kv-heads", "0").architecture(128));
    assertEquals("--kv-heads (0) must be a divisor of the preset's 8 attention heads", e.getMessage());
  }

  @Test
  void unknownPreset_namesTheChoices() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("--preset", "mqa").architecture(128));
    assertEquals("unknown --preset 'mqa' (expected small, small-mqa or tiny)", e.getMessage());
  }

  @Test
  void help_describesTheMqaPreset() {
    String usage = new CommandLine(new PretrainOptions()).getUsageMessage()
        .replaceAll("\\s+", " "); // help lines wrap
    assertTrue(usage.contains("small-mqa (small with one KV head: multi-query attention)"), usage);
  }
}
