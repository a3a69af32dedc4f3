package dev.graft.trainer.report;

/**
 * A self-contained HTML page: inline CSS, inline SVG, no script and no external resource — a
 * content security policy forbids loading anything, so the page opens the same offline.
 */
final class HtmlPage {

  private static final String CSS = """
      :root{color-scheme:light}
      body{margin:0;background:#f6f7f9;color:#1d2330;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
      main{max-width:1160px;margin:0 auto;padding:24px 28px 48px}
      h1{font-size:24px;margin:0 0 4px}
      h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid #d8dce3}
      .sub{color:#5a6372;margin:0 0 4px}
      .note{color:#5a6372;font-size:13px;margin:8px 0 0}
      .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
      figure{margin:0;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:8px 8px 4px}
      figure.wide{grid-column:1/-1}
      figcaption{color:#5a6372;font-size:12.5px;padding:2px 6px 6px}
      svg.chart{width:100%;height:auto;display:block;font-family:inherit}
      svg .chart-title{font-size:14px;font-weight:600;fill:#1d2330}
      svg .legend text{font-size:11px;fill:#3b4350}
      svg .tick{font-size:10.5px;fill:#5a6372}
      svg .axis-label{font-size:11.5px;fill:#3b4350}
      svg .grid{stroke:#e6e9ee;stroke-width:1}
      svg .axis-line,svg .tick-mark{stroke:#8a93a3;stroke-width:1}
      svg .annotation{font-size:10.5px;font-weight:600;fill:#1d2330}
      svg .error-bar line{stroke:#1d2330;stroke-width:1.2}
      svg .empty{font-size:13px;fill:#8a93a3}
      table{border-collapse:collapse;background:#fff;border:1px solid #dde1e8;border-radius:6px;font-size:13px;margin:4px 0}
      th,td{padding:5px 10px;border-bottom:1px solid #eceff3;text-align:left;white-space:nowrap}
      thead th{background:#eef1f5;font-weight:600}
      td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
      td.headline{font-weight:700}
      tr.blended td,tr.blended th{color:#7a8291;font-style:italic}
      .tag{display:inline-block;font-size:11px;font-style:normal;padding:0 6px;border-radius:8px;background:#fbecc6;color:#6b4e00}
      .tag.ship{background:#d7efe4;color:#12583c}
      .scroll{overflow-x:auto}
      pre.config{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 14px;font-size:12px;line-height:1.4;overflow-x:auto}
      """;

  private final StringBuilder body = new StringBuilder();
  private final String title;

  HtmlPage(String title, String subtitle) {
    this.title = title;
    body.append("<header><h1>").append(Markup.esc(title)).append("</h1>");
    if (!subtitle.isEmpty()) {
      body.append("<p class=\"sub\">").append(Markup.esc(subtitle)).append("</p>");
    }
    body.append("</header>");
  }

  /** A paragraph of secondary text. */
  HtmlPage note(String text) {
    body.append("<p class=\"note\">").append(Markup.esc(text)).append("</p>");
    return this;
  }

  /** A section: a heading over HTML that the caller built (and escaped). */
  HtmlPage section(String id, String heading, String html) {
    body.append("<section id=\"").append(id).append("\"><h2>").append(Markup.esc(heading)).append("</h2>")
        .append(html).append("</section>");
    return this;
  }

  /** A chart in a figure with a caption; {@code wide} spans the whole grid row. */
  static String figure(String svg, String caption, boolean wide) {
    return "<figure" + (wide ? " class=\"wide\"" : "") + ">" + svg
        + (caption.isEmpty() ? "" : "<figcaption>" + Markup.esc(caption) + "</figcaption>") + "</figure>";
  }

  String html() {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + "<title>" + Markup.esc(title) + "</title><style>" + CSS + "</style></head>\n<body><main>"
        + body + "</main></body></html>\n";
  }
}
