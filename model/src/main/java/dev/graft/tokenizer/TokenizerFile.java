package dev.graft.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what DJL's tokenizer does not expose from a {@code tokenizer.json}: the vocabulary size,
 * the added tokens with their ids, and the ids of the bos and eos tokens.
 *
 * <p>The bos and eos tokens are named, first found first, by {@code tokenizer_config.json} beside
 * the file, by {@code special_tokens_map.json} beside it, or by the ids {@code bos_token_id} and
 * (the first) {@code eos_token_id} of a {@code config.json} beside it; failing all three they are
 * {@code <s>} and {@code </s>}.
 */
final class TokenizerFile {

  static final String SPECIAL_TOKENS_MAP_JSON = "special_tokens_map.json";
  static final String CONFIG_JSON = "config.json";

  /** Facts about one tokenizer file; {@code added} is in id order. */
  record Summary(int vocabSize, int bosId, int eosId, List<AddedToken> added) {
    Summary {
      added = List.copyOf(added);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenizerFile() {}

  /**
   * Summarizes {@code bytes}, the content of {@code file}.
   *
   * @throws IllegalArgumentException naming the file if it is not a tokenizer, an added token is
   *     malformed or reuses an id, or the bos or eos token is not in it
   */
  static Summary summarize(Path file, byte[] bytes) {
    JsonNode root = parse(file, bytes);
    JsonNode vocab = root.path("model").path("vocab");
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
    List<AddedToken> added = addedTokens(file, root);
    for (AddedToken t : added) {
      size = Math.max(size, t.id() + 1);
    }
    int bos = resolve(file, root, added, "bos_token", "bos_token_id", SpecialToken.BOS);
    int eos = resolve(file, root, added, "eos_token", "eos_token_id", SpecialToken.EOS);
    for (int id : new int[] {bos, eos}) {
      if (id >= size) {
        throw new IllegalArgumentException(file.resolveSibling(CONFIG_JSON) + " names token id "
            + id + " as bos or eos, but " + file + " has only " + size + " ids");
      }
    }
    return new Summary(size, bos, eos, added);
  }

  private static List<AddedToken> addedTokens(Path file, JsonNode root) {
    JsonNode list = root.path("added_tokens");
    if (!list.isMissingNode() && !list.isNull() && !list.isArray()) {
      throw new IllegalArgumentException(file + ": added_tokens must be a list, got " + list);
    }
    Map<Integer, AddedToken> byId = new HashMap<>();
    List<AddedToken> out = new ArrayList<>();
    for (JsonNode node : list) {
      JsonNode id = node.path("id");
      JsonNode content = node.path("content");
      if (!id.canConvertToInt() || !id.isIntegralNumber() || id.asInt() < 0 || !content.isTextual()
          || content.asText().isEmpty()) {
        throw new IllegalArgumentException(file + ": added token " + node
            + " needs a non-negative integer 'id' and a non-empty string 'content'");
      }
      AddedToken t = new AddedToken(id.asInt(), content.asText(), node.path("special").asBoolean(false));
      AddedToken clash = byId.putIfAbsent(t.id(), t);
      if (clash != null) {
        throw new IllegalArgumentException(file + ": added tokens '" + clash.content() + "' and '"
            + t.content() + "' share id " + t.id());
      }
      out.add(t);
    }
    out.sort((a, b) -> Integer.compare(a.id(), b.id()));
    return out;
  }

  /** The id of the bos or eos token, from the first file beside {@code file} that names it. */
  private static int resolve(Path file, JsonNode root, List<AddedToken> added, String field,
      String idField, SpecialToken fallback) {
    for (String settings : List.of(BpeModel.TOKENIZER_CONFIG_JSON, SPECIAL_TOKENS_MAP_JSON)) {
      Path path = file.resolveSibling(settings);
      String name = Files.isRegularFile(path) ? tokenName(parse(path, read(path)), field) : null;
      if (name != null) {
        return tokenId(root, added, file, name, field + " of " + path);
      }
    }
    Path config = file.resolveSibling(CONFIG_JSON);
    if (Files.isRegularFile(config)) {
      List<Integer> ids = ModelVocabulary.ids(parse(config, read(config)), idField, config);
      if (!ids.isEmpty()) {
        return ids.get(0);
      }
    }
    return tokenId(root, added, file, fallback.content(), field + " (by default)");
  }

  /** The token a settings file names for {@code field}, as a string or as {"content": ...}. */
  private static String tokenName(JsonNode settings, String field) {
    JsonNode node = settings.get(field);
    if (node != null && node.isTextual()) {
      return node.asText();
    }
    if (node != null && node.path("content").isTextual()) {
      return node.path("content").asText();
    }
    return null;
  }

  private static int tokenId(JsonNode root, List<AddedToken> added, Path file, String token,
      String role) {
    for (AddedToken t : added) {
      if (token.equals(t.content())) {
        return t.id();
      }
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isObject() && vocab.path(token).isInt()) {
      return vocab.get(token).asInt();
    }
    throw new IllegalArgumentException(
        file + " has no token '" + token + "' (needed as " + role + "; name another token as"
            + " bos_token or eos_token in " + BpeModel.TOKENIZER_CONFIG_JSON + ")");
  }

  static JsonNode parse(Path file, byte[] bytes) {
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

  static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e, e);
    }
  }
}
