package dev.graft.trainer.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An HTML table built row by row. Numeric cells carry their exact value in {@code data-value}
 * beside the text a person reads.
 */
final class HtmlTable {

  /** One cell: its text, its value (NaN for a text cell), CSS classes and extra data attributes. */
  record Cell(String text, double value, String cls, Map<String, String> data) {

    static Cell text(String text) {
      return new Cell(text, Double.NaN, "", Map.of());
    }

    static Cell num(double v, String text) {
      return new Cell(text, v, "num", Map.of());
    }

    Cell withClass(String more) {
      return new Cell(text, value, (cls + " " + more).trim(), data);
    }

    /** Adds {@code data-name="v"}. */
    Cell withData(String name, double v) {
      Map<String, String> d = new TreeMap<>(data);
      d.put(name, Markup.value(v));
      return new Cell(text, value, cls, d);
    }
  }

  private final String cls;
  private final List<String> head;
  private final List<String> rows = new ArrayList<>();

  HtmlTable(String cls, List<String> head) {
    this.cls = cls;
    this.head = List.copyOf(head);
  }

  HtmlTable row(List<Cell> cells) {
    return row("", cells);
  }

  /** A row with CSS classes (e.g. "blended"). */
  HtmlTable row(String rowClass, List<Cell> cells) {
    StringBuilder sb = new StringBuilder("<tr").append(rowClass.isEmpty() ? "" : " class=\"" + rowClass + "\"")
        .append('>');
    for (int i = 0; i < cells.size(); i++) {
      Cell c = cells.get(i);
      String tag = i == 0 ? "th" : "td";
      sb.append('<').append(tag);
      if (!c.cls().isEmpty()) {
        sb.append(" class=\"").append(Markup.esc(c.cls())).append('"');
      }
      if (!Double.isNaN(c.value())) {
        sb.append(" data-value=\"").append(Markup.value(c.value())).append('"');
      }
      c.data().forEach((k, v) -> sb.append(" data-").append(k).append("=\"").append(Markup.esc(v)).append('"'));
      sb.append('>').append(Markup.esc(c.text())).append("</").append(tag).append('>');
    }
    rows.add(sb.append("</tr>").toString());
    return this;
  }

  String html() {
    StringBuilder sb = new StringBuilder("<table class=\"").append(cls).append("\"><thead><tr>");
    head.forEach(h -> sb.append("<th>").append(Markup.esc(h)).append("</th>"));
    sb.append("</tr></thead><tbody>");
    rows.forEach(sb::append);
    return sb.append("</tbody></table>").toString();
  }
}
