package dev.graft.retrofit;

import java.util.Arrays;

/**
 * α per unit as a pure function of the training step. Units move from 0 to 1 one after another,
 * in {@code order}, each over {@code rampSteps / units} steps starting at {@code startStep}; with
 * graduality off every unit is at 1 from the first step.
 */
public record AlphaSchedule(int[] order, long startStep, long rampSteps, boolean gradual) {

  public AlphaSchedule {
    order = order.clone();
    int[] sorted = order.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      if (sorted[i] != i) {
        throw new IllegalArgumentException("alpha order " + Arrays.toString(order)
            + " must list every unit 0.." + (order.length - 1) + " exactly once");
      }
    }
    if (startStep < 0 || rampSteps < 0) {
      throw new IllegalArgumentException("alpha start (" + startStep + ") and ramp (" + rampSteps + ") must be >= 0");
    }
  }

  /** The schedule of {@code order} over {@code units} units; see {@link AlphaOrder#parse}. */
  public static AlphaSchedule parse(String order, int units, long startStep, long rampSteps, boolean gradual) {
    return new AlphaSchedule(AlphaOrder.parse(order).resolve(units), startStep, rampSteps, gradual);
  }

  /** The α of every unit (indexed by unit, not by rank) at 1-based training {@code step}. */
  public double[] alphas(long step) {
    double[] a = new double[order.length];
    if (!gradual || rampSteps == 0) {
      Arrays.fill(a, 1.0);
      return a;
    }
    double width = rampSteps / (double) order.length;
    for (int rank = 0; rank < order.length; rank++) {
      double from = startStep + rank * width;
      a[order[rank]] = Math.max(0.0, Math.min(1.0, (step - from) / width));
    }
    return a;
  }
}
