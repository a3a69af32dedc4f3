package dev.graft.trainer.report;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A grouped bar chart as inline SVG: one group per category, one bar per series, optional error
 * bars (± one standard deviation over seeds) and an annotation above each group. Bars grow from
 * zero, so negative values hang below the zero line.
 *
 * <p>Every bar is a {@code <rect class="bar">} carrying {@code data-series}, {@code data-x} (the
 * category), {@code data-y} (the mean), {@code data-n}, {@code data-std} and {@code data-values}
 * (every value, comma-separated), with a {@code <title>} tooltip; annotations carry theirs too.
 */
public final class BarChart {

  private record Bars(String name, List<Spread> values) {}

  private record Note(String name, List<Double> values, boolean percent) {}

  private static final double PLOT_HEIGHT = 220;
  private static final double LABEL_FONT = 11;
  private static final double TURN = Math.toRadians(35);

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<String> categories;
  private final List<Bars> series = new ArrayList<>();
  private Note note;
  private boolean percent;
  private double width = Frame.WIDTH;

  /** @param categories the groups, left to right */
  public BarChart(String title, String xLabel, String yLabel, List<String> categories) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.categories = List.copyOf(categories);
  }

  /** Adds a series: one spread per category (null for no bar). */
  public BarChart series(String name, List<Spread> values) {
    if (values.size() != categories.size()) {
      throw new IllegalArgumentException("series '" + name + "' has " + values.size() + " values for "
          + categories.size() + " categories");
    }
    series.add(new Bars(name, new ArrayList<>(values)));
    return this;
  }

  /** Writes one value above each group (e.g. the gap recovered of a genre). */
  public BarChart annotate(String name, List<Double> values, boolean asPercent) {
    if (values.size() != categories.size()) {
      throw new IllegalArgumentException(values.size() + " annotations for " + categories.size() + " categories");
    }
    note = new Note(name, List.copyOf(values), asPercent);
    return this;
  }

  /** Values are fractions shown as percentages. */
  public BarChart percent() {
    percent = true;
    return this;
  }

  /** The chart's width in user units (default {@link Frame#WIDTH}). */
  public BarChart width(double w) {
    width = w;
    return this;
  }

  public String svg() {
    Legend legend = new Legend();
    for (int j = 0; j < series.size(); j++) {
      legend.add(series.get(j).name(), color(j), Legend.Swatch.BOX);
    }
    double slot = (width - 86) / Math.max(1, categories.size());
    double longest = categories.stream().mapToDouble(c -> Markup.textWidth(c, LABEL_FONT)).max().orElse(0);
    boolean turn = longest > slot - 6;
    double labels = turn ? longest * Math.sin(TURN) + 14 : 18;
    Frame f = new Frame(title, legend, width, PLOT_HEIGHT, labels + 28);
    StringBuilder sb = new StringBuilder();
    f.open(sb, "bar-chart");
    double[] range = range();
    Scale y = f.valueAxis(sb, Ticks.covering(range[0], range[1], 5, false), yLabel, percent);
    Scale x = new Scale(0, categories.size(), f.left(), f.right());
    for (int c = 0; c < categories.size(); c++) {
      group(sb, c, x, y);
      categoryLabel(sb, f, categories.get(c), (x.at(c) + x.at(c + 1)) / 2, turn);
    }
    double zero = y.at(0);
    sb.append("<line class=\"axis-line\" x1=\"").append(Markup.px(f.left())).append("\" x2=\"")
        .append(Markup.px(f.right())).append("\" y1=\"").append(Markup.px(zero)).append("\" y2=\"")
        .append(Markup.px(zero)).append("\"/><text class=\"axis-label\" x=\"")
        .append(Markup.px((f.left() + f.right()) / 2)).append("\" y=\"").append(Markup.px(f.bottom() + labels + 20))
        .append("\" text-anchor=\"middle\">").append(Markup.esc(xLabel)).append("</text>");
    f.close(sb);
    return sb.toString();
  }

  /** [lo, hi] of the value axis: zero, every bar ± its std, and headroom for annotations. */
  private double[] range() {
    double lo = 0;
    double hi = 0;
    for (Bars b : series) {
      for (Spread s : b.values()) {
        if (s != null && Double.isFinite(s.mean())) {
          lo = Math.min(lo, s.mean() - s.std());
          hi = Math.max(hi, s.mean() + s.std());
        }
      }
    }
    if (hi == lo) {
      hi = lo + 1;
    }
    if (note != null) {
      hi += 0.12 * (hi - lo);
    }
    return new double[] {lo, hi};
  }

  private void group(StringBuilder sb, int c, Scale x, Scale y) {
    double slot = x.at(c + 1) - x.at(c);
    double barW = slot * 0.78 / Math.max(1, series.size());
    double x0 = x.at(c) + slot * 0.11;
    double top = y.at(0);
    String cat = Markup.esc(categories.get(c));
    for (int j = 0; j < series.size(); j++) {
      Spread s = series.get(j).values().get(c);
      if (s == null || !Double.isFinite(s.mean())) {
        continue;
      }
      double bx = x0 + j * barW;
      double py = y.at(s.mean());
      top = Math.min(top, Math.min(py, y.at(s.mean() + s.std())));
      String name = series.get(j).name();
      sb.append("<rect class=\"bar\" data-series=\"").append(Markup.esc(name)).append("\" data-x=\"").append(cat)
          .append("\" data-y=\"").append(Markup.value(s.mean())).append("\" data-n=\"").append(s.n())
          .append("\" data-std=\"").append(Markup.value(s.std())).append("\" data-values=\"")
          .append(s.values().stream().map(Markup::value).collect(Collectors.joining(","))).append("\" x=\"")
          .append(Markup.px(bx + 0.5)).append("\" y=\"").append(Markup.px(Math.min(py, y.at(0))))
          .append("\" width=\"").append(Markup.px(Math.max(1, barW - 1))).append("\" height=\"")
          .append(Markup.px(Math.abs(y.at(0) - py))).append("\" fill=\"").append(color(j)).append("\"><title>")
          .append(Markup.esc(name + ", " + categories.get(c) + ": " + s.format(percent ? "%.1f" : "%.4f", percent)
              + (s.n() > 1 ? " (n = " + s.n() + ")" : ""))).append("</title></rect>");
      if (s.n() > 1) {
        errorBar(sb, bx + barW / 2, y.at(s.mean() - s.std()), y.at(s.mean() + s.std()), s.std());
      }
    }
    if (note != null && Double.isFinite(note.values().get(c))) {
      double v = note.values().get(c);
      sb.append("<text class=\"annotation\" data-series=\"").append(Markup.esc(note.name())).append("\" data-x=\"")
          .append(cat).append("\" data-y=\"").append(Markup.value(v)).append("\" x=\"")
          .append(Markup.px(x.at(c) + slot / 2)).append("\" y=\"").append(Markup.px(top - 5))
          .append("\" text-anchor=\"middle\">").append(Markup.esc(Markup.human(v, note.percent())))
          .append("<title>").append(Markup.esc(note.name() + ", " + categories.get(c) + ": "
              + Markup.human(v, note.percent()))).append("</title></text>");
    }
  }

  private static void errorBar(StringBuilder sb, double cx, double y0, double y1, double std) {
    String x = Markup.px(cx);
    sb.append("<g class=\"error-bar\" data-std=\"").append(Markup.value(std)).append("\"><line x1=\"").append(x)
        .append("\" x2=\"").append(x).append("\" y1=\"").append(Markup.px(y0)).append("\" y2=\"")
        .append(Markup.px(y1)).append("\"/>");
    for (double yy : new double[] {y0, y1}) {
      sb.append("<line x1=\"").append(Markup.px(cx - 4)).append("\" x2=\"").append(Markup.px(cx + 4))
          .append("\" y1=\"").append(Markup.px(yy)).append("\" y2=\"").append(Markup.px(yy)).append("\"/>");
    }
    sb.append("</g>");
  }

  private static void categoryLabel(StringBuilder sb, Frame f, String label, double cx, boolean turn) {
    double ly = f.bottom() + 15;
    sb.append("<text class=\"tick category\" x=\"").append(Markup.px(cx)).append("\" y=\"").append(Markup.px(ly))
        .append('"');
    if (turn) {
      sb.append(" text-anchor=\"end\" transform=\"rotate(-35 ").append(Markup.px(cx)).append(' ')
          .append(Markup.px(ly)).append(")\"");
    } else {
      sb.append(" text-anchor=\"middle\"");
    }
    sb.append('>').append(Markup.esc(label)).append("</text>");
  }

  private static String color(int j) {
    return Markup.PALETTE.get(j % Markup.PALETTE.size());
  }
}
