package dev.graft.trainer.loss;

import java.util.Locale;

/**
 * The training objective a run's config names: a divergence between the teacher's next-token
 * distribution p and the student's q, or plain cross-entropy on data tokens (the baseline without
 * distillation).
 *
 * <p>Config spellings, read by {@link #parse(String)} and written by {@link #spec()}:
 *
 * <table>
 *   <caption>objectives</caption>
 *   <tr><th>spec</th><th>per position</th><th>parameter</th></tr>
 *   <tr><td>{@code forward_kl}</td><td>KL(p‖q) = Σ p log(p/q)</td><td>-</td></tr>
 *   <tr><td>{@code reverse_kl}</td><td>KL(q‖p) = Σ q log(q/p)</td><td>-</td></tr>
 *   <tr><td>{@code jsd:β}</td><td>β·KL(p‖m) + (1−β)·KL(q‖m), m = βp + (1−β)q</td>
 *       <td>β in (0, 1)</td></tr>
 *   <tr><td>{@code skew_kl:α}</td><td>KL(p ‖ αp + (1−α)q)</td><td>α in [0, 1)</td></tr>
 *   <tr><td>{@code tv}</td><td>½ Σ |p − q|</td><td>-</td></tr>
 *   <tr><td>{@code ce}</td><td>−log q(data token); no teacher</td><td>-</td></tr>
 * </table>
 *
 * <p>Limits of the generalised JSD: as β → 0, JSD(β)/β → KL(p‖q) (forward); as β → 1,
 * JSD(β)/(1−β) → KL(q‖p) (reverse); β = ½ is the symmetric Jensen–Shannon divergence, bounded by
 * log 2. The endpoints themselves are excluded because JSD(0) = JSD(1) = 0 for every student; use
 * {@code forward_kl} or {@code reverse_kl} instead. Skew KL at α = 0 is forward KL; as α → 1 it
 * vanishes, so α = 1 is excluded. Every divergence is ≥ 0 and 0 iff q = p.
 */
public sealed interface Divergence
    permits Divergence.ForwardKl,
        Divergence.ReverseKl,
        Divergence.Jsd,
        Divergence.SkewKl,
        Divergence.TotalVariation,
        Divergence.CrossEntropy {

  /** The accepted spellings, for error messages. */
  String CHOICES = "forward_kl, reverse_kl, jsd:<beta in (0,1)>, skew_kl:<alpha in [0,1)>, tv, ce";

  /** The config spelling; {@code parse(spec())} returns an equal value. */
  String spec();

  /** Whether the objective compares against a teacher; false only for {@link CrossEntropy}. */
  default boolean usesTeacher() {
    return true;
  }

  /**
   * Reads a config spelling such as {@code "forward_kl"} or {@code "jsd:0.5"} (case and surrounding
   * blanks ignored).
   *
   * @throws IllegalArgumentException naming the accepted spellings when the name is unknown, a
   *     parameter is missing, superfluous, not a number or out of range
   */
  static Divergence parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("divergence is empty; expected one of " + CHOICES);
    }
    String text = spec.trim().toLowerCase(Locale.ROOT);
    int colon = text.indexOf(':');
    String name = colon < 0 ? text : text.substring(0, colon).trim();
    String arg = colon < 0 ? null : text.substring(colon + 1).trim();
    switch (name) {
      case "forward_kl":
        return noArg(spec, arg, new ForwardKl());
      case "reverse_kl":
        return noArg(spec, arg, new ReverseKl());
      case "tv":
        return noArg(spec, arg, new TotalVariation());
      case "ce":
        return noArg(spec, arg, new CrossEntropy());
      case "jsd":
        return new Jsd(number(spec, arg, "jsd", "beta", "jsd:0.5"));
      case "skew_kl":
        return new SkewKl(number(spec, arg, "skew_kl", "alpha", "skew_kl:0.1"));
      default:
        throw new IllegalArgumentException(
            "unknown divergence '" + spec + "'; expected one of " + CHOICES);
    }
  }

  private static Divergence noArg(String spec, String arg, Divergence d) {
    if (arg != null) {
      throw new IllegalArgumentException(
          d.spec() + " takes no parameter, got '" + spec + "'; write '" + d.spec() + "'");
    }
    return d;
  }

  private static double number(
      String spec, String arg, String name, String param, String example) {
    if (arg == null || arg.isEmpty()) {
      throw new IllegalArgumentException(
          name + " needs a parameter " + param + ", got '" + spec + "'; write e.g. '" + example + "'");
    }
    // Decimal notation only: Double.parseDouble alone would also take "0.5f", "0x1p-1", "NaN".
    if (!arg.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) {
      throw new IllegalArgumentException(
          name + " parameter " + param + " must be a number, got '" + arg + "' in '" + spec + "'");
    }
    return Double.parseDouble(arg);
  }

  /** Forward KL(p‖q): mass-covering; its gradient wrt the student's logits is q − p. */
  record ForwardKl() implements Divergence {
    @Override
    public String spec() {
      return "forward_kl";
    }
  }

  /** Reverse KL(q‖p): mode-seeking. */
  record ReverseKl() implements Divergence {
    @Override
    public String spec() {
      return "reverse_kl";
    }
  }

  /**
   * Generalised Jensen–Shannon divergence β·KL(p‖m) + (1−β)·KL(q‖m), m = βp + (1−β)q.
   *
   * @param beta the teacher's weight in the mixture, in (0, 1)
   */
  record Jsd(double beta) implements Divergence {
    public Jsd {
      if (!(beta > 0 && beta < 1)) {
        throw new IllegalArgumentException(
            "jsd beta must be in (0, 1), got " + beta
                + "; for the limits use forward_kl (beta -> 0) or reverse_kl (beta -> 1)");
      }
    }

    @Override
    public String spec() {
      return "jsd:" + beta;
    }
  }

  /**
   * Skew KL(p ‖ αp + (1−α)q); α = 0 is forward KL, larger α bounds the loss where q ≪ p.
   *
   * @param alpha the teacher's weight in the second argument, in [0, 1)
   */
  record SkewKl(double alpha) implements Divergence {
    public SkewKl {
      if (!(alpha >= 0 && alpha < 1)) {
        throw new IllegalArgumentException(
            "skew_kl alpha must be in [0, 1), got " + alpha
                + "; alpha = 0 is forward_kl and alpha = 1 would make the loss identically 0");
      }
      alpha += 0.0; // −0.0 → 0.0, so that skew_kl:-0 equals skew_kl:0 and writes "skew_kl:0.0"
    }

    @Override
    public String spec() {
      return "skew_kl:" + alpha;
    }
  }

  /** Total variation ½ Σ |p − q|, bounded by 1. */
  record TotalVariation() implements Divergence {
    @Override
    public String spec() {
      return "tv";
    }
  }

  /** Cross-entropy on data tokens, see {@link TokenLoss}; the no-distillation baseline. */
  record CrossEntropy() implements Divergence {
    @Override
    public String spec() {
      return "ce";
    }

    @Override
    public boolean usesTeacher() {
      return false;
    }
  }
}
