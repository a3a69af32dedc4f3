package dev.graft.trainer.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The tables of the KV-head sweep: each predictor's held-out NLL at every KV-head count (mean ±
 * sample std over seeds), the ranking of the KV-head counts it implies, and how well that ranking
 * predicts the ground truth's (Spearman's ρ, ties at their average rank), per seed and over the
 * seed means.
 */
public final class KvSweepTables {

  private KvSweepTables() {}

  /**
   * One predictor (or the ground truth): its held-out NLL per seed, one value per KV-head count in
   * the sweep's order.
   */
  public record Predictor(String name, String description, List<double[]> nllBySeed) {
    public Predictor {
      nllBySeed = List.copyOf(nllBySeed);
      if (nllBySeed.isEmpty()) {
        throw new IllegalArgumentException("predictor " + name + " has no seeds");
      }
      int n = nllBySeed.get(0).length;
      if (nllBySeed.stream().anyMatch(v -> v.length != n)) {
        throw new IllegalArgumentException("predictor " + name + ": every seed needs one value per KV-head count");
      }
    }

    /** The mean over seeds at each KV-head count. */
    public double[] means() {
      return IntStream.range(0, nllBySeed.get(0).length)
          .mapToDouble(k -> nllBySeed.stream().mapToDouble(v -> v[k]).average().orElseThrow()).toArray();
    }

    Spread at(int k) {
      return new Spread(nllBySeed.stream().map(v -> v[k]).toList());
    }
  }

  /** Per-seed ρ with the ground truth (seed s against seed s) and ρ of the seed means. */
  public record Agreement(List<Double> perSeed, double ofMeans) {

    /** The per-seed values that are defined (a constant ranking has none). */
    public Spread spread() {
      List<Double> defined = perSeed.stream().filter(r -> !r.isNaN()).toList();
      return defined.isEmpty() ? null : new Spread(defined);
    }
  }

  /** {@code p}'s agreement with {@code truth}; seeds pair by index, as many as both have. */
  public static Agreement agreement(Predictor truth, Predictor p) {
    int seeds = Math.min(truth.nllBySeed().size(), p.nllBySeed().size());
    List<Double> perSeed = new ArrayList<>();
    for (int s = 0; s < seeds; s++) {
      perSeed.add(RankCorrelation.spearman(truth.nllBySeed().get(s), p.nllBySeed().get(s)));
    }
    return new Agreement(perSeed, RankCorrelation.spearman(truth.means(), p.means()));
  }

  /** The KV-head counts from lowest mean NLL to highest: "8 < 4 < 2 = 1" (equal means tie). */
  public static String ordering(List<Integer> kvHeads, double[] nll) {
    Integer[] order = IntStream.range(0, nll.length).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingDouble(i -> nll[i]));
    StringBuilder sb = new StringBuilder().append(kvHeads.get(order[0]));
    for (int i = 1; i < order.length; i++) {
      sb.append(nll[order[i]] == nll[order[i - 1]] ? " = " : " < ").append(kvHeads.get(order[i]));
    }
    return sb.toString();
  }

  /** Held-out NLL (nats per token) of every predictor at every KV-head count. */
  public static String nllTable(List<Integer> kvHeads, List<Predictor> predictors) {
    StringBuilder sb = new StringBuilder("| predictor | seeds | ");
    sb.append(kvHeads.stream().map(k -> k + " KV heads").collect(Collectors.joining(" | ")))
        .append(" |\n| --- | ---: |");
    sb.append(" ---: |".repeat(kvHeads.size())).append('\n');
    for (Predictor p : predictors) {
      sb.append("| ").append(p.name()).append(" | ").append(p.nllBySeed().size()).append(" |");
      for (int k = 0; k < kvHeads.size(); k++) {
        sb.append(' ').append(p.at(k).format("%.4f", false)).append(" |");
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /**
   * Each predictor's ordering of the KV-head counts (by seed-mean NLL, best first) and its rank
   * correlation with {@code truth}'s; the first row is the ground truth itself.
   */
  public static String rankTable(List<Integer> kvHeads, Predictor truth, List<Predictor> predictors) {
    StringBuilder sb = new StringBuilder("| predictor | ordering (lowest NLL first) | ρ per seed"
        + " | ρ mean ± std over seeds | ρ of the seed means |\n| --- | --- | --- | ---: | ---: |\n");
    sb.append("| ").append(truth.name()).append(" | ").append(ordering(kvHeads, truth.means()))
        .append(" | — | — | — |\n");
    for (Predictor p : predictors) {
      Agreement a = agreement(truth, p);
      Spread s = a.spread();
      sb.append("| ").append(p.name()).append(" | ").append(ordering(kvHeads, p.means())).append(" | ")
          .append(a.perSeed().stream().map(KvSweepTables::rho).collect(Collectors.joining(", "))).append(" | ")
          .append(s == null ? "n/a" : s.format("%.2f", false)).append(" | ").append(rho(a.ofMeans())).append(" |\n");
    }
    return sb.toString();
  }

  private static String rho(double r) {
    return Double.isNaN(r) ? "n/a" : String.format(Locale.ROOT, "%.2f", r);
  }
}
