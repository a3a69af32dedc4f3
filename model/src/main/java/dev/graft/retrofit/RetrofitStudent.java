package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import dev.graft.model.Linear;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.Module;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * A student under retrofit: a model whose interpolating units carry an α each. Its parameters are
 * named and shaped as in a checkpoint of {@link #targetConfig()}; its {@link #state()} adds the
 * frozen teacher buffers, and with {@link #spec()} rebuilds the student exactly, at any α.
 */
public final class RetrofitStudent implements AutoCloseable {

  private final Retrofit retrofit;
  private final LlamaModel model;
  private final LlamaConfig targetConfig;
  private final List<InterpolatedMixer> units;
  private final UnaryOperator<Map<String, NDArray>> exporter;

  public RetrofitStudent(Retrofit retrofit, LlamaModel model, LlamaConfig targetConfig,
      List<InterpolatedMixer> units) {
    this(retrofit, model, targetConfig, units, UnaryOperator.identity());
  }

  /**
   * @param exporter maps the finished student's parameters to the tensors it exports (for a
   *     retrofit whose α = 1 computes with something other than the stored weights)
   */
  public RetrofitStudent(Retrofit retrofit, LlamaModel model, LlamaConfig targetConfig,
      List<InterpolatedMixer> units, UnaryOperator<Map<String, NDArray>> exporter) {
    this.exporter = exporter;
    this.retrofit = retrofit;
    this.model = model;
    this.targetConfig = targetConfig;
    this.units = List.copyOf(units);
  }

  public Retrofit retrofit() {
    return retrofit;
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

  /**
   * The layers whose mixer at α = 1 computes something other than the teacher's attention: those
   * with an interpolating mixer (GQA, window, hybrid) or with a transformed linear weight inside
   * the mixer (quantization of an attention projection). Staged alignment's stage 1 trains these.
   */
  public List<Integer> convertedMixers() {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < model.layers().size(); i++) {
      Module mixer = model.layers().get(i).mixer();
      if (mixer instanceof InterpolatedMixer || transformsWeights(mixer)) {
        out.add(i);
      }
    }
    return out;
  }

  /**
   * The layers whose whole block at α = 1 is not the teacher's: a converted mixer, or a
   * transformed linear weight anywhere in the block (e.g. a quantized MLP). Stage 2 trains these.
   */
  public List<Integer> convertedBlocks() {
    List<Integer> mixers = convertedMixers();
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < model.layers().size(); i++) {
      if (mixers.contains(i) || transformsWeights(model.layers().get(i))) {
        out.add(i);
      }
    }
    return out;
  }

  private static boolean transformsWeights(Module module) {
    if (module instanceof Linear l && l.weightTransform() != null) {
      return true;
    }
    return module.children().values().stream().anyMatch(RetrofitStudent::transformsWeights);
  }

  /** Trainable parameters by Hugging Face name (the teacher's frozen buffers are not among them). */
  public Map<String, NDArray> parameters() {
    return model.namedParameters();
  }

  /** Parameters and frozen buffers: with {@link #spec()}, everything that rebuilds this student. */
  public Map<String, NDArray> state() {
    return model.stateDict();
  }

  /** The student's architecture at its current αs. */
  public ModelSpec spec() {
    return ModelSpec.retrofit(model.config(), retrofit, alphas());
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
          + " have alpha < 1 (alphas " + Arrays.toString(alphas()) + ")");
    }
    Map<String, NDArray> out = new TreeMap<>(exporter.apply(model.namedParameters()));
    if (!out.keySet().equals(new TreeSet<>(targetConfig.tensorShapes().keySet()))) {
      throw new IllegalStateException("student tensors " + out.keySet() + " do not match the target layout");
    }
    return out;
  }

  @Override
  public void close() {
    model.close();
  }
}
