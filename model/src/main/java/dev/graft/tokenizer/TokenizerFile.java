package dev.graft.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads what DJL's tokenizer does not expose from a {@code tokenizer.json}: the vocabulary size
 * and the ids of the bos and eos tokens.
 */
final class TokenizerFile {

  /** Facts about one tokenizer file. */
  record Summary(int vocabSize, int bosId, int eosId) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenizerFile() {}

  /**
   * Summarizes {@code bytes}, the content of {@code file}. Bos and eos are named by a
   * {@code tokenizer_config.json} beside it, else they are {@code <s>} and {@code </s>}.
   */
  static Summary summarize(Path file, byte[] bytes) {
    JsonNode root = parse(file, bytes);
    JsonNode model = root.path("model");
    JsonNode vocab = model.path("vocab");
    if (!vocab.isObject() && !vocab.isArray()) {
      throw new IllegalArgumentException(
          file + " is not a Hugging Face tokenizer: it has no model.vocab");
    }
    // Unigram lists [piece, score] pairs in id order; BPE and WordPiece map token -> id.
    int size = vocab.isArray() ? vocab.size() : 0;
    if (vocab.isObject()) {
      for (JsonNode id : vocab) {
        size = Math.max(size, id.asInt() + 1);
      }
    }
    for (JsonNode added : root.path("added_tokens")) {
      size = Math.max(size, added.path("id").asInt() + 1);
    }
    Path config = file.resolveSibling(BpeModel.TOKENIZER_CONFIG_JSON);
    JsonNode settings = Files.isRegularFile(config) ? parse(config, read(config)) : null;
    int bos = tokenId(root, file, specialName(settings, "bos_token", SpecialToken.BOS));
    int eos = tokenId(root, file, specialName(settings, "eos_token", SpecialToken.EOS));
    return new Summary(size, bos, eos);
  }

  /** The token a config names for {@code field}, as a string or as {"content": ...}. */
  private static String specialName(JsonNode settings, String field, SpecialToken fallback) {
    JsonNode node = settings == null ? null : settings.get(field);
    if (node != null && node.isTextual()) {
      return node.asText();
    }
    if (node != null && node.path("content").isTextual()) {
      return node.path("content").asText();
    }
    return fallback.content();
  }

  private static int tokenId(JsonNode root, Path file, String token) {
    for (JsonNode added : root.path("added_tokens")) {
      if (token.equals(added.path("content").asText(null))) {
        return added.path("id").asInt();
      }
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isObject() && vocab.path(token).isInt()) {
      return vocab.get(token).asInt();
    }
    throw new IllegalArgumentException(
        file + " has no token '" + token + "' (needed as bos or eos; name it in "
            + BpeModel.TOKENIZER_CONFIG_JSON + " if it is another token)");
  }

  private static JsonNode parse(Path file, byte[] bytes) {
    try {
      JsonNode root = JSON.readTree(bytes);
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException(file + " is not a JSON object");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e, e);
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e, e);
    }
  }
}
