package dev.graft.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tokenizers shaped like published ones (test resources {@code fixtures/}): Llama 3's byte-level
 * BPE with 256 specials at ids 128000-128255, Llama 2's SentencePiece-style BPE with byte fallback
 * and {@code <unk>}/{@code <s>}/{@code </s>}, SmolLM2's byte-level BPE with chat specials at the
 * lowest ids and one added token that is not special. Each sits beside the {@code config.json}
 * token fields of its model.
 */
class PublishedTokenizersTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LLAMA3_ORDINARY = 128_000;

  @TempDir static Path shared;
  private static Path paddedLlama3;
  /** The padded Llama 3 fixture, loaded once for the tests that only read it. */
  private static GraftTokenizer llama3Shared;

  @TempDir Path dir;

  private static final List<String> PLAIN = List.of(
      "The quick brown fox jumps over the lazy dog.",
      "Hello world, hello there! Numbers like 123 and 2024.",
      "Angle brackets <| and |> and <s or /s> are only text, as is <|begin_of_text without its end.",
      "Zoë's café 👍 我们 \t tabs\nand lines");

  @BeforeAll
  static void loadLlama3() throws IOException {
    Path model = Files.createDirectories(shared.resolve("llama3"));
    try (Stream<Path> files = Files.list(Path.of(resource("llama3")))) {
      for (Path f : files.toList()) {
        Files.copy(f, model.resolve(f.getFileName()));
      }
    }
    Files.copy(padded(), model.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
    llama3Shared = GraftTokenizer.load(model);
  }

  @AfterAll
  static void closeLlama3() {
    if (llama3Shared != null) {
      llama3Shared.close();
    }
  }

  /** A copy of fixture {@code name} in a fresh directory, so a test may change its files. */
  private Path fixture(String name) throws IOException {
    Path source = Path.of(resource(name));
    Path copy = Files.createDirectories(dir.resolve(name));
    try (Stream<Path> files = Files.list(source)) {
      for (Path f : files.toList()) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    return copy;
  }

  /**
   * The Llama 3 fixture with its {@code model.vocab} filled up to id 127,999, as in the published
   * file (whose 128,000 ordinary tokens would make a 9 MB fixture): the filler entries are never
   * produced, since no merge leads to them. Built once, copied per test.
   */
  private Path llama3() throws IOException {
    Path model = fixture("llama3");
    Files.copy(padded(), model.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
    return model;
  }

  private static synchronized Path padded() throws IOException {
    if (paddedLlama3 == null) {
      Path file = Path.of(resource("llama3")).resolve("tokenizer.json");
      ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
      ObjectNode vocab = (ObjectNode) root.path("model").path("vocab");
      for (int id = vocab.size(); id < LLAMA3_ORDINARY; id++) {
        vocab.put(String.format("<filler_%06d>", id), id);
      }
      paddedLlama3 = shared.resolve("llama3-tokenizer.json");
      JSON.writeValue(paddedLlama3.toFile(), root);
    }
    return paddedLlama3;
  }

  private static java.net.URI resource(String name) {
    try {
      return PublishedTokenizersTest.class.getResource("fixtures/" + name).toURI();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int[] concat(int[]... parts) {
    return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
  }

  private static void assertNoSpecialIds(GraftTokenizer tok, String text) {
    int[] ids = tok.encode(text);
    assertTrue(IntStream.of(ids).noneMatch(tok::isSpecial), text + " -> " + Arrays.toString(ids));
    assertEquals(text, tok.decode(ids));
  }

  @Test
  void llama3_addedSpecialsAtHighIds_areReadWithTheirIds() throws IOException {
    GraftTokenizer tok = llama3Shared;
    assertEquals(128_256, tok.vocabSize());
    assertEquals(128_000, tok.bosId());
    assertEquals(128_009, tok.eosId()); // tokenizer_config.json names <|eot_id|>
    List<AddedToken> added = tok.addedTokens();
    assertEquals(256, added.size());
    assertEquals(new AddedToken(128_000, "<|begin_of_text|>", true), added.get(0));
    assertEquals(new AddedToken(128_001, "<|end_of_text|>", true), added.get(1));
    assertEquals(new AddedToken(128_009, "<|eot_id|>", true), added.get(9));
    assertEquals(new AddedToken(128_255, "<|reserved_special_token_247|>", true), added.get(255));
    assertTrue(tok.isSpecial(128_255));
    assertFalse(tok.isSpecial(300));
  }

  @Test
  void llama3_textSpellingSpecials_encodesEachAsOneId() throws IOException {
    GraftTokenizer tok = llama3Shared;
    int[] hello = tok.encode("Hello world");
    assertTrue(hello.length >= 2 && IntStream.of(hello).allMatch(id -> id < 128_000),
        Arrays.toString(hello));
    String framed = "<|begin_of_text|>Hello world<|eot_id|>";
    assertArrayEquals(concat(new int[] {128_000}, hello, new int[] {128_009}), tok.encode(framed));
    assertArrayEquals(new int[] {128_000, 128_255, 128_001},
        tok.encode("<|begin_of_text|><|reserved_special_token_247|><|end_of_text|>"));
    for (String text : PLAIN) {
      assertNoSpecialIds(tok, text);
    }
  }

  @Test
  void llama3_decode_keepsOrSkipsSpecialsAsAsked() throws IOException {
    GraftTokenizer tok = llama3Shared;
    String framed = "<|begin_of_text|>Hello world<|eot_id|>";
    int[] ids = tok.encode(framed);
    assertEquals(framed, tok.decode(ids));
    assertEquals(framed, tok.decode(ids, false));
    assertEquals("Hello world", tok.decode(ids, true));
  }

  @Test
  void llama3_configEosListHoldingTheTokenizersEos_fits() throws IOException {
    Path model = llama3();
    // config.json: vocab_size 128256, bos_token_id 128000, eos_token_id [128001, 128008, 128009]
    try (GraftTokenizer tok = GraftTokenizer.load(model)) {
      tok.checkModel(model.resolve("config.json"));
    }
  }

  @Test
  void llama3_eosNotAmongTheModelsEosIds_isRefusedNamingBothFiles() throws IOException {
    Path model = llama3();
    Files.writeString(model.resolve("config.json"),
        "{\"vocab_size\": 128256, \"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008]}");
    var e = assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(model));
    assertEquals("tokenizer " + model.resolve("tokenizer.json").toAbsolutePath()
        + " does not fit the model of " + model.resolve("config.json").toAbsolutePath()
        + ": the tokenizer's eos token is id 128009 but eos_token_id is [128001, 128008]",
        e.getMessage());
  }

  @Test
  void llama3_tokenizerLargerThanModelVocabulary_isRefused() throws IOException {
    Path model = llama3();
    Files.writeString(model.resolve("config.json"),
        "{\"vocab_size\": 128000, \"bos_token_id\": 1, \"eos_token_id\": 128009}");
    var e = assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(model));
    assertTrue(e.getMessage().endsWith(": the tokenizer has 128,256 token ids but vocab_size is"
        + " 128,000: ids from 128,000 on would have no embedding; the tokenizer's bos token is id"
        + " 128000 but bos_token_id is 1"), e.getMessage());
  }

  @Test
  void llama3_withoutTokenizerConfig_takesBosAndEosFromConfigJson() throws IOException {
    Path model = llama3();
    Files.delete(model.resolve("tokenizer_config.json"));
    try (GraftTokenizer tok = GraftTokenizer.load(model)) {
      assertEquals(128_000, tok.bosId());
      assertEquals(128_001, tok.eosId()); // the first of config.json's eos_token_id list
    }
  }

  @Test
  void llama2_sentencePieceBpe_specialsAtLowIdsAndSmallerThanModel() throws IOException {
    try (GraftTokenizer tok = GraftTokenizer.load(fixture("llama2"))) {
      assertTrue(tok.vocabSize() < 32_000, "fits a model padded to 32,000: " + tok.vocabSize());
      assertEquals(1, tok.bosId());
      assertEquals(2, tok.eosId());
      assertEquals(List.of(new AddedToken(0, "<unk>", true), new AddedToken(1, "<s>", true),
          new AddedToken(2, "</s>", true)), tok.addedTokens());
      int[] hello = tok.encode("Hello world");
      assertArrayEquals(concat(new int[] {1}, hello, new int[] {2}), tok.encode("<s>Hello world</s>"));
      // As Hugging Face decodes it: the space the normalizer prepended to "Hello" is stripped only
      // at the very start of the text, which here is <s>.
      assertEquals("<s> Hello world</s>", tok.decode(tok.encode("<s>Hello world</s>")));
      assertEquals("Hello world", tok.decode(concat(new int[] {1}, hello, new int[] {2}), true));
      for (String text : PLAIN) {
        assertNoSpecialIds(tok, text); // characters outside the vocabulary fall back to bytes
      }
    }
  }

  @Test
  void smollm2_specialsFromSpecialTokensMap_andNonSpecialAddedTokenKeptWhenSkipping()
      throws IOException {
    try (GraftTokenizer tok = GraftTokenizer.load(fixture("smollm2"))) {
      assertEquals(1, tok.bosId()); // <|im_start|>, named by special_tokens_map.json
      assertEquals(2, tok.eosId()); // <|im_end|>
      AddedToken extra = tok.addedTokens().get(tok.addedTokens().size() - 1);
      assertEquals("<extra_word>", extra.content());
      assertFalse(extra.special());
      assertFalse(tok.isSpecial(extra.id()));
      String chat = "<|im_start|>user\nhi <extra_word><|im_end|>";
      int[] ids = tok.encode(chat);
      assertEquals(1, ids[0]);
      assertEquals(2, ids[ids.length - 1]);
      assertTrue(IntStream.of(ids).anyMatch(id -> id == extra.id()), Arrays.toString(ids));
      assertEquals(chat, tok.decode(ids));
      assertEquals("user\nhi <extra_word>", tok.decode(ids, true));
      assertArrayEquals(new int[] {0}, tok.encode("<|endoftext|>"));
      for (String text : PLAIN) {
        assertNoSpecialIds(tok, text);
      }
    }
  }

  @Test
  void smollm2_tokenizerConfigTakesPrecedenceOverSpecialTokensMap() throws IOException {
    Path model = fixture("smollm2");
    Files.delete(model.resolve("config.json"));
    Files.writeString(model.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|endoftext|>\"}");
    try (GraftTokenizer tok = GraftTokenizer.load(model)) {
      assertEquals(1, tok.bosId()); // tokenizer_config.json names none: special_tokens_map.json's
      assertEquals(0, tok.eosId());
    }
  }

  @Test
  void smollm2_bosDifferentFromConfig_isRefused() throws IOException {
    Path model = fixture("smollm2");
    Files.writeString(model.resolve("config.json"),
        "{\"vocab_size\": 49152, \"bos_token_id\": 0, \"eos_token_id\": 2}");
    var e = assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(model));
    assertTrue(e.getMessage().endsWith(
        ": the tokenizer's bos token is id 1 but bos_token_id is 0"), e.getMessage());
  }

  @Test
  void checkModel_malformedConfig_namesFileAndField() throws IOException {
    Path model = fixture("llama2");
    Path other = Files.writeString(dir.resolve("other.json"), "{\"vocab_size\": 32000, \"eos_token_id\": \"2\"}");
    try (GraftTokenizer tok = GraftTokenizer.load(model)) {
      var e = assertThrows(IllegalArgumentException.class, () -> tok.checkModel(other));
      assertEquals(other + ": eos_token_id must be a non-negative integer or a list of them, got \"2\"",
          e.getMessage());
      Files.writeString(other, "{\"eos_token_id\": 2}");
      e = assertThrows(IllegalArgumentException.class, () -> tok.checkModel(other));
      assertEquals(other + ": vocab_size must be a positive integer, got nothing", e.getMessage());
    }
  }

  @Test
  void load_addedTokensSharingAnId_isRefused() throws IOException {
    Path model = fixture("llama2");
    Path file = model.resolve("tokenizer.json");
    Files.writeString(file, Files.readString(file).replace("\"id\": 2,\n      \"content\": \"</s>\"", "\"id\": 1,\n      \"content\": \"</s>\""));
    var e = assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(model));
    assertEquals(file.toAbsolutePath() + ": added tokens '<s>' and '</s>' share id 1", e.getMessage());
  }

  @Test
  void load_addedTokensBeyondAVocabularyWithGaps_isRefusedNamingTheIds() throws IOException {
    // The fixture as stored: model.vocab ends far below the added tokens' id 128000, so the native
    // library would number them from the vocabulary's size instead.
    Path model = fixture("llama3");
    var e = assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(model));
    assertTrue(e.getMessage().startsWith(model.resolve("tokenizer.json").toAbsolutePath()
        + ": the tokenizer library encodes added token '<|begin_of_text|>' as ["), e.getMessage());
    assertTrue(e.getMessage().contains("], not as its stated id 128000"), e.getMessage());
  }
}
