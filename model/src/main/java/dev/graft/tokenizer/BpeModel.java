package dev.graft.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A trained byte-level BPE tokenizer: the vocabulary in id order (the {@link SpecialToken}s, then
 * the 256 byte symbols, then merged tokens) and the merges in priority order. Tokens are written
 * in GPT-2's byte-to-character alphabet, so {@code "Ġthe"} is " the".
 *
 * <p>{@link #write} produces a Hugging Face {@code tokenizer.json} that {@link GraftTokenizer} and
 * the {@code tokenizers} library load, plus a {@code tokenizer_config.json} naming the special
 * tokens. The files depend only on this value, byte for byte.
 *
 * @param tokens every token, at the index of its id; no duplicates
 * @param merges (left, right) pairs, highest priority first; each side and its concatenation are
 *     tokens
 * @param modelMaxLength the {@code model_max_length} recorded in {@code tokenizer_config.json}
 */
public record BpeModel(List<String> tokens, List<Merge> merges, int modelMaxLength) {

  /** File name of the tokenizer that {@link #write} creates. */
  public static final String TOKENIZER_JSON = "tokenizer.json";

  /** File name of the tokenizer settings that {@link #write} creates beside it. */
  public static final String TOKENIZER_CONFIG_JSON = "tokenizer_config.json";

  /** Context length recorded by {@link BpeTrainer}; change it with {@link #withModelMaxLength}. */
  public static final int DEFAULT_MODEL_MAX_LENGTH = 2048;

  /** One merge rule: the adjacent tokens {@code left} and {@code right} become one. */
  public record Merge(String left, String right) {
    public Merge {
      Objects.requireNonNull(left, "left");
      Objects.requireNonNull(right, "right");
    }

    /** The merge as {@code tokenizer.json} writes it: "left right". */
    @Override
    public String toString() {
      return left + " " + right;
    }
  }

  public BpeModel {
    tokens = List.copyOf(tokens);
    merges = List.copyOf(merges);
    if (modelMaxLength <= 0) {
      throw new IllegalArgumentException("modelMaxLength (" + modelMaxLength + ") must be > 0");
    }
    Set<String> seen = new HashSet<>();
    for (SpecialToken special : SpecialToken.values()) {
      if (tokens.size() <= special.id() || !tokens.get(special.id()).equals(special.content())) {
        throw new IllegalArgumentException(
            "token " + special.id() + " must be " + special.content() + " (" + special + ")");
      }
    }
    for (String token : tokens) {
      if (!seen.add(token)) {
        throw new IllegalArgumentException("token '" + token + "' appears twice in the vocabulary");
      }
    }
    for (Merge merge : merges) {
      if (merge.left().contains(" ") || merge.right().contains(" ")) {
        throw new IllegalArgumentException(
            "merge '" + merge + "' has a token with a space, which \"left right\" cannot encode");
      }
      if (!seen.contains(merge.left()) || !seen.contains(merge.right())
          || !seen.contains(merge.left() + merge.right())) {
        throw new IllegalArgumentException(
            "merge '" + merge + "' uses a token that is not in the vocabulary");
      }
    }
  }

  /** Number of token ids, special tokens included. */
  public int vocabSize() {
    return tokens.size();
  }

  /** This tokenizer with another {@code model_max_length} in its {@code tokenizer_config.json}. */
  public BpeModel withModelMaxLength(int maxLength) {
    return new BpeModel(tokens, merges, maxLength);
  }

  /** The Hugging Face {@code tokenizer.json} text. */
  public String tokenizerJson() {
    return TokenizerJson.tokenizer(this);
  }

  /** The Hugging Face {@code tokenizer_config.json} text. */
  public String tokenizerConfigJson() {
    return TokenizerJson.config(this);
  }

  /**
   * Writes {@value #TOKENIZER_JSON} and {@value #TOKENIZER_CONFIG_JSON} into {@code dir},
   * creating it if needed and replacing existing files.
   *
   * @return the path of {@value #TOKENIZER_JSON}
   */
  public Path write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path tokenizer = dir.resolve(TOKENIZER_JSON);
    Files.writeString(tokenizer, tokenizerJson(), StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve(TOKENIZER_CONFIG_JSON), tokenizerConfigJson(), StandardCharsets.UTF_8);
    return tokenizer;
  }
}
