package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DistillProgressTest {

  private static String evalLine(double meanAlpha) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DistillProgress p = new DistillProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 10)) {
      p.onBaseline(new DistillEvaluator.Result(new EvalMetrics(100, 50, 500, 400, 60), Map.of())); // KL 0.5
      p.onEval(new Evaluation(40, meanAlpha, new DistillEvaluator.Result(new EvalMetrics(100, 10, 450, 400, 80),
          Map.of())));
    }
    return bytes.toString(StandardCharsets.UTF_8).strip();
  }

  @Test
  void onEval_midRamp_labelsTheLineAsABlendedStudent() {
    assertEquals("step 40 held-out [blended (mean alpha 0.62): not the student that ships]: KL 0.1000"
        + " | perplexity 90.02 (teacher 54.60) | top-1 agreement 0.800 | gap recovered 80.0%", evalLine(0.625));
  }

  @Test
  void onEval_atAlphaOne_keepsTheUsualLine() {
    assertEquals("step 40 held-out: KL 0.1000 | perplexity 90.02 (teacher 54.60) | top-1 agreement 0.800"
        + " | gap recovered 80.0%", evalLine(1));
  }

  @Test
  void label_nearlyOne_neverReadsAsOne() {
    assertEquals("blended (mean alpha 0.99)", Evaluation.label(0.999));
    assertEquals("alpha = 1", Evaluation.label(1));
  }
}
