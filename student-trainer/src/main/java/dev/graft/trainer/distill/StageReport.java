package dev.graft.trainer.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One alignment stage of a run, for the report: its budget, what it trained and its loss curve.
 *
 * @param budget the configured budget in trained positions
 * @param steps the stage's steps
 * @param positions positions trained (steps × rows × seq_len: the budget rounded up to whole steps)
 * @param layers the layers it trained
 * @param seconds time spent training it, over every process that worked on it
 * @param curve the loss of every step
 */
public record StageReport(AlignStage stage, long budget, long steps, long positions, List<Integer> layers,
    double seconds, List<AlignState.LossPoint> curve) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public StageReport {
    layers = List.copyOf(layers);
    curve = List.copyOf(curve);
  }

  /** The loss of the first step, or NaN for a stage without steps. */
  public double firstLoss() {
    return curve.isEmpty() ? Double.NaN : curve.get(0).loss();
  }

  /** The loss of the last step, or NaN for a stage without steps. */
  public double lastLoss() {
    return curve.isEmpty() ? Double.NaN : curve.get(curve.size() - 1).loss();
  }

  /** The stage as it appears under {@code stages} in {@code report.json}. */
  public ObjectNode toJson() {
    ObjectNode n = JSON.createObjectNode();
    n.put("stage", stage.number());
    n.put("name", stage.key());
    n.put("budget_positions", budget);
    n.put("steps", steps);
    n.put("positions", positions);
    ArrayNode ls = n.putArray("layers");
    layers.forEach(ls::add);
    n.put("train_seconds", seconds);
    n.put("loss", "sum over layers of mean((y - t)^2) / mean(t^2)");
    n.put("first_loss", firstLoss());
    n.put("last_loss", lastLoss());
    ArrayNode points = n.putArray("loss_curve");
    for (AlignState.LossPoint p : curve) {
      ObjectNode o = points.addObject();
      o.put("step", p.step());
      o.put("loss", p.loss());
      ArrayNode per = o.putArray("layers");
      p.layers().forEach(per::add);
    }
    return n;
  }
}
