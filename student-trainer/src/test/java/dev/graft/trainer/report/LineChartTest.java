package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.select.Elements;
import org.junit.jupiter.api.Test;

class LineChartTest {

  private static final List<LineChart.Point> LOSS = List.of(LineChart.Point.of(1, 2.5), LineChart.Point.of(2, 1.25),
      LineChart.Point.of(3, 0.75), LineChart.Point.of(4, 0.5));

  @Test
  void svg_everyPointCarriesItsSeriesAndValues() {
    Document d = Reports.parse(new LineChart("Loss", "step", "nats").integerX().line("loss", LOSS).svg());
    Elements pts = d.select("circle.point[data-series=loss]");
    assertEquals(LOSS.size(), pts.size());
    for (int i = 0; i < LOSS.size(); i++) {
      assertEquals(LOSS.get(i).x(), Reports.num(pts.get(i), "data-x"), 0);
      assertEquals(LOSS.get(i).y(), Reports.num(pts.get(i), "data-y"), 0);
      assertEquals("loss, step " + (i + 1) + ": " + Markup.human(LOSS.get(i).y(), false),
          pts.get(i).selectFirst("title").text());
    }
    assertEquals(1, d.select("path.series-line").size());
  }

  @Test
  void svg_higherValuesAreDrawnHigherAndLaterStepsFurtherRight() {
    Document d = Reports.parse(new LineChart("Loss", "step", "nats").line("loss", LOSS).svg());
    Elements pts = d.select("circle.point");
    for (int i = 1; i < pts.size(); i++) {
      assertTrue(Reports.num(pts.get(i), "cx") > Reports.num(pts.get(i - 1), "cx"));
      // y values fall, so on screen (y grows downwards) the points go down
      assertTrue(Reports.num(pts.get(i), "cy") > Reports.num(pts.get(i - 1), "cy"));
    }
  }

  @Test
  void svg_axesHaveTicksThatSpanTheDataAndLabels() {
    Document d = Reports.parse(new LineChart("Loss", "step", "nats").integerX().line("loss", LOSS).svg());
    List<String> yTicks = d.select("g.y-axis text.tick").eachText();
    assertEquals(0, Double.parseDouble(yTicks.get(0)));
    assertTrue(Double.parseDouble(yTicks.get(yTicks.size() - 1)) >= 2.5, yTicks.toString());
    assertEquals(List.of("1", "2", "3", "4"), d.select("g.x-axis text.tick").eachText());
    assertEquals("step", d.selectFirst("g.x-axis text.axis-label").text());
    assertEquals("nats", d.selectFirst("g.y-axis text.axis-label").text());
  }

  @Test
  void svg_openPointsRulesAndBandsAreDrawnAndNamedInTheLegend() {
    List<LineChart.Point> evals = List.of(
        new LineChart.Point(2, 0.1, "blended (mean α 0.50)", true, Map.of("alpha", "0.5")),
        new LineChart.Point(4, 0.3, "α = 1", false, Map.of("alpha", "1")));
    Document d = Reports.parse(new LineChart("KL", "step", "nats").markers("KL", evals).rule("before", 0.9)
        .band("ramp", 1, 3).openMarkers("open: blended").svg());
    Element open = d.selectFirst("circle.point.open");
    assertEquals(2, Reports.num(open, "data-x"), 0);
    assertEquals("0.5", open.attr("data-alpha"));
    assertEquals("blended (mean α 0.50)", open.attr("data-note"));
    assertTrue(open.selectFirst("title").text().contains("blended (mean α 0.50)"));
    assertEquals(1, d.select("circle.point:not(.open)").size());
    assertEquals(0.9, Reports.num(d.selectFirst("line.rule[data-series=before]"), "data-y"), 0);
    Element band = d.selectFirst("rect.band[data-series=ramp]");
    assertEquals(1, Reports.num(band, "data-x0"), 0);
    assertEquals(3, Reports.num(band, "data-x1"), 0);
    assertEquals(List.of("KL", "open: blended", "before", "ramp"), d.select("g.legend-entry").eachAttr("data-series"));
  }

  @Test
  void svg_nonFinitePointsAreLeftOut() {
    Document d = Reports.parse(new LineChart("Grad", "step", "norm").line("g",
        List.of(LineChart.Point.of(1, 1), LineChart.Point.of(2, Double.NaN), LineChart.Point.of(3, 2))).svg());
    assertEquals(List.of("1", "3"), d.select("circle.point").eachAttr("data-x"));
  }

  @Test
  void svg_noData_saysSoInsteadOfFailing() {
    Document d = Reports.parse(new LineChart("Lag", "step", "steps").line("lag", List.of()).svg());
    assertEquals("no data", d.selectFirst("text.empty").text());
    assertTrue(d.select("circle.point").isEmpty());
  }

  @Test
  void svg_namesAreEscaped() {
    String svg = new LineChart("a <b> & \"c\"", "x", "y").line("<script>", LOSS).svg();
    assertFalse(svg.contains("<script>"), svg);
    Document d = Reports.parse(svg);
    assertEquals("a <b> & \"c\"", d.selectFirst("text.chart-title").text());
    assertEquals(LOSS.size(), d.select("circle.point").stream()
        .filter(e -> e.attr("data-series").equals("<script>")).count());
  }
}
