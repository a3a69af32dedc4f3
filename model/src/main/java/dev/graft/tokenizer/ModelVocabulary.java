package dev.graft.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The token facts of a model's {@code config.json} that its tokenizer must agree with: {@code
 * vocab_size}, {@code bos_token_id} and {@code eos_token_id} (one id or a list, as Llama 3
 * publishes). An absent or null id states nothing and is not checked.
 *
 * <p>A tokenizer fits the model when every id it can produce has an embedding (its size is at most
 * {@code vocab_size}; smaller is common, models pad their vocabulary), its bos token is the
 * model's {@code bos_token_id}, and its eos token is one of the model's {@code eos_token_id}s.
 *
 * @param file the {@code config.json} read, for messages
 */
record ModelVocabulary(Path file, int vocabSize, List<Integer> bosIds, List<Integer> eosIds) {

  ModelVocabulary {
    bosIds = List.copyOf(bosIds);
    eosIds = List.copyOf(eosIds);
  }

  /**
   * Reads the three fields of {@code file}.
   *
   * @throws IllegalArgumentException naming the file and field if one is missing or malformed
   */
  static ModelVocabulary read(Path file) {
    JsonNode root = TokenizerFile.parse(file, TokenizerFile.read(file));
    JsonNode vocab = root.path("vocab_size");
    if (!vocab.isIntegralNumber() || !vocab.canConvertToInt() || vocab.asInt() <= 0) {
      throw new IllegalArgumentException(
          file + ": vocab_size must be a positive integer, got " + (vocab.isMissingNode() ? "nothing" : vocab));
    }
    return new ModelVocabulary(file, vocab.asInt(), ids(root, "bos_token_id", file),
        ids(root, "eos_token_id", file));
  }

  /** The ids of {@code field}: empty when absent or null, one id, or a non-empty list of ids. */
  static List<Integer> ids(JsonNode root, String field, Path file) {
    JsonNode v = root.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return List.of();
    }
    List<Integer> out = new ArrayList<>();
    for (JsonNode id : v.isArray() ? v : List.of(v)) {
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
        throw new IllegalArgumentException(
            file + ": " + field + " must be a non-negative integer or a list of them, got " + v);
      }
      out.add(id.asInt());
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(file + ": " + field + " is an empty list");
    }
    return out;
  }

  /**
   * Checks that the tokenizer {@code summary} of {@code tokenizerFile} fits this model.
   *
   * @throws IllegalArgumentException listing every disagreement, with the values on both sides
   */
  void check(TokenizerFile.Summary summary, Path tokenizerFile) {
    List<String> problems = new ArrayList<>();
    if (summary.vocabSize() > vocabSize) {
      problems.add(String.format(Locale.ROOT, "the tokenizer has %,d token ids but vocab_size is %,d:"
          + " ids from %,d on would have no embedding", summary.vocabSize(), vocabSize, vocabSize));
    }
    if (!bosIds.isEmpty() && !bosIds.contains(summary.bosId())) {
      problems.add("the tokenizer's bos token is id " + summary.bosId() + " but bos_token_id is "
          + text(bosIds));
    }
    if (!eosIds.isEmpty() && !eosIds.contains(summary.eosId())) {
      problems.add("the tokenizer's eos token is id " + summary.eosId() + " but eos_token_id is "
          + text(eosIds));
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("tokenizer " + tokenizerFile + " does not fit the model of "
          + file + ": " + String.join("; ", problems));
    }
  }

  private static String text(List<Integer> ids) {
    return ids.size() == 1 ? String.valueOf(ids.get(0)) : ids.toString();
  }
}
