package dev.graft.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Renders a {@link BpeModel} as Hugging Face {@code tokenizer.json} (format version 1.0) and
 * {@code tokenizer_config.json}. Output is fixed byte for byte: fields in a set order, two-space
 * indent, "\n" line ends whatever the platform.
 */
final class TokenizerJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final ObjectWriter WRITER =
      MAPPER.writer(
          new DefaultPrettyPrinter(
                  Separators.createDefaultInstance()
                      .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
              .withObjectIndenter(new DefaultIndenter("  ", "\n"))
              .withArrayIndenter(new DefaultIndenter("  ", "\n")));

  private TokenizerJson() {}

  static String tokenizer(BpeModel model) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (SpecialToken special : SpecialToken.values()) {
      added.addObject()
          .put("id", special.id())
          .put("content", special.content())
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", false)
          .put("special", true);
    }
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevel());
    root.putNull("post_processor");
    root.set("decoder", byteLevel());
    root.set("model", bpe(model.tokens(), model.merges()));
    return write(root);
  }

  static String config(BpeModel model) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("tokenizer_class", "PreTrainedTokenizerFast");
    root.put("bos_token", SpecialToken.BOS.content());
    root.put("eos_token", SpecialToken.EOS.content());
    root.put("pad_token", SpecialToken.PAD.content());
    root.put("add_bos_token", false);
    root.put("add_eos_token", false);
    // Cleaning would delete spaces before punctuation when decoding; Graft needs exact text back.
    root.put("clean_up_tokenization_spaces", false);
    root.put("model_max_length", model.modelMaxLength());
    return write(root);
  }

  /** GPT-2's settings, except that no space is prepended to the text (it would not round-trip). */
  private static ObjectNode byteLevel() {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("type", "ByteLevel");
    node.put("add_prefix_space", false);
    node.put("trim_offsets", true);
    node.put("use_regex", true);
    return node;
  }

  private static ObjectNode bpe(List<String> tokens, List<BpeModel.Merge> merges) {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("type", "BPE");
    node.putNull("dropout");
    node.putNull("unk_token");
    node.putNull("continuing_subword_prefix");
    node.putNull("end_of_word_suffix");
    node.put("fuse_unk", false);
    node.put("byte_fallback", false);
    node.put("ignore_merges", false);
    ObjectNode vocab = node.putObject("vocab");
    for (int id = 0; id < tokens.size(); id++) {
      vocab.put(tokens.get(id), id);
    }
    ArrayNode list = node.putArray("merges");
    merges.forEach(m -> list.add(m.toString()));
    return node;
  }

  private static String write(ObjectNode root) {
    try {
      return WRITER.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
