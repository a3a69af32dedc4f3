package dev.graft.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GraftTokenizerTest {

  private static final int VOCAB = 1000;

  @TempDir static Path shared;
  @TempDir Path dir;

  private static BpeModel model;
  private static GraftTokenizer tokenizer;

  @BeforeAll
  static void train() throws IOException {
    model = BpeTrainer.train(TestCorpus.documents(500, 7), VOCAB);
    tokenizer = GraftTokenizer.load(model.write(shared));
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  static Stream<String> texts() {
    return Stream.of(
        "The quick brown fox jumps over the lazy dog.",
        "Zoë's naïve café: crème brûlée, Ångström, façade, ÆØÅ æøå",
        "Ο γρήγορος καφέ αλεπού",
        "Съешь же ещё этих мягких французских булок",
        "我们在北京学习中文，今天天气很好。",
        "日本語のテキスト、カタカナとひらがな",
        "مرحبا بالعالم",
        "👍 👍🏽 👩🏿‍🔬 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️",
        "e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 combining marks",
        "tab\there\r\nnew\n\n\nline   three   spaces",
        "   leading and trailing   ",
        " ",
        "\t",
        "",
        "\u00a0non-breaking\u00a0space\u3000ideographic\u2003em",
        "don't you'll we've I'm they'd it's O'Neil's 'quoted'",
        "x=1+2*3; if (a<b) { return \"s\"; } // 3.14159 1,000,000",
        "\u0000\u0001\u007f control \u200b zero-width \ufeff bom");
  }

  @ParameterizedTest
  @MethodSource("texts")
  void roundTrip_multilingualAndEmoji_isExact(String text) {
    assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
  }

  @ParameterizedTest
  @MethodSource("texts")
  void encode_sameIdsAsReferenceBpe(String text) {
    assertArrayEquals(new ReferenceBpe(model).encode(text), tokenizer.encode(text));
  }

  @Test
  void encode_trainingText_sameIdsAsReferenceBpe() {
    ReferenceBpe reference = new ReferenceBpe(model);
    for (String doc : TestCorpus.documents(50, 8)) {
      assertArrayEquals(reference.encode(doc), tokenizer.encode(doc), doc);
    }
  }

  @Test
  void encode_20000Characters_isNotTruncated() {
    StringBuilder text = new StringBuilder();
    for (String doc : TestCorpus.documents(1000, 9)) {
      if (text.length() >= 20_000) {
        break;
      }
      text.append(doc).append("\n🙂 ");
    }
    String longText = text.substring(0, 20_000);

    int[] ids = tokenizer.encode(longText);
    assertTrue(ids.length > 512, "only " + ids.length + " tokens");
    assertEquals(longText, tokenizer.decode(ids));
  }

  @Test
  void encode_addsNoSpecialTokens() {
    assertArrayEquals(new int[0], tokenizer.encode(""));
    int[] ids = tokenizer.encode("the language model");
    assertTrue(Arrays.stream(ids).noneMatch(id -> id < SpecialToken.values().length),
        Arrays.toString(ids));
  }

  @Test
  void encode_postProcessorThatAddsBos_addsNothing() throws IOException {
    // Llama tokenizers carry such a template; Graft frames sequences itself.
    String template = "{\"type\": \"TemplateProcessing\","
        + " \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
        + " {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
        + " \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
        + " {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}],"
        + " \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [0], \"tokens\": [\"<s>\"]}}}";
    String json = model.tokenizerJson()
        .replace("\"post_processor\": null", "\"post_processor\": " + template);
    assertTrue(json.contains("TemplateProcessing"));
    Path file = Files.writeString(dir.resolve("tokenizer.json"), json);

    try (GraftTokenizer llamaLike = GraftTokenizer.load(file)) {
      assertArrayEquals(tokenizer.encode("hello world"), llamaLike.encode("hello world"));
    }
  }

  @Test
  void bosAndEos_areIds0And1_andDecodeKeepsThem() {
    assertEquals(0, tokenizer.bosId());
    assertEquals(1, tokenizer.eosId());
    int[] hello = tokenizer.encode("hello");
    int[] framed = new int[hello.length + 2];
    framed[0] = tokenizer.bosId();
    System.arraycopy(hello, 0, framed, 1, hello.length);
    framed[framed.length - 1] = tokenizer.eosId();

    assertEquals("<s>hello</s>", tokenizer.decode(framed));
  }

  @Test
  void encode_textSpellingSpecialTokens_givesTheirIds() {
    assertArrayEquals(new int[] {0, 1, 2}, tokenizer.encode("<s></s><pad>"));
  }

  @Test
  void decode_idOutsideVocabulary_isIllegalArgument() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> tokenizer.decode(new int[] {5, VOCAB}));
    assertTrue(e.getMessage().contains(String.valueOf(VOCAB)), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
  }

  @Test
  void fingerprint_isSha256OfTheFile() throws Exception {
    byte[] bytes = Files.readAllBytes(tokenizer.path());
    String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));

    assertEquals(expected, tokenizer.fingerprint());
    assertEquals(shared.resolve("tokenizer.json").toAbsolutePath(), tokenizer.path());
  }

  @Test
  void fingerprint_differentTokenizer_differs() throws IOException {
    try (GraftTokenizer other =
        GraftTokenizer.load(BpeTrainer.train(TestCorpus.documents(500, 7), VOCAB - 1).write(dir))) {
      assertNotEquals(tokenizer.fingerprint(), other.fingerprint());
    }
  }

  @Test
  void load_directory_readsItsTokenizerJson() {
    try (GraftTokenizer fromDir = GraftTokenizer.load(shared)) {
      assertEquals(tokenizer.fingerprint(), fromDir.fingerprint());
      assertEquals(VOCAB, fromDir.vocabSize());
    }
  }

  @Test
  void load_bosAndEosNamedInConfig_areLookedUp() throws IOException {
    Path file = model.write(dir);
    Files.writeString(file.resolveSibling("tokenizer_config.json"),
        "{\"bos_token\": {\"content\": \"<pad>\"}, \"eos_token\": \"<s>\"}");

    try (GraftTokenizer custom = GraftTokenizer.load(file)) {
      assertEquals(2, custom.bosId());
      assertEquals(0, custom.eosId());
    }
  }

  @Test
  void load_missingFile_isIllegalArgumentNamingPath() {
    Path missing = dir.resolve("nope/tokenizer.json");

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void load_invalidJson_isIllegalArgumentNamingPath() throws IOException {
    Path broken = Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\", ");

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(broken));
    assertTrue(e.getMessage().contains(broken.toString()), e.getMessage());
  }

  @Test
  void load_jsonTheLibraryRejects_isIllegalArgumentNamingPath() throws IOException {
    Path odd = Files.writeString(dir.resolve("tokenizer.json"),
        "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"<s>\": 0, \"</s>\": 1}}}");

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(odd));
    assertTrue(e.getMessage().contains(odd.toString()), e.getMessage());
  }

  @Test
  void load_withoutBosToken_isIllegalArgument() throws IOException {
    String json = model.tokenizerJson().replace("\"<s>\"", "\"<start>\"");
    Path file = Files.writeString(dir.resolve("tokenizer.json"), json);

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GraftTokenizer.load(file));
    assertTrue(e.getMessage().contains("<s>"), e.getMessage());
  }

  @Test
  void encode_afterClose_isIllegalState() {
    GraftTokenizer closed = GraftTokenizer.load(shared);
    closed.close();

    assertThrows(IllegalStateException.class, () -> closed.encode("hello"));
  }
}
