package dev.graft.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.tokenizer.BpeModel.Merge;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void train_tinyCorpus_mergesMostFrequentPairFirstAndBreaksTiesByLowerIds() {
    // Pieces "aaab", " aaab", " ab". Counts: (a,a)=4 > (a,b)=3; then (aa,ab)=2; then
    // (Ġ,ab) and (Ġ,aaab) tie at 1 and "ab" (id 260) precedes "aaab" (id 261).
    BpeModel model = BpeTrainer.train(List.of("aaab aaab ab"), 1000);

    assertEquals(
        List.of(new Merge("a", "a"), new Merge("a", "b"), new Merge("aa", "ab"),
            new Merge("Ġ", "ab"), new Merge("Ġ", "aaab")),
        model.merges());
    assertEquals(List.of("aa", "ab", "aaab", "Ġab", "Ġaaab"),
        model.tokens().subList(BpeTrainer.MIN_VOCAB_SIZE, model.vocabSize()));
  }

  @Test
  void train_tinyCorpus_loadedTokenizerUsesTheMerges() throws IOException {
    BpeModel model = BpeTrainer.train(List.of("aaab aaab ab"), 1000);

    try (GraftTokenizer tokenizer = GraftTokenizer.load(model.write(dir))) {
      assertArrayEquals(new int[] {261, 263, 262}, tokenizer.encode("aaab aaab ab"));
      assertArrayEquals(new int[] {259, 3 + 'a'}, tokenizer.encode("aaa"));
    }
  }

  @Test
  void train_corpusRunsOutOfPairs_stopsWithSmallerVocabulary() {
    BpeModel model = BpeTrainer.train(List.of("aaab aaab ab"), 1000);

    assertEquals(BpeTrainer.MIN_VOCAB_SIZE + 5, model.vocabSize());
  }

  @Test
  void train_enoughText_vocabularyHasExactlyRequestedSize() throws IOException {
    BpeModel model = BpeTrainer.train(TestCorpus.documents(400, 1), 700);
    Path written = model.write(dir);

    assertEquals(700, model.vocabSize());
    assertEquals(700, JSON.readTree(written.toFile()).path("model").path("vocab").size());
    try (GraftTokenizer tokenizer = GraftTokenizer.load(written)) {
      assertEquals(700, tokenizer.vocabSize());
    }
  }

  @Test
  void train_frequentWords_becomeSingleTokens() throws IOException {
    BpeModel model = BpeTrainer.train(TestCorpus.documents(400, 2), 1000);

    try (GraftTokenizer tokenizer = GraftTokenizer.load(model.write(dir))) {
      for (String word : List.of(" the", " of", " and", " which", " people", "The")) {
        int[] ids = tokenizer.encode(word);
        assertEquals(1, ids.length, () -> "'" + word + "' should be one token");
        assertEquals(word, tokenizer.decode(ids));
      }
    }
  }

  @Test
  void train_incrementalCounts_matchRecountingEveryPair() {
    List<String> docs = TestCorpus.documents(150, 6);

    assertEquals(NaiveBpeTrainer.merges(docs, 600), BpeTrainer.train(docs, 600).merges());
  }

  @Test
  void train_sameCorpusTwice_writesByteIdenticalFiles() throws IOException {
    Path first = BpeTrainer.train(TestCorpus.documents(300, 3), 800).write(dir.resolve("a"));
    Path second = BpeTrainer.train(TestCorpus.documents(300, 3), 800).write(dir.resolve("b"));

    assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));
    assertArrayEquals(
        Files.readAllBytes(first.resolveSibling(BpeModel.TOKENIZER_CONFIG_JSON)),
        Files.readAllBytes(second.resolveSibling(BpeModel.TOKENIZER_CONFIG_JSON)));
  }

  @Test
  void train_documentsInAnotherOrder_givesSameModel() {
    List<String> docs = TestCorpus.documents(300, 4);
    List<String> shuffled = new ArrayList<>(docs);
    Collections.shuffle(shuffled, new Random(99));

    assertEquals(BpeTrainer.train(docs, 800), BpeTrainer.train(shuffled.stream(), 800));
  }

  @Test
  void write_specialTokens_areIds0To2AndNamedInConfig() throws IOException {
    Path written = BpeTrainer.train(TestCorpus.documents(50, 5), 300).write(dir);
    JsonNode root = JSON.readTree(written.toFile());
    JsonNode config = JSON.readTree(written.resolveSibling("tokenizer_config.json").toFile());

    JsonNode added = root.path("added_tokens");
    assertEquals(3, added.size());
    for (SpecialToken special : SpecialToken.values()) {
      JsonNode token = added.get(special.id());
      assertEquals(special.content(), token.path("content").asText());
      assertEquals(special.id(), token.path("id").asInt());
      assertTrue(token.path("special").asBoolean());
      assertEquals(special.id(), root.path("model").path("vocab").path(special.content()).asInt());
    }
    assertEquals("<s>", config.path("bos_token").asText());
    assertEquals("</s>", config.path("eos_token").asText());
    assertEquals("<pad>", config.path("pad_token").asText());
    assertEquals(BpeModel.DEFAULT_MODEL_MAX_LENGTH, config.path("model_max_length").asInt());
  }

  @Test
  void write_tokenizerJson_hasByteLevelPipeline() throws IOException {
    JsonNode root = JSON.readTree(BpeTrainer.train(Stream.of("hello world"), 300).tokenizerJson());

    assertEquals("1.0", root.path("version").asText());
    assertEquals("BPE", root.path("model").path("type").asText());
    assertTrue(root.path("normalizer").isNull());
    JsonNode pre = root.path("pre_tokenizer");
    assertEquals("ByteLevel", pre.path("type").asText());
    assertEquals(false, pre.path("add_prefix_space").asBoolean(true));
    assertEquals(true, pre.path("use_regex").asBoolean(false));
    assertEquals("ByteLevel", root.path("decoder").path("type").asText());
  }

  @Test
  void train_vocabularyBelowByteAlphabet_isIllegalArgument() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train(List.of("x"), 258));

    assertTrue(e.getMessage().contains("258") && e.getMessage().contains("259"), e.getMessage());
  }

  @Test
  void model_mergeOfUnknownToken_isIllegalArgument() {
    BpeModel base = BpeTrainer.train(List.of(""), BpeTrainer.MIN_VOCAB_SIZE);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new BpeModel(base.tokens(), List.of(new Merge("a", "b")), 10));
    assertTrue(e.getMessage().contains("a b"), e.getMessage());
  }

  @Test
  void withModelMaxLength_changesOnlyTheConfig() throws IOException {
    BpeModel model = BpeTrainer.train(List.of("hello"), 300);

    BpeModel longer = model.withModelMaxLength(4096);
    assertEquals(model.tokenizerJson(), longer.tokenizerJson());
    JsonNode config = JSON.readTree(longer.tokenizerConfigJson());
    assertEquals(4096, config.path("model_max_length").asInt());
  }
}
