package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DetokenizerTest {

  @Test
  void join_clitics_attachToPrecedingWord() {
    assertEquals(
        "I don't think it's theirs; they'll see.",
        Detokenizer.join(List.of("I", "do", "n't", "think", "it", "'s", "theirs", ";", "they",
            "'ll", "see", ".")));
  }

  @Test
  void join_quotesAndBrackets_hugTheirContents() {
    assertEquals(
        "\"Yes\" (he said: 'twice')!",
        Detokenizer.join(List.of("``", "Yes", "''", "(", "he", "said", ":", "'", "twice", "'",
            ")", "!")));
  }

  @Test
  void join_periodAfterAbbreviation_isDropped() {
    assertEquals("Washington, D.C.", Detokenizer.join(List.of("Washington", ",", "D.C.", ".")));
  }

  @Test
  void join_dashesAndAmpersands_keepSpaces() {
    assertEquals("A & B -- C", Detokenizer.join(List.of("A", "&", "B", "--", "C")));
  }
}
