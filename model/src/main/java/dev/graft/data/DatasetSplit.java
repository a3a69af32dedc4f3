package dev.graft.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A train/validation split that holds out whole documents.
 *
 * <p>{@link #of} works per domain: it ranks the domain's documents by a stable 64-bit hash of
 * {@code (seed, id)} and puts the first {@code round(n * validationFraction)} of them in
 * validation, clamped to {@code [1, n - 1]} when the domain has {@code n >= 2} documents (a domain
 * with one document stays in train). The split therefore depends only on the set of documents, the
 * fraction and the seed, never on input order or platform. Both lists are sorted by domain, then
 * id.
 *
 * @param train the training documents, immutable
 * @param validation the held-out documents, immutable, disjoint from train
 */
public record DatasetSplit(List<Document> train, List<Document> validation) {

  private static final Comparator<Document> BY_DOMAIN_THEN_ID =
      Comparator.comparing(Document::domain).thenComparing(Document::id);

  public DatasetSplit {
    train = List.copyOf(train);
    validation = List.copyOf(validation);
  }

  /**
   * Splits {@code documents} as described on the type.
   *
   * @param validationFraction in (0, 1), the share of each domain's documents held out
   * @throws IllegalArgumentException if the list is empty, ids are not unique, or the fraction is
   *     out of range
   */
  public static DatasetSplit of(List<Document> documents, double validationFraction, long seed) {
    if (!(validationFraction > 0 && validationFraction < 1)) {
      throw new IllegalArgumentException(
          "validationFraction (" + validationFraction + ") must be in (0, 1), e.g. 0.1");
    }
    if (documents.isEmpty()) {
      throw new IllegalArgumentException("cannot split an empty corpus");
    }
    requireUniqueIds(documents);
    Map<String, List<Document>> byDomain =
        documents.stream()
            .collect(Collectors.groupingBy(Document::domain, TreeMap::new, Collectors.toList()));
    List<Document> train = new ArrayList<>();
    List<Document> validation = new ArrayList<>();
    for (List<Document> domainDocs : byDomain.values()) {
      List<Document> ranked = new ArrayList<>(domainDocs);
      ranked.sort(
          Comparator.<Document>comparingLong(d -> StableHash.hash(d.id(), seed))
              .thenComparing(Document::id));
      int held = heldOut(ranked.size(), validationFraction);
      validation.addAll(ranked.subList(0, held));
      train.addAll(ranked.subList(held, ranked.size()));
    }
    train.sort(BY_DOMAIN_THEN_ID);
    validation.sort(BY_DOMAIN_THEN_ID);
    return new DatasetSplit(train, validation);
  }

  /** Number of validation documents per domain, sorted by domain. */
  public Map<String, Long> validationCountByDomain() {
    return countByDomain(validation);
  }

  /** Number of training documents per domain, sorted by domain. */
  public Map<String, Long> trainCountByDomain() {
    return countByDomain(train);
  }

  private static int heldOut(int n, double fraction) {
    if (n < 2) {
      return 0;
    }
    long rounded = Math.round(n * fraction);
    return (int) Math.max(1, Math.min(n - 1, rounded));
  }

  private static void requireUniqueIds(List<Document> documents) {
    Set<String> seen = new HashSet<>();
    for (Document document : documents) {
      Objects.requireNonNull(document, "document");
      if (!seen.add(document.id())) {
        throw new IllegalArgumentException(
            "duplicate document id '" + document.id() + "'; ids must be unique to split by id");
      }
    }
  }

  private static Map<String, Long> countByDomain(List<Document> documents) {
    return Collections.unmodifiableMap(
        documents.stream()
            .collect(
                Collectors.groupingBy(Document::domain, TreeMap::new, Collectors.counting())));
  }
}
