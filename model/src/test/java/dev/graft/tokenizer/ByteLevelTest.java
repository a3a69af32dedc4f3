package dev.graft.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.graft.tokenizer.BpeModel.Merge;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelTest {

  @TempDir Path dir;

  @Test
  void symbol_matchesGpt2BytesToUnicode() {
    Set<Character> distinct = new HashSet<>();
    for (int b = 0; b < 256; b++) {
      distinct.add(ByteLevel.symbol(b));
    }
    assertEquals(256, distinct.size());
    assertEquals('Ā', ByteLevel.symbol(0));
    assertEquals('Ċ', ByteLevel.symbol('\n'));
    assertEquals('Ġ', ByteLevel.symbol(' '));
    assertEquals('a', ByteLevel.symbol('a'));
    assertEquals('ł', ByteLevel.symbol(0xA0));
    assertEquals('Ń', ByteLevel.symbol(0xAD));
    assertEquals('é', ByteLevel.symbol(0xE9));
    assertEquals("Ġcaf", ByteLevel.symbols(" caf"));
    assertEquals("Ã©", ByteLevel.symbols("é"));
  }

  @Test
  void preToken_splitsLikeGpt2() {
    // A run of spaces leaves its last space to the next word.
    assertEquals(List.of("Hello", ",", " world", "'s", " 42", "  ", " ok", "!", "\n"),
        pieces("Hello, world's 42   ok!\n"));
    assertEquals(List.of("a", "\t\n", " b", " "), pieces("a\t\n b "));
  }

  /**
   * The native tokenizer treats U+00A0 and U+3000 as whitespace. With a merge that joins the last
   * byte of U+00A0 / U+3000 to "!", the merge applies only if whitespace and "!" were one piece,
   * which they must not be.
   */
  @Test
  void preToken_unicodeSpaces_splitAsNativeTokenizerDoes() throws IOException {
    List<String> tokens = new ArrayList<>(BpeTrainer.train(List.of(), 300).tokens());
    String nbspTail = String.valueOf(ByteLevel.symbol(0xA0));
    String ideographicTail = String.valueOf(ByteLevel.symbol(0x80));
    tokens.add(nbspTail + "!");
    tokens.add(ideographicTail + "!");
    BpeModel model = new BpeModel(tokens,
        List.of(new Merge(nbspTail, "!"), new Merge(ideographicTail, "!")), 100);

    try (GraftTokenizer tokenizer = GraftTokenizer.load(model.write(dir))) {
      ReferenceBpe reference = new ReferenceBpe(model);
      for (String text : List.of("a\u00a0!", "a\u3000!", "a\u00a0\u00a0!?")) {
        assertArrayEquals(reference.encode(text), tokenizer.encode(text), text);
      }
    }
  }

  private static List<String> pieces(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = ByteLevel.PRE_TOKEN.matcher(text);
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }
}
