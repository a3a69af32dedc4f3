package dev.graft.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;

class BarChartTest {

  private static final List<String> GENRES = List.of("news", "fiction", "learned");

  @Test
  void svg_groupedBarsCarryTheirCategorySeriesAndValue() {
    Document d = Reports.parse(new BarChart("KL", "genre", "nats", GENRES)
        .series("before", List.of(Spread.of(0.4), Spread.of(0.5), Spread.of(0.6)))
        .series("after", List.of(Spread.of(0.1), Spread.of(0.2), Spread.of(0.3))).svg());
    assertEquals(6, d.select("rect.bar").size());
    Element fictionAfter = d.selectFirst("rect.bar[data-series=after][data-x=fiction]");
    assertEquals(0.2, Reports.num(fictionAfter, "data-y"), 0);
    assertEquals("after, fiction: 0.2000", fictionAfter.selectFirst("title").text());
    Element fictionBefore = d.selectFirst("rect.bar[data-series=before][data-x=fiction]");
    // same baseline, heights in proportion to the values
    double hb = Reports.num(fictionBefore, "height");
    double ha = Reports.num(fictionAfter, "height");
    assertEquals(0.5 / 0.2, hb / ha, 0.02);
    assertEquals(Reports.num(fictionBefore, "y") + hb, Reports.num(fictionAfter, "y") + ha, 0.11);
    assertEquals(GENRES, d.select("text.category").eachText());
  }

  @Test
  void svg_negativeValueHangsBelowTheZeroLine() {
    Document d = Reports.parse(new BarChart("gap", "arm", "gap", List.of("good", "worse"))
        .series("gap", List.of(Spread.of(0.6), Spread.of(-0.2))).percent().svg());
    Element good = d.selectFirst("rect.bar[data-x=good]");
    Element worse = d.selectFirst("rect.bar[data-x=worse]");
    double zero = Reports.num(good, "y") + Reports.num(good, "height");
    assertEquals(zero, Reports.num(worse, "y"), 0.11);
    assertTrue(d.select("g.y-axis text.tick").eachText().contains("0%"), d.select("g.y-axis text.tick").eachText()
        .toString());
  }

  @Test
  void svg_severalSeeds_showMeanAndStdWithAnErrorBar() {
    Spread seeds = Spread.of(0.70, 0.80, 0.90);
    Document d = Reports.parse(new BarChart("gap", "arm", "gap", List.of("mixed"))
        .series("gap", List.of(seeds)).percent().svg());
    Element bar = d.selectFirst("rect.bar");
    assertEquals(0.8, Reports.num(bar, "data-y"), 1e-12);
    assertEquals(0.1, Reports.num(bar, "data-std"), 1e-12);
    assertEquals(3, Reports.num(bar, "data-n"), 0);
    assertEquals(List.of(0.7, 0.8, 0.9), Arrays.stream(bar.attr("data-values").split(","))
        .map(Double::parseDouble).toList());
    assertEquals("gap, mixed: 80.0% ± 10.0 pp (n = 3)", bar.selectFirst("title").text());
    assertEquals(1, d.select("g.error-bar").size());
    assertEquals(0.1, Reports.num(d.selectFirst("g.error-bar"), "data-std"), 1e-12);
  }

  @Test
  void svg_annotationsSitAboveTheirGroups() {
    Document d = Reports.parse(new BarChart("KL", "genre", "nats", GENRES)
        .series("before", List.of(Spread.of(0.4), Spread.of(0.5), Spread.of(0.6)))
        .annotate("gap recovered", List.of(0.75, 0.6, 0.5), true).svg());
    Element news = d.selectFirst("text.annotation[data-x=news]");
    assertEquals(0.75, Reports.num(news, "data-y"), 0);
    assertTrue(news.ownText().startsWith("75.0%"), news.ownText());
    assertTrue(Reports.num(news, "y") < Reports.num(d.selectFirst("rect.bar[data-x=news]"), "y"));
  }

  @Test
  void series_wrongLength_isRefused() {
    BarChart c = new BarChart("KL", "genre", "nats", GENRES);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> c.series("before", List.of(Spread.of(1))));
    assertTrue(e.getMessage().contains("1 values for 3 categories"), e.getMessage());
  }
}
