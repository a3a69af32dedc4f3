package dev.graft.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class EngineRateTest {

  /** Advances one millisecond per reading: every call then takes exactly 1 ms. */
  private static LongSupplier ticking() {
    long[] now = {0};
    return () -> now[0] += 1_000_000;
  }

  @Test
  void gemm_isFlopsOverTheTimePerCall() {
    try (NDManager m = NDManager.newBaseManager()) {
      EngineRate rate = new EngineRate(m, 0.0025, ticking());
      assertEquals(2.0 * 4 * 8 * 16 / 1e-3 / 1e9, rate.gemm(4, 8, 16), 1e-12);
      assertEquals(2.0 * 4096 / 1e-3 / 1e9, rate.copyBandwidth(4096), 1e-12);
    }
  }

  @Test
  void modelRate_isTheFlopWeightedHarmonicMeanOfItsShapes() {
    try (NDManager m = NDManager.newBaseManager()) {
      EngineRate rate = new EngineRate(m, 0.0025, ticking());
      // Each distinct shape takes 1 ms per call; a repeated shape is measured once.
      var a = new ModelFlops.Matmul("a", 8, 4, 2);
      var b = new ModelFlops.Matmul("b", 8, 4, 1);
      var c = new ModelFlops.Matmul("c", 16, 4, 1);
      Map<String, Double> perShape = new LinkedHashMap<>();
      double got = rate.modelRate(List.of(a, b, c), 2, perShape);
      double rateAB = 2.0 * 2 * 4 * 8 / 1e-3 / 1e9;
      double rateC = 2.0 * 2 * 4 * 16 / 1e-3 / 1e9;
      double flopsAB = 2.0 * 8 * 4 * 3 * 2;
      double flopsC = 2.0 * 16 * 4 * 2;
      assertEquals((flopsAB + flopsC) / (flopsAB / rateAB + flopsC / rateC), got * 1e9 / 1e9, 1e-9);
      assertEquals(List.of("a (2x4x8)", "b (2x4x8)", "c (2x4x16)"), List.copyOf(perShape.keySet()));
    }
  }

  @Test
  void badSizes_areRefusedWithTheirValues() {
    try (NDManager m = NDManager.newBaseManager()) {
      var e = assertThrows(IllegalArgumentException.class, () -> new EngineRate(m, 0, ticking()));
      assertEquals("seconds per measurement must be > 0, got 0.0", e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> new EngineRate(m, 1, ticking()).gemm(0, 2, 2));
      assertEquals("GEMM sizes must be >= 1, got 0 x 2 x 2", e.getMessage());
    }
  }
}
