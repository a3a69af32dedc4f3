package dev.graft.tokenizer;

/**
 * The special tokens of a tokenizer trained by {@link BpeTrainer}, in id order: {@code <s>} is id
 * 0, {@code </s>} id 1, {@code <pad>} id 2. Ids 0 and 1 match the {@code bos_token_id} and
 * {@code eos_token_id} defaults of the model config.
 */
public enum SpecialToken {
  BOS("<s>"),
  EOS("</s>"),
  PAD("<pad>");

  private final String content;

  SpecialToken(String content) {
    this.content = content;
  }

  /** The token's text, as it appears in {@code tokenizer.json}. */
  public String content() {
    return content;
  }

  /** The token's id in a trained vocabulary. */
  public int id() {
    return ordinal();
  }
}
