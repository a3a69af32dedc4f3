package dev.graft.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A Hugging Face {@code tokenizer.json}, loaded through DJL's native tokenizer, with the settings
 * Graft needs: no truncation (DJL would otherwise cut every text to 512 tokens), no padding, and
 * no special tokens added by {@link #encode}; callers add {@link #bosId()} and {@link #eosId()}
 * themselves.
 *
 * <p>Added tokens ({@code added_tokens}: Llama 3's {@code <|begin_of_text|>} and its reserved
 * specials, Llama 2's {@code <s>}, SmolLM2's {@code <|im_start|>}, ...) are matched as wholes: text
 * that spells one (for example {@code "</s>"}) is encoded as that single id, as in Hugging Face, and
 * text that does not never yields one. {@link #decode(int[])} keeps special tokens, so {@code
 * decode(encode(s))} equals {@code s} for every well-formed string (one without unpaired
 * surrogates) and no id given to it disappears silently; {@link #decode(int[], boolean)} can drop
 * them.
 *
 * <p>The bos and eos tokens are named by {@code tokenizer_config.json} beside the file, else by
 * {@code special_tokens_map.json}, else by the ids of a {@code config.json} beside it, else they
 * are {@code <s>} and {@code </s>}. When a {@code config.json} sits beside the file (a model
 * directory), loading checks that the tokenizer fits that model: no more ids than its {@code
 * vocab_size} (fewer is allowed), bos equal to its {@code bos_token_id}, eos one of its {@code
 * eos_token_id}s; a mismatch is refused, naming both files and values. {@link #checkModel} runs the
 * same check against any {@code config.json}.
 *
 * <p>{@link #fingerprint()} identifies the exact file, so that two processes can check they
 * tokenize alike. Holds a native handle: close it.
 */
public final class GraftTokenizer implements AutoCloseable {

  private final Path path;
  private final String fingerprint;
  private final TokenizerFile.Summary summary;
  private final HuggingFaceTokenizer tokenizer;
  private final Set<Integer> specialIds;

  private GraftTokenizer(Path path, String fingerprint, TokenizerFile.Summary summary,
      HuggingFaceTokenizer tokenizer) {
    this.path = path;
    this.fingerprint = fingerprint;
    this.summary = summary;
    this.tokenizer = tokenizer;
    this.specialIds = summary.added().stream().filter(AddedToken::special).map(AddedToken::id)
        .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * Loads {@code location}: a {@code tokenizer.json} file, or a directory that contains one.
   *
   * @throws IllegalArgumentException naming the file if it is missing, unreadable, not a tokenizer
   *     the native library accepts, lacks its bos or eos token, or does not fit the model of a
   *     {@code config.json} beside it
   */
  public static GraftTokenizer load(Path location) {
    Path file = Files.isDirectory(location) ? location.resolve(BpeModel.TOKENIZER_JSON) : location;
    file = file.toAbsolutePath();
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("tokenizer file not found: " + file);
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read tokenizer file " + file + ": " + e, e);
    }
    TokenizerFile.Summary summary = TokenizerFile.summarize(file, bytes);
    Path config = file.resolveSibling(TokenizerFile.CONFIG_JSON);
    if (Files.isRegularFile(config)) {
      ModelVocabulary.read(config).check(summary, file);
    }
    HuggingFaceTokenizer nativeTokenizer = open(file);
    try {
      checkAddedIds(file, summary, nativeTokenizer);
    } catch (RuntimeException e) {
      nativeTokenizer.close();
      throw e;
    }
    return new GraftTokenizer(file, sha256Hex(bytes), summary, nativeTokenizer);
  }

  /**
   * Checks that the native library gives every added token the id the file states. It numbers
   * added tokens that are not in {@code model.vocab} from the vocabulary's size upwards, whatever
   * ids the file gives them; a file whose vocabulary stops short of its added tokens would then
   * encode them under other ids than the ones Graft reads for bos and eos.
   */
  private static void checkAddedIds(Path file, TokenizerFile.Summary summary,
      HuggingFaceTokenizer tokenizer) {
    List<AddedToken> added = summary.added();
    if (added.isEmpty()) {
      return;
    }
    Encoding[] encodings =
        tokenizer.batchEncode(added.stream().map(AddedToken::content).toList(), false, false);
    for (int i = 0; i < added.size(); i++) {
      AddedToken t = added.get(i);
      long[] ids = encodings[i].getIds();
      if (Arrays.stream(ids).noneMatch(id -> id == t.id())) {
        throw new IllegalArgumentException(file + ": the tokenizer library encodes added token '"
            + t.content() + "' as " + Arrays.toString(ids) + ", not as its stated id " + t.id()
            + " (added tokens outside model.vocab get ids from the vocabulary's size on, so"
            + " model.vocab must hold every id below them)");
      }
    }
  }

  private static HuggingFaceTokenizer open(Path file) {
    try {
      return HuggingFaceTokenizer.builder()
          .optTokenizerPath(file)
          .optTruncation(false)
          .optPadding(false)
          .optAddSpecialTokens(false)
          .build();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "the tokenizer library rejected " + file + ": " + e.getMessage(), e);
    }
  }

  /** The ids of {@code text}, with no bos, eos or padding added and no truncation. */
  public int[] encode(String text) {
    Objects.requireNonNull(text, "text");
    Encoding encoding = tokenizer.encode(text, false, false);
    if (encoding.exceedMaxLength()) {
      throw new IllegalStateException("tokenizer truncated the text; truncation must be off");
    }
    long[] ids = encoding.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /**
   * The text of {@code ids}, special tokens included.
   *
   * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
   */
  public String decode(int[] ids) {
    return decode(ids, false);
  }

  /**
   * The text of {@code ids}; with {@code skipSpecialTokens}, added tokens marked special (bos, eos,
   * chat markers, reserved tokens) are left out, while other added tokens are kept.
   *
   * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
   */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] wide = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= summary.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + ids[i] + " at position " + i + " is outside the vocabulary [0, "
                + summary.vocabSize() + ") of " + path);
      }
      wide[i] = ids[i];
    }
    return tokenizer.decode(wide, skipSpecialTokens);
  }

  /**
   * Checks that this tokenizer fits the model of {@code configJson}: at most its {@code
   * vocab_size} ids, bos equal to its {@code bos_token_id}, eos one of its {@code eos_token_id}s
   * (ids the file leaves out are not checked).
   *
   * @throws IllegalArgumentException listing every disagreement with the values on both sides, or
   *     if the file is unreadable or malformed
   */
  public void checkModel(Path configJson) {
    ModelVocabulary.read(configJson).check(summary, path);
  }

  /** The added tokens of the file ({@code added_tokens}), in id order. */
  public List<AddedToken> addedTokens() {
    return summary.added();
  }

  /** Whether {@code id} is an added token marked special. */
  public boolean isSpecial(int id) {
    return specialIds.contains(id);
  }

  /** Number of token ids: one more than the largest id in the vocabulary or added tokens. */
  public int vocabSize() {
    return summary.vocabSize();
  }

  public int bosId() {
    return summary.bosId();
  }

  public int eosId() {
    return summary.eosId();
  }

  /** Lower-case hex SHA-256 of the {@code tokenizer.json} bytes that were loaded. */
  public String fingerprint() {
    return fingerprint;
  }

  /** Absolute path of the loaded {@code tokenizer.json}. */
  public Path path() {
    return path;
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  private static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }
}
