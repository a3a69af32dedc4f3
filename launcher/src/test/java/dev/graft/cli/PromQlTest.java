package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTest {

  @Test
  void metricNames_skipFunctionsKeywordsGroupingLabelsRangesAndNumbers() {
    assertEquals(Set.of("a_total", "b_seconds_count"), PromQl.metricNames(
        "sum by (reason, le) (rate(a_total{reason=~\"x|y\", job=\"by\"}[$__rate_interval])) / on (pod) "
            + "max without (instance) (b_seconds_count offset 5m) > bool 0.5e3"));
  }
}
