package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A student under retrofit: a model whose interpolating units carry an α each. Its parameters are
 * named and shaped as in a checkpoint of {@link #targetConfig()}.
 */
public final class RetrofitStudent implements AutoCloseable {

  private final LlamaModel model;
  private final LlamaConfig targetConfig;
  private final List<InterpolatedMixer> units;

  public RetrofitStudent(LlamaModel model, LlamaConfig targetConfig, List<InterpolatedMixer> units) {
    this.model = model;
    this.targetConfig = targetConfig;
    this.units = List.copyOf(units);
  }

  public LlamaModel model() {
    return model;
  }

  public LlamaConfig teacherConfig() {
    return model.config();
  }

  public LlamaConfig targetConfig() {
    return targetConfig;
  }

  public int units() {
    return units.size();
  }

  public double[] alphas() {
    return units.stream().mapToDouble(InterpolatedMixer::alpha).toArray();
  }

  public void setAlphas(double[] alphas) {
    if (alphas.length != units.size()) {
      throw new IllegalArgumentException(alphas.length + " alphas for " + units.size() + " units");
    }
    for (int i = 0; i < alphas.length; i++) {
      units.get(i).setAlpha(alphas[i]);
    }
  }

  public void setAllAlphas(double alpha) {
    units.forEach(u -> u.setAlpha(alpha));
  }

  /** Trainable parameters by Hugging Face name (the teacher's frozen buffers are not among them). */
  public Map<String, NDArray> parameters() {
    return model.namedParameters();
  }

  /**
   * The finished student's tensors, for a checkpoint of {@link #targetConfig()}.
   *
   * @throws IllegalStateException if some unit has not reached α = 1
   */
  public Map<String, NDArray> exportTensors() {
    List<Integer> unfinished = new ArrayList<>();
    for (int i = 0; i < units.size(); i++) {
      if (units.get(i).alpha() != 1) {
        unfinished.add(i);
      }
    }
    if (!unfinished.isEmpty()) {
      throw new IllegalStateException("cannot export the student: units " + unfinished
          + " have alpha < 1 (alphas " + java.util.Arrays.toString(alphas()) + ")");
    }
    Map<String, NDArray> out = new TreeMap<>(model.namedParameters());
    var expected = targetConfig.tensorShapes();
    if (!out.keySet().equals(new java.util.TreeSet<>(expected.keySet()))) {
      throw new IllegalStateException("student tensors " + out.keySet() + " do not match the target layout");
    }
    return out;
  }

  /**
   * The student at its current αs as an ordinary Llama checkpoint, for samplers: the target
   * architecture's tensors when every unit is at α = 1, otherwise a multi-head layout (one K/V
   * head per query head) whose attention computes exactly what the interpolated layers compute.
   * Arrays are new, on {@code manager}, detached from gradients.
   */
  public Materialized materialize(ai.djl.ndarray.NDManager manager) {
    boolean done = units.stream().allMatch(u -> u.alpha() == 1);
    LlamaConfig config = done ? targetConfig
        : model.config().withNumKeyValueHeads(model.config().numAttentionHeads());
    Map<String, NDArray> out = new TreeMap<>();
    model.namedParameters().forEach((n, a) -> out.put(n, manager.create(a.toFloatArray(), a.getShape())));
    if (!done) {
      for (int i = 0; i < units.size(); i++) {
        NDArray[] kv = units.get(i).materializeKv(manager);
        out.put("model.layers." + i + ".self_attn.k_proj.weight", kv[0]);
        out.put("model.layers." + i + ".self_attn.v_proj.weight", kv[1]);
      }
    }
    return new Materialized(config, out);
  }

  /** A plain checkpoint: {@code tensors} laid out as {@code config} expects. */
  public record Materialized(LlamaConfig config, Map<String, NDArray> tensors) {}

  @Override
  public void close() {
    model.close();
  }
}
