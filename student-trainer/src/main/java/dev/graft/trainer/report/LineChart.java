package dev.graft.trainer.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A line chart as inline SVG: numeric x and y axes with nice ticks, a legend, series drawn as
 * lines and/or markers, horizontal reference rules and shaded x ranges. No script is needed.
 *
 * <p>Every plotted point is an element that carries its values — {@code data-series},
 * {@code data-x}, {@code data-y}, any extra {@code data-*} of the point — and a {@code <title>}
 * tooltip, so a reader (or a test) can recover exactly what was plotted. Points with a
 * non-finite value are left out.
 */
public final class LineChart {

  /**
   * One point.
   *
   * @param note shown in the tooltip and as {@code data-note}; empty for none
   * @param open drawn as an open marker (e.g. a blended evaluation)
   * @param data extra {@code data-*} attributes, by name without the prefix
   */
  public record Point(double x, double y, String note, boolean open, Map<String, String> data) {
    public Point {
      data = Map.copyOf(data);
    }

    public static Point of(double x, double y) {
      return new Point(x, y, "", false, Map.of());
    }
  }

  /** A named series; {@code line} joins its points, {@code markers} draws each one visibly. */
  record Series(String name, List<Point> points, boolean line, boolean markers) {}

  private record Rule(String name, double y) {}

  private record Band(String name, double x0, double x1) {}

  private static final double PLOT_HEIGHT = 220;
  private static final String BAND_COLOR = "#f0e442";
  private static final String RULE_COLOR = "#555";

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<Series> series = new ArrayList<>();
  private final List<Rule> rules = new ArrayList<>();
  private final List<Band> bands = new ArrayList<>();
  private String openLegend;
  private boolean integerX;

  public LineChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  /** Adds a series drawn as a line; its points get small markers that carry their values. */
  public LineChart line(String name, List<Point> points) {
    series.add(new Series(name, List.copyOf(points), true, false));
    return this;
  }

  /** Adds a series drawn as a thin line with a visible marker at every point. */
  public LineChart markers(String name, List<Point> points) {
    series.add(new Series(name, List.copyOf(points), true, true));
    return this;
  }

  /** A dashed horizontal reference line at {@code y}. */
  public LineChart rule(String name, double y) {
    if (Double.isFinite(y)) {
      rules.add(new Rule(name, y));
    }
    return this;
  }

  /** A shaded x range [{@code x0}, {@code x1}] behind the series. */
  public LineChart band(String name, double x0, double x1) {
    bands.add(new Band(name, Math.min(x0, x1), Math.max(x0, x1)));
    return this;
  }

  /** Names what open markers mean, in the legend. */
  public LineChart openMarkers(String legend) {
    this.openLegend = legend;
    return this;
  }

  /** x ticks at whole numbers only (steps). */
  public LineChart integerX() {
    this.integerX = true;
    return this;
  }

  /** The chart as an {@code <svg>} element. */
  public String svg() {
    Legend legend = legend();
    Frame f = new Frame(title, legend, Frame.WIDTH, PLOT_HEIGHT, 46);
    StringBuilder sb = new StringBuilder();
    f.open(sb, "line-chart");
    double[] xs = range(true);
    double[] ys = range(false);
    if (xs == null) {
      f.valueAxis(sb, Ticks.covering(0, 1, 4, false), yLabel, false);
      f.empty(sb, "no data");
      f.close(sb);
      return sb.toString();
    }
    Ticks xt = Ticks.covering(xs[0], xs[1], 6, integerX);
    Scale x = new Scale(xs[0] == xs[1] ? xt.first() : xs[0], xs[0] == xs[1] ? xt.last() : xs[1], f.left(), f.right());
    Scale y = f.valueAxis(sb, Ticks.covering(Math.min(0, ys[0]), ys[1], 5, false), yLabel, false);
    xAxis(sb, f, xt, x);
    bands.forEach(b -> band(sb, f, x, b));
    rules.forEach(r -> rule(sb, f, y, r));
    for (int i = 0; i < series.size(); i++) {
      SeriesPlot.render(sb, series.get(i), Markup.PALETTE.get(i % Markup.PALETTE.size()), x, y, xLabel);
    }
    f.close(sb);
    return sb.toString();
  }

  private Legend legend() {
    Legend l = new Legend();
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      l.add(s.name(), Markup.PALETTE.get(i % Markup.PALETTE.size()),
          s.markers() ? Legend.Swatch.FILLED_MARKER : Legend.Swatch.LINE);
    }
    boolean anyOpen = series.stream().flatMap(s -> s.points().stream()).anyMatch(Point::open);
    if (openLegend != null && anyOpen) {
      l.add(openLegend, RULE_COLOR, Legend.Swatch.OPEN_MARKER);
    }
    rules.forEach(r -> l.add(r.name(), RULE_COLOR, Legend.Swatch.DASHED));
    bands.forEach(b -> l.add(b.name(), BAND_COLOR, Legend.Swatch.BAND));
    return l;
  }

  /** [min, max] of the finite x (or y) values, rules and bands included; null when there are none. */
  private double[] range(boolean ofX) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (Point p : s.points()) {
        if (Double.isFinite(p.x()) && Double.isFinite(p.y())) {
          double v = ofX ? p.x() : p.y();
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo > hi) {
      return null;
    }
    if (ofX) {
      for (Band b : bands) {
        lo = Math.min(lo, b.x0());
        hi = Math.max(hi, b.x1());
      }
    } else {
      for (Rule r : rules) {
        lo = Math.min(lo, r.y());
        hi = Math.max(hi, r.y());
      }
    }
    return new double[] {lo, hi};
  }

  private void xAxis(StringBuilder sb, Frame f, Ticks t, Scale x) {
    sb.append("<g class=\"axis x-axis\">");
    for (int i = 0; i < t.count(); i++) {
      double v = t.at(i);
      double px = x.at(v);
      if (px < f.left() - 0.5 || px > f.right() + 0.5) {
        continue;
      }
      sb.append("<line class=\"tick-mark\" x1=\"").append(Markup.px(px)).append("\" x2=\"").append(Markup.px(px))
          .append("\" y1=\"").append(Markup.px(f.bottom())).append("\" y2=\"").append(Markup.px(f.bottom() + 4))
          .append("\"/><text class=\"tick\" x=\"").append(Markup.px(px)).append("\" y=\"")
          .append(Markup.px(f.bottom() + 16)).append("\" text-anchor=\"middle\">").append(t.label(v, false))
          .append("</text>");
    }
    sb.append("<line class=\"axis-line\" x1=\"").append(Markup.px(f.left())).append("\" x2=\"")
        .append(Markup.px(f.right())).append("\" y1=\"").append(Markup.px(f.bottom())).append("\" y2=\"")
        .append(Markup.px(f.bottom())).append("\"/><text class=\"axis-label\" x=\"")
        .append(Markup.px((f.left() + f.right()) / 2)).append("\" y=\"").append(Markup.px(f.bottom() + 36))
        .append("\" text-anchor=\"middle\">").append(Markup.esc(xLabel)).append("</text></g>");
  }

  private static void band(StringBuilder sb, Frame f, Scale x, Band b) {
    double x0 = x.at(b.x0());
    double x1 = x.at(b.x1());
    sb.append("<rect class=\"band\" data-series=\"").append(Markup.esc(b.name())).append("\" data-x0=\"")
        .append(Markup.value(b.x0())).append("\" data-x1=\"").append(Markup.value(b.x1())).append("\" x=\"")
        .append(Markup.px(x0)).append("\" y=\"").append(Markup.px(f.top())).append("\" width=\"")
        .append(Markup.px(Math.max(1, x1 - x0))).append("\" height=\"").append(Markup.px(f.bottom() - f.top()))
        .append("\" fill=\"").append(BAND_COLOR).append("\" fill-opacity=\"0.35\"><title>")
        .append(Markup.esc(b.name() + ": " + Markup.human(b.x0(), false) + " to " + Markup.human(b.x1(), false)))
        .append("</title></rect>");
  }

  private static void rule(StringBuilder sb, Frame f, Scale y, Rule r) {
    String py = Markup.px(y.at(r.y()));
    sb.append("<line class=\"rule\" data-series=\"").append(Markup.esc(r.name())).append("\" data-y=\"")
        .append(Markup.value(r.y())).append("\" x1=\"").append(Markup.px(f.left())).append("\" x2=\"")
        .append(Markup.px(f.right())).append("\" y1=\"").append(py).append("\" y2=\"").append(py)
        .append("\" stroke=\"").append(RULE_COLOR).append("\" stroke-dasharray=\"5 3\"><title>")
        .append(Markup.esc(r.name() + ": " + Markup.human(r.y(), false))).append("</title></line>");
  }
}
