package dev.graft.trainer.report;

import java.util.ArrayList;
import java.util.List;

/** A chart's legend: swatches with names, laid out in rows under the title. */
final class Legend {

  /** How an entry's swatch is drawn. */
  enum Swatch { LINE, DASHED, FILLED_MARKER, OPEN_MARKER, BOX, BAND }

  record Entry(String name, String color, Swatch swatch) {}

  static final double FONT = 11;
  static final double ROW = 16;
  private static final double SWATCH = 18;

  private final List<Entry> entries = new ArrayList<>();

  Legend add(String name, String color, Swatch swatch) {
    entries.add(new Entry(name, color, swatch));
    return this;
  }

  boolean isEmpty() {
    return entries.isEmpty();
  }

  /** Rows needed within {@code width}. */
  int rows(double width) {
    List<double[]> at = layout(width);
    return at.isEmpty() ? 0 : (int) at.get(at.size() - 1)[1] + 1;
  }

  /** Appends the legend with its first row's baseline at {@code y}, starting at {@code x}. */
  void render(StringBuilder sb, double x, double y, double width) {
    List<double[]> at = layout(width);
    sb.append("<g class=\"legend\">");
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      double ex = x + at.get(i)[0];
      double ey = y + at.get(i)[1] * ROW;
      sb.append("<g class=\"legend-entry\" data-series=\"").append(Markup.esc(e.name())).append("\">");
      swatch(sb, e, ex, ey - 4);
      sb.append("<text x=\"").append(Markup.px(ex + SWATCH + 4)).append("\" y=\"").append(Markup.px(ey))
          .append("\">").append(Markup.esc(e.name())).append("</text></g>");
    }
    sb.append("</g>");
  }

  /** Per entry: its x offset and its row. */
  private List<double[]> layout(double width) {
    List<double[]> at = new ArrayList<>();
    double cx = 0;
    int row = 0;
    for (Entry e : entries) {
      double w = SWATCH + 4 + Markup.textWidth(e.name(), FONT) + 14;
      if (cx > 0 && cx + w > width) {
        cx = 0;
        row++;
      }
      at.add(new double[] {cx, row});
      cx += w;
    }
    return at;
  }

  private static void swatch(StringBuilder sb, Entry e, double x, double cy) {
    String c = e.color();
    switch (e.swatch()) {
      case LINE, DASHED -> sb.append("<line x1=\"").append(Markup.px(x)).append("\" y1=\"").append(Markup.px(cy))
          .append("\" x2=\"").append(Markup.px(x + SWATCH)).append("\" y2=\"").append(Markup.px(cy))
          .append("\" stroke=\"").append(c).append("\" stroke-width=\"2\"")
          .append(e.swatch() == Swatch.DASHED ? " stroke-dasharray=\"5 3\"" : "").append("/>");
      case FILLED_MARKER, OPEN_MARKER -> sb.append("<circle cx=\"").append(Markup.px(x + SWATCH / 2))
          .append("\" cy=\"").append(Markup.px(cy)).append("\" r=\"4\" stroke=\"").append(c)
          .append("\" stroke-width=\"1.5\" fill=\"").append(e.swatch() == Swatch.OPEN_MARKER ? "#fff" : c)
          .append("\"/>");
      case BOX, BAND -> sb.append("<rect x=\"").append(Markup.px(x + 3)).append("\" y=\"").append(Markup.px(cy - 5))
          .append("\" width=\"12\" height=\"10\" fill=\"").append(c).append('"')
          .append(e.swatch() == Swatch.BAND ? " fill-opacity=\"0.35\"" : "").append("/>");
    }
  }
}
