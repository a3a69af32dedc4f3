package dev.graft.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level alphabet and pre-tokenization, the same as Hugging Face's {@code ByteLevel}
 * pre-tokenizer with {@code use_regex: true} and {@code add_prefix_space: false}.
 */
final class ByteLevel {

  /**
   * GPT-2's split: contractions, letters, digits, other symbols (each with at most one leading
   * space), and whitespace. Unicode classes so that {@code \s} also covers U+00A0, U+3000 etc.,
   * as Oniguruma does in the native tokenizer.
   */
  static final Pattern PRE_TOKEN =
      Pattern.compile(
          "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
          Pattern.UNICODE_CHARACTER_CLASS);

  private static final char[] BYTE_TO_CHAR = byteToChar();

  private ByteLevel() {}

  /** The printable character that stands for byte value {@code b} (0 to 255). */
  static char symbol(int b) {
    return BYTE_TO_CHAR[b];
  }

  /** The UTF-8 bytes of {@code text}, each written as its printable character. */
  static String symbols(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      out.append(BYTE_TO_CHAR[b & 0xff]);
    }
    return out.toString();
  }

  /**
   * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves; the other 68
   * (controls, space, U+007F to U+00A0, U+00AD) are shifted to U+0100 and up, in byte order.
   */
  private static char[] byteToChar() {
    char[] table = new char[256];
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      table[b] = printable ? (char) b : (char) (256 + shifted++);
    }
    return table;
  }
}
