package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DatasetSplitTest {

  /** 120 news, 60 fiction, 7 humor, 2 poetry and 1 letters document. */
  private static List<Document> corpus() {
    List<Document> documents = new ArrayList<>();
    Map<String, Integer> sizes =
        Map.of("news", 120, "fiction", 60, "humor", 7, "poetry", 2, "letters", 1);
    sizes.forEach(
        (domain, n) -> {
          for (int i = 0; i < n; i++) {
            documents.add(new Document(domain + "-" + i, domain, "text of " + domain + i));
          }
        });
    return documents;
  }

  @Test
  void of_sameInputs_givesSameSplit() {
    assertEquals(DatasetSplit.of(corpus(), 0.1, 7), DatasetSplit.of(corpus(), 0.1, 7));
  }

  @Test
  void of_shuffledInput_givesSameSplit() {
    List<Document> shuffled = new ArrayList<>(corpus());
    Collections.shuffle(shuffled, new Random(123));
    assertEquals(DatasetSplit.of(corpus(), 0.1, 7), DatasetSplit.of(shuffled, 0.1, 7));
  }

  @Test
  void of_otherSeed_holdsOutOtherDocuments() {
    assertNotEquals(
        DatasetSplit.of(corpus(), 0.1, 7).validation(),
        DatasetSplit.of(corpus(), 0.1, 8).validation());
  }

  @Test
  void of_everyDocument_landsInExactlyOneSide() {
    DatasetSplit split = DatasetSplit.of(corpus(), 0.1, 7);
    Set<String> trainIds = new HashSet<>();
    split.train().forEach(d -> trainIds.add(d.id()));
    split.validation().forEach(d -> assertTrue(trainIds.add(d.id()), d.id() + " in both"));
    assertEquals(corpus().size(), trainIds.size());
  }

  @Test
  void of_fractionRespectedPerDomain_andEveryDomainWithTwoDocumentsHeldOut() {
    DatasetSplit split = DatasetSplit.of(corpus(), 0.1, 7);
    assertEquals(
        Map.of("news", 12L, "fiction", 6L, "humor", 1L, "poetry", 1L),
        split.validationCountByDomain());
    assertEquals(1L, split.trainCountByDomain().get("letters"));
    assertEquals(1L, split.trainCountByDomain().get("poetry"));
  }

  @Test
  void of_largeFraction_leavesEveryDomainSomeTraining() {
    DatasetSplit split = DatasetSplit.of(corpus(), 0.9, 1);
    assertEquals(
        Map.of("news", 12L, "fiction", 6L, "humor", 1L, "poetry", 1L, "letters", 1L),
        split.trainCountByDomain());
  }

  @Test
  void of_duplicateIds_areRejected() {
    List<Document> documents =
        List.of(new Document("a", "news", "x"), new Document("a", "fiction", "y"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DatasetSplit.of(documents, 0.5, 1));
    assertEquals("duplicate document id 'a'; ids must be unique to split by id", e.getMessage());
  }

  @Test
  void of_fractionOutsideOpenUnitInterval_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> DatasetSplit.of(corpus(), 0.0, 1));
    assertThrows(IllegalArgumentException.class, () -> DatasetSplit.of(corpus(), 1.0, 1));
    assertThrows(IllegalArgumentException.class, () -> DatasetSplit.of(List.of(), 0.1, 1));
  }
}
