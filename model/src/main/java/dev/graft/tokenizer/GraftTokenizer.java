package dev.graft.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A Hugging Face {@code tokenizer.json}, loaded through DJL's native tokenizer, with the settings
 * Graft needs: no truncation (DJL would otherwise cut every text to 512 tokens), no padding, and
 * no special tokens added by {@link #encode}; callers add {@link #bosId()} and {@link #eosId()}
 * themselves.
 *
 * <p>{@link #decode} keeps special tokens, so {@code decode(encode(s))} equals {@code s} for every
 * well-formed string (one without unpaired surrogates), and no id given to {@code decode}
 * disappears silently. Text that spells a special token
 * (for example {@code "</s>"}) is encoded as that token, as in Hugging Face.
 *
 * <p>The bos and eos tokens are those named in a {@code tokenizer_config.json} beside the file,
 * or {@code <s>} and {@code </s>} when there is none. {@link #fingerprint()} identifies the exact
 * file, so that two processes can check they tokenize alike.
 *
 * <p>Holds a native handle: close it.
 */
public final class GraftTokenizer implements AutoCloseable {

  private final Path path;
  private final String fingerprint;
  private final TokenizerFile.Summary summary;
  private final HuggingFaceTokenizer tokenizer;

  private GraftTokenizer(Path path, String fingerprint, TokenizerFile.Summary summary,
      HuggingFaceTokenizer tokenizer) {
    this.path = path;
    this.fingerprint = fingerprint;
    this.summary = summary;
    this.tokenizer = tokenizer;
  }

  /**
   * Loads {@code location}: a {@code tokenizer.json} file, or a directory that contains one.
   *
   * @throws IllegalArgumentException naming the file if it is missing, unreadable, not a tokenizer
   *     the native library accepts, or lacks its bos or eos token
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
    HuggingFaceTokenizer nativeTokenizer = open(file);
    return new GraftTokenizer(file, sha256Hex(bytes), summary, nativeTokenizer);
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
    long[] wide = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= summary.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + ids[i] + " at position " + i + " is outside the vocabulary [0, "
                + summary.vocabSize() + ") of " + path);
      }
      wide[i] = ids[i];
    }
    return tokenizer.decode(wide, false);
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
