package dev.graft.trainer.report;

import java.util.List;
import java.util.Locale;

/** Text and number formatting shared by the charts and pages: escaping, coordinates, data values. */
final class Markup {

  /**
   * Series colours, used in order: the colour-blind-safe Okabe–Ito eight first, then five more so
   * that the thirteen arms of an experiment each get their own.
   */
  static final List<String> PALETTE = List.of("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
      "#d55e00", "#f0e442", "#000000", "#7f7f7f", "#8c564b", "#9467bd", "#17becf", "#bcbd22");

  private Markup() {}

  /** {@code s} escaped for HTML/SVG text and double-quoted attribute values. */
  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  /** A coordinate in SVG user units, to 0.1. */
  static String px(double v) {
    String s = String.format(Locale.ROOT, "%.1f", v);
    return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
  }

  /**
   * A data value as it goes into a {@code data-*} attribute: the shortest decimal that reads back
   * as the same double ({@link Double#toString}), so a reader recovers the exact value.
   */
  static String value(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  /** A value for a person: four significant digits, or a percentage with one decimal. */
  static String human(double v, boolean percent) {
    if (!Double.isFinite(v)) {
      return "n/a";
    }
    if (percent) {
      return String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return String.format(Locale.ROOT, "%,d", (long) v);
    }
    double a = Math.abs(v);
    return a >= 1e-3 && a < 1e6 ? String.format(Locale.ROOT, "%.4g", v).replaceAll("(\\.\\d*?)0+$", "$1")
        .replaceAll("\\.$", "") : String.format(Locale.ROOT, "%.3e", v);
  }

  /** A rough width of {@code text} in user units at {@code fontSize} (proportional sans-serif). */
  static double textWidth(String text, double fontSize) {
    return text.length() * fontSize * 0.56;
  }
}
