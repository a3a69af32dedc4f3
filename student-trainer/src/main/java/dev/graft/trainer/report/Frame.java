package dev.graft.trainer.report;

/**
 * What every chart shares: the {@code <svg>} element with a title and a legend above the plot
 * area, and the value (y) axis with ticks, grid lines and its label. Sizes are SVG user units;
 * the page scales the whole chart to its column.
 */
final class Frame {

  static final double WIDTH = 560;
  private static final double LEFT = 66;
  private static final double RIGHT = 20;
  private static final double TITLE = 24;

  private final String title;
  private final Legend legend;
  private final double width;
  private final double height;
  private final double top;
  private final double bottom;

  /**
   * @param bottomMargin room under the plot area for the x axis's ticks and label
   */
  Frame(String title, Legend legend, double width, double plotHeight, double bottomMargin) {
    this.title = title;
    this.legend = legend;
    this.width = width;
    this.top = TITLE + 8 + legend.rows(width - LEFT - RIGHT) * Legend.ROW + 8;
    this.bottom = bottomMargin;
    this.height = top + plotHeight + bottomMargin;
  }

  double left() {
    return LEFT;
  }

  double right() {
    return width - RIGHT;
  }

  double top() {
    return top;
  }

  double bottom() {
    return height - bottom;
  }

  double width() {
    return width;
  }

  /** Opens the chart: the svg element, an accessible title, the visible title and the legend. */
  void open(StringBuilder sb, String kind) {
    sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart ").append(kind).append("\" viewBox=\"0 0 ").append(Markup.px(width)).append(' ')
        .append(Markup.px(height)).append("\" width=\"").append(Markup.px(width)).append("\" height=\"")
        .append(Markup.px(height)).append("\" role=\"img\" aria-label=\"").append(Markup.esc(title)).append("\">")
        .append("<title>").append(Markup.esc(title)).append("</title>")
        .append("<text class=\"chart-title\" x=\"").append(Markup.px(LEFT)).append("\" y=\"18\">")
        .append(Markup.esc(title)).append("</text>");
    legend.render(sb, LEFT, TITLE + 14, right() - LEFT);
  }

  /**
   * Draws the value axis: grid lines and labels at {@code ticks}, the axis label turned along
   * the axis. Returns the scale from values to y.
   */
  Scale valueAxis(StringBuilder sb, Ticks ticks, String label, boolean percent) {
    Scale y = new Scale(ticks.first(), ticks.last(), bottom(), top);
    sb.append("<g class=\"axis y-axis\">");
    for (int i = 0; i < ticks.count(); i++) {
      double v = ticks.at(i);
      String py = Markup.px(y.at(v));
      sb.append("<line class=\"grid\" x1=\"").append(Markup.px(LEFT)).append("\" x2=\"").append(Markup.px(right()))
          .append("\" y1=\"").append(py).append("\" y2=\"").append(py).append("\"/>")
          .append("<text class=\"tick\" x=\"").append(Markup.px(LEFT - 6)).append("\" y=\"").append(py)
          .append("\" dy=\"0.32em\" text-anchor=\"end\">").append(ticks.label(v, percent)).append("</text>");
    }
    double mid = (top + bottom()) / 2;
    sb.append("<text class=\"axis-label\" transform=\"translate(14 ").append(Markup.px(mid))
        .append(") rotate(-90)\" text-anchor=\"middle\">").append(Markup.esc(label)).append("</text>")
        .append("<line class=\"axis-line\" x1=\"").append(Markup.px(LEFT)).append("\" x2=\"").append(Markup.px(LEFT))
        .append("\" y1=\"").append(Markup.px(top)).append("\" y2=\"").append(Markup.px(bottom())).append("\"/>")
        .append("</g>");
    return y;
  }

  /** A note in the middle of an empty plot area. */
  void empty(StringBuilder sb, String note) {
    sb.append("<text class=\"empty\" x=\"").append(Markup.px((LEFT + right()) / 2)).append("\" y=\"")
        .append(Markup.px((top + bottom()) / 2)).append("\" text-anchor=\"middle\">").append(Markup.esc(note))
        .append("</text>");
  }

  void close(StringBuilder sb) {
    sb.append("</svg>");
  }
}
