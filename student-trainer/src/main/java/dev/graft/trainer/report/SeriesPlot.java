package dev.graft.trainer.report;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Draws one line-chart series: the joining path, then one element per point with its values. */
final class SeriesPlot {

  /** Above this many points, markers shrink to dots so the line stays readable. */
  private static final int DENSE = 80;

  private SeriesPlot() {}

  static void render(StringBuilder sb, LineChart.Series s, String color, Scale x, Scale y, String xLabel) {
    List<LineChart.Point> pts = s.points().stream()
        .filter(p -> Double.isFinite(p.x()) && Double.isFinite(p.y())).toList();
    String name = Markup.esc(s.name());
    sb.append("<g class=\"series\" data-series=\"").append(name).append("\">");
    if (s.line() && pts.size() > 1) {
      sb.append("<path class=\"series-line\" fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"")
          .append(s.markers() ? "1.2" : "1.8").append("\" d=\"");
      for (int i = 0; i < pts.size(); i++) {
        sb.append(i == 0 ? 'M' : 'L').append(Markup.px(x.at(pts.get(i).x()))).append(' ')
            .append(Markup.px(y.at(pts.get(i).y())));
      }
      sb.append("\"/>");
    }
    double r = s.markers() ? 4.5 : pts.size() > DENSE ? 1.4 : 2.6;
    for (LineChart.Point p : pts) {
      point(sb, name, p, color, r, x, y, xLabel, s.name());
    }
    sb.append("</g>");
  }

  private static void point(StringBuilder sb, String name, LineChart.Point p, String color, double r, Scale x,
      Scale y, String xLabel, String seriesName) {
    sb.append("<circle class=\"point").append(p.open() ? " open" : "").append("\" data-series=\"").append(name)
        .append("\" data-x=\"").append(Markup.value(p.x())).append("\" data-y=\"").append(Markup.value(p.y()))
        .append('"');
    for (Map.Entry<String, String> d : new TreeMap<>(p.data()).entrySet()) {
      sb.append(" data-").append(d.getKey()).append("=\"").append(Markup.esc(d.getValue())).append('"');
    }
    if (!p.note().isEmpty()) {
      sb.append(" data-note=\"").append(Markup.esc(p.note())).append('"');
    }
    sb.append(" cx=\"").append(Markup.px(x.at(p.x()))).append("\" cy=\"").append(Markup.px(y.at(p.y())))
        .append("\" r=\"").append(Markup.px(r)).append("\" fill=\"").append(p.open() ? "#fff" : color)
        .append("\" stroke=\"").append(color).append("\" stroke-width=\"").append(p.open() ? "2" : "0.8")
        .append("\"><title>").append(Markup.esc(seriesName + ", " + xLabel + " " + Markup.human(p.x(), false)
            + ": " + Markup.human(p.y(), false) + (p.note().isEmpty() ? "" : " (" + p.note() + ")")))
        .append("</title></circle>");
  }
}
