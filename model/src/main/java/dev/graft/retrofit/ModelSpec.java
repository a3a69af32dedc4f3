package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a model is besides its tensors: a Llama architecture and, for a student under retrofit,
 * the retrofit and the α of each of its units. With the tensors of {@link #tensorShapes()} it
 * rebuilds the model exactly ({@link #build}); weight sync ships the two together, so a sampler
 * generates from a student at any α with the same mixers the trainer trains.
 *
 * @param config the architecture; for a retrofit, the teacher's
 * @param retrofit the architecture change, or null for a plain Llama model
 * @param alphas one α per unit of the retrofit; empty for a plain model
 */
public record ModelSpec(LlamaConfig config, Retrofit retrofit, double[] alphas) {

  public ModelSpec {
    if (config == null) {
      throw new IllegalArgumentException("a model spec needs a config");
    }
    alphas = alphas == null ? new double[0] : alphas.clone();
    if (retrofit == null && alphas.length > 0) {
      throw new IllegalArgumentException("a plain model has no alphas, got " + Arrays.toString(alphas));
    }
    for (double a : alphas) {
      InterpolatedMixer.checkAlpha(a);
    }
  }

  /** A plain Llama model of {@code config}. */
  public static ModelSpec plain(LlamaConfig config) {
    return new ModelSpec(config, null, new double[0]);
  }

  /** A student of {@code teacher} under {@code retrofit} with one α per unit. */
  public static ModelSpec retrofit(LlamaConfig teacher, Retrofit retrofit, double[] alphas) {
    if (retrofit == null) {
      throw new IllegalArgumentException("a retrofit spec needs a retrofit");
    }
    return new ModelSpec(teacher, retrofit, alphas);
  }

  /**
   * Reads a spec from its wire form.
   *
   * @param retrofitJson {@link #retrofitJson()}: empty for a plain model
   * @throws IllegalArgumentException naming what is wrong
   */
  public static ModelSpec of(LlamaConfig config, String retrofitJson, double[] alphas) {
    if (retrofitJson == null || retrofitJson.isBlank()) {
      return new ModelSpec(config, null, alphas);
    }
    return new ModelSpec(config, Retrofits.fromJson(retrofitJson), alphas);
  }

  @Override
  public double[] alphas() {
    return alphas.clone();
  }

  /** The retrofit's spec as JSON ({@link Retrofit#spec()}); empty for a plain model. */
  public String retrofitJson() {
    return retrofit == null ? "" : Retrofits.toJson(retrofit);
  }

  /** Name and shape of every tensor {@link #build} takes. */
  public Map<String, List<Long>> tensorShapes() {
    return retrofit == null ? config.tensorShapes() : retrofit.stateShapes(config);
  }

  /**
   * Builds the model from {@code tensors}, taking ownership of the arrays.
   *
   * @throws IllegalArgumentException when the tensors do not match {@link #tensorShapes()} or the
   *     alphas do not match the retrofit's units
   */
  public LlamaModel build(Map<String, NDArray> tensors, NDManager parent) {
    if (retrofit == null) {
      return LlamaModel.fromTensors(config, parent, tensors);
    }
    RetrofitStudent student = retrofit.assemble(config, tensors, parent);
    try {
      student.setAlphas(alphas);
    } catch (IllegalArgumentException e) {
      student.close();
      throw e;
    }
    return student.model();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelSpec s && config.equals(s.config) && Objects.equals(retrofit, s.retrofit)
        && Arrays.equals(alphas, s.alphas);
  }

  @Override
  public int hashCode() {
    return Objects.hash(config, retrofit, Arrays.hashCode(alphas));
  }

  @Override
  public String toString() {
    return retrofit == null ? "plain " + config
        : retrofitJson() + " of " + config + " at alphas " + Arrays.toString(alphas);
  }
}
