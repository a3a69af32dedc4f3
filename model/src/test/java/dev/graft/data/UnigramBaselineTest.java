package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UnigramBaselineTest {

  @Test
  void perplexity_handExample_matchesLaplaceFormula() {
    // counts over V=3: {0: 2, 1: 1, 2: 0}, N=3 -> p = 3/6, 2/6, 1/6.
    // validation {0, 2}: exp(-(ln 1/2 + ln 1/6) / 2) = sqrt(12).
    double perplexity = UnigramBaseline.perplexity(new int[] {0, 0, 1}, new int[] {0, 2}, 3);
    assertEquals(Math.sqrt(12), perplexity, 1e-12);
  }

  @Test
  void probability_sumsToOneOverTheVocabulary() {
    UnigramBaseline model = UnigramBaseline.fit(new int[] {4, 4, 1, 0, 4}, 6);
    double total = 0;
    for (int id = 0; id < 6; id++) {
      total += model.probability(id);
    }
    assertEquals(1.0, total, 1e-12);
    assertEquals(4.0 / 11, model.probability(4), 1e-12);
  }

  @Test
  void perplexity_noTrainingTokens_isTheVocabularySize() {
    assertEquals(50.0, UnigramBaseline.perplexity(new int[0], new int[] {3, 7, 49}, 50), 1e-9);
  }

  @Test
  void perplexityByDomain_usesOnlyRealTargetsOfEachDomain() {
    TextEncoder ids = text -> new int[] {Integer.parseInt(text)};
    PackedSequences validation =
        new SequencePacker(4, 1, 2, 0)
            .pack(
                List.of(new Document("a", "news", "0"), new Document("b", "humor", "3")),
                ids,
                SequencePacker.Tail.PAD);
    // news targets {0, 2}, humor targets {3, 2}; train {0, 0, 1} over V=4 -> p = 3/7, 2/7, 1/7, 1/7
    UnigramBaseline model = UnigramBaseline.fit(new int[] {0, 0, 1}, 4);

    Map<String, Double> byDomain = model.perplexityByDomain(validation);

    assertEquals(Math.sqrt(49.0 / 3), byDomain.get("news"), 1e-12);
    assertEquals(7.0, byDomain.get("humor"), 1e-12);
  }

  @Test
  void fit_tokenOutsideVocabulary_isRejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> UnigramBaseline.fit(new int[] {0, 5}, 5));
    assertEquals("training token id 5 is outside the vocabulary [0, 5)", e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> UnigramBaseline.fit(new int[] {0}, 5).perplexity(new int[0]));
  }
}
