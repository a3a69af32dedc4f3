package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.graft.model.Attention;
import dev.graft.model.DecoderLayer;
import dev.graft.model.Linear;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Retrofit to an attention / gated-linear-attention hybrid: every layer not kept as attention
 * gets a {@link HybridMixer} initialised from its attention (C ← W_Q, B ← W_K, x ← W_V, output ←
 * W_O; with a state size N &lt; hd, the first N rows of each head of W_Q and W_K), and a new decay
 * projection whose weight starts at 0 and bias at {@link #DECAY_BIAS}, so every head starts with
 * the input-independent decay {@link #INITIAL_DECAY}: close to plain (normalised) linear attention. MLPs,
 * embeddings and norms are the teacher's; those named in {@code freeze} become frozen buffers.
 *
 * <p>One interpolation unit per converted layer, in ascending layer order.
 *
 * @param attentionLayers the layers that keep attention: {@code none}, {@code every:K} (layers i
 *     with i mod K = K − 1, e.g. every:2 keeps 1, 3, ...) or a comma-separated list such as {@code 0,2}
 * @param stateSize N, 1..head_dim; 0 for head_dim
 * @param chunkSize L, tokens per chunk of the parallel form
 * @param freeze copied teacher parts that do not train: any of {@link #FREEZABLE}
 */
public record HybridRetrofit(String attentionLayers, int stateSize, int chunkSize, List<String> freeze)
    implements Retrofit {

  /** The retrofit's {@code type} in specs and run configs. */
  public static final String TYPE = "hybrid";

  /** What {@code freeze} may name. */
  public static final List<String> FREEZABLE = List.of("mlp", "embeddings", "norms");

  /** Every head's decay per token at initialisation. */
  public static final double INITIAL_DECAY = 0.99;

  /** b_a with exp(−softplus(b_a)) = {@link #INITIAL_DECAY}: softplus⁻¹(−ln a) = ln(exp(−ln a) − 1). */
  public static final float DECAY_BIAS = (float) Math.log(Math.exp(-Math.log(INITIAL_DECAY)) - 1);

  public HybridRetrofit {
    attentionLayers = AttentionLayers.parse(attentionLayers).text();
    if (stateSize < 0) {
      throw new IllegalArgumentException("state_size (" + stateSize + ") must be >= 1, or 0 for head_dim");
    }
    if (chunkSize < 1) {
      throw new IllegalArgumentException("chunk_size (" + chunkSize + ") must be >= 1");
    }
    if (freeze == null) {
      throw new IllegalArgumentException("a hybrid retrofit needs a list of frozen parts (empty for none)");
    }
    TreeSet<String> parts = new TreeSet<>();
    for (String f : freeze) {
      if (f == null || !FREEZABLE.contains(f.trim())) {
        throw new IllegalArgumentException("freeze " + freeze + " may name only " + FREEZABLE + ", got '" + f + "'");
      }
      if (!parts.add(f.trim())) {
        throw new IllegalArgumentException("freeze " + freeze + " names '" + f.trim() + "' twice");
      }
    }
    freeze = FREEZABLE.stream().filter(parts::contains).toList();
  }

  /** The layers that keep attention, ascending, checked against the teacher's depth. */
  public List<Integer> attentionLayerIndices(LlamaConfig teacher) {
    return AttentionLayers.parse(attentionLayers).kept(teacher.numHiddenLayers());
  }

  /** The converted layers (gated linear attention at α = 1), ascending: unit u is layer {@code get(u)}. */
  public List<Integer> convertedLayers(LlamaConfig teacher) {
    List<Integer> kept = attentionLayerIndices(teacher);
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      if (!kept.contains(i)) {
        out.add(i);
      }
    }
    return out;
  }

  /** N for {@code teacher}: head_dim when 0, checked against it. */
  public int stateSize(LlamaConfig teacher) {
    int hd = teacher.headDim();
    if (stateSize > hd) {
      throw new IllegalArgumentException("hybrid retrofit: state_size (" + stateSize + ") must be at most the"
          + " teacher's head_dim (" + hd + "): C and B are the first N rows of each head of W_Q and W_K");
    }
    return stateSize == 0 ? hd : stateSize;
  }

  /** The arithmetic of a converted layer of {@code teacher}. */
  public GatedLinearAttention mixerShape(LlamaConfig teacher) {
    return new GatedLinearAttention(teacher.numAttentionHeads(), teacher.numKeyValueHeads(), stateSize(teacher),
        teacher.headDim(), chunkSize);
  }

  @Override
  public String tag() {
    return TYPE + (stateSize == 0 ? "" : "n" + stateSize) + "-"
        + attentionLayers.replace("every:", "e").replace(",", "_");
  }

  @Override
  public String describe(LlamaConfig t) {
    return String.format(Locale.ROOT, "attention -> gated linear attention (N %d, head_dim %d) in layers %s,"
        + " attention kept in %s%s", stateSize(t), t.headDim(), convertedLayers(t), attentionLayerIndices(t),
        freeze.isEmpty() ? "" : ", frozen " + freeze);
  }

  /** One unit per converted layer. */
  @Override
  public int units(LlamaConfig teacher) {
    return convertedLayers(teacher).size();
  }

  /**
   * The teacher's architecture, once checked: a Llama config cannot describe the converted layers
   * (their kinds are in {@link HybridExport#DESCRIPTION_FILE} beside an exported student).
   */
  @Override
  public LlamaConfig targetConfig(LlamaConfig teacher) {
    mixerShape(teacher);
    convertedLayers(teacher);
    return teacher;
  }

  /** Parameters of the finished student: the teacher's, less C/B rows past N, plus the decays. */
  @Override
  public long parameterCount(LlamaConfig teacher) {
    long count = 0;
    for (List<Long> shape : studentShapes(teacher).values()) {
      count += shape.stream().mapToLong(Long::longValue).reduce(1, (x, y) -> x * y);
    }
    return count;
  }

  @Override
  public long weightBytes(LlamaConfig teacher) {
    return parameterCount(teacher) * Float.BYTES;
  }

  /**
   * Attention layers cache K and V per token; a converted layer keeps H·((N+1)·hd + 1) numbers
   * (see {@link HybridMixer}), however long the sequence.
   */
  @Override
  public long kvCacheBytesPerSequence(LlamaConfig teacher, long tokens, int bytesPerElement) {
    long perTokenPerLayer = teacher.kvCacheBytesPerToken(bytesPerElement) / teacher.numHiddenLayers();
    int converted = convertedLayers(teacher).size();
    return perTokenPerLayer * tokens * (teacher.numHiddenLayers() - converted)
        + converted * stateBytesPerLayer(teacher, bytesPerElement);
  }

  /** One converted layer's recurrent state for one sequence: H·((N+1)·hd + 1) numbers. */
  public long stateBytesPerLayer(LlamaConfig teacher, int bytesPerElement) {
    GatedLinearAttention g = mixerShape(teacher);
    return (long) g.heads() * ((g.stateSize() + 1L) * g.headDim() + 1) * bytesPerElement;
  }

  /** Only the layers that keep attention grow with the sequence. */
  @Override
  public long kvCacheBytesPerToken(LlamaConfig teacher, int bytesPerElement) {
    return teacher.kvCacheBytesPerToken(bytesPerElement) / teacher.numHiddenLayers()
        * (teacher.numHiddenLayers() - convertedLayers(teacher).size());
  }

  /** Names and shapes of the finished student's tensors (what is exported). */
  public Map<String, List<Long>> studentShapes(LlamaConfig teacher) {
    GatedLinearAttention g = mixerShape(teacher);
    long d = teacher.hiddenSize();
    Map<String, List<Long>> shapes = new LinkedHashMap<>(teacher.tensorShapes());
    for (int i : convertedLayers(teacher)) {
      shapes.put(name(i, "q_proj.weight"), List.of((long) g.heads() * g.stateSize(), d));
      shapes.put(name(i, "k_proj.weight"), List.of((long) g.kvHeads() * g.stateSize(), d));
      if (teacher.attentionBias()) {
        shapes.put(name(i, "q_proj.bias"), List.of((long) g.heads() * g.stateSize()));
        shapes.put(name(i, "k_proj.bias"), List.of((long) g.kvHeads() * g.stateSize()));
      }
      shapes.put(name(i, "a_proj.weight"), List.of((long) g.heads(), d));
      shapes.put(name(i, "a_proj.bias"), List.of((long) g.heads()));
    }
    return shapes;
  }

  @Override
  public Map<String, List<Long>> stateShapes(LlamaConfig teacher) {
    Map<String, List<Long>> shapes = studentShapes(teacher);
    Map<String, List<Long>> t = teacher.tensorShapes();
    for (int i : convertedLayers(teacher)) {
      for (String p : teacherProjections(teacher)) {
        shapes.put(name(i, HybridMixer.TEACHER_PREFIX + p), t.get(name(i, p)));
      }
    }
    return shapes;
  }

  private static List<String> teacherProjections(LlamaConfig teacher) {
    List<String> out = new ArrayList<>();
    for (String p : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
      out.add(p + ".weight");
      if (teacher.attentionBias()) {
        out.add(p + ".bias");
      }
    }
    return out;
  }

  @Override
  public RetrofitStudent build(LlamaConfig teacher, Map<String, NDArray> teacherTensors, NDManager manager) {
    GatedLinearAttention g = mixerShape(teacher);
    Map<String, NDArray> state = new LinkedHashMap<>();
    teacherTensors.forEach((n, t) -> state.put(n, t.duplicate()));
    for (int i : convertedLayers(teacher)) {
      for (String p : teacherProjections(teacher)) {
        state.put(name(i, HybridMixer.TEACHER_PREFIX + p), state.remove(name(i, p)));
      }
      state.put(name(i, "q_proj.weight"), firstRows(teacherTensors.get(name(i, "q_proj.weight")), g.heads(), g));
      state.put(name(i, "k_proj.weight"), firstRows(teacherTensors.get(name(i, "k_proj.weight")), g.kvHeads(), g));
      if (teacher.attentionBias()) {
        state.put(name(i, "q_proj.bias"), firstRows(teacherTensors.get(name(i, "q_proj.bias")), g.heads(), g));
        state.put(name(i, "k_proj.bias"), firstRows(teacherTensors.get(name(i, "k_proj.bias")), g.kvHeads(), g));
      }
      state.put(name(i, "v_proj.weight"), teacherTensors.get(name(i, "v_proj.weight")).duplicate());
      if (teacher.attentionBias()) {
        state.put(name(i, "v_proj.bias"), teacherTensors.get(name(i, "v_proj.bias")).duplicate());
      }
      state.put(name(i, "o_proj.weight"), teacherTensors.get(name(i, "o_proj.weight")).duplicate());
      if (teacher.attentionBias()) {
        state.put(name(i, "o_proj.bias"), teacherTensors.get(name(i, "o_proj.bias")).duplicate());
      }
      state.put(name(i, "a_proj.weight"), manager.zeros(new Shape(g.heads(), teacher.hiddenSize())));
      state.put(name(i, "a_proj.bias"), manager.full(new Shape(g.heads()), DECAY_BIAS));
    }
    return assemble(teacher, state, manager);
  }

  /** The first N rows of each of {@code heads} heads: (heads·hd, D) → (heads·N, D), or a bias likewise. */
  private static NDArray firstRows(NDArray w, int heads, GatedLinearAttention g) {
    boolean matrix = w.getShape().dimension() == 2;
    long d = matrix ? w.getShape().get(1) : 1;
    NDArray rows = w.reshape(heads, g.headDim(), d).get(new NDIndex(":, :{}, :", g.stateSize())); // (heads, N, D)
    return matrix ? rows.reshape((long) heads * g.stateSize(), d) : rows.reshape((long) heads * g.stateSize());
  }

  @Override
  public RetrofitStudent assemble(LlamaConfig teacher, Map<String, NDArray> state, NDManager manager) {
    LlamaConfig target = targetConfig(teacher);
    StateCheck.require(stateShapes(teacher), state);
    List<Integer> converted = convertedLayers(teacher);
    Map<String, NDArray> base = new LinkedHashMap<>();
    for (String n : teacher.tensorShapes().keySet()) {
      base.put(n, state.get(n));
    }
    for (int i : converted) {
      for (String p : teacherProjections(teacher)) {
        base.put(name(i, p), state.get(name(i, HybridMixer.TEACHER_PREFIX + p)));
      }
    }
    LlamaModel model = LlamaModel.fromTensors(teacher, manager, base);
    GatedLinearAttention g = mixerShape(teacher);
    List<InterpolatedMixer> units = new ArrayList<>();
    for (int i : converted) {
      DecoderLayer layer = model.layers().get(i);
      HybridMixer mixer = new HybridMixer((Attention) layer.mixer(), g, linear(model, state, i, "q_proj"),
          linear(model, state, i, "k_proj"), linear(model, state, i, "v_proj"), linear(model, state, i, "o_proj"),
          linear(model, state, i, "a_proj"));
      layer.replaceMixer(mixer);
      units.add(mixer);
    }
    for (String name : frozenNames(model.namedParameters().keySet())) {
      model.freeze(name);
    }
    return new RetrofitStudent(this, model, target, units);
  }

  /** The parameters {@code freeze} names: MLPs, the embedding (and an untied head), the norms. */
  private List<String> frozenNames(Set<String> names) {
    List<String> out = new ArrayList<>();
    for (String n : names) {
      boolean frozen = (freeze.contains("mlp") && n.contains(".mlp."))
          || (freeze.contains("embeddings") && (n.equals("model.embed_tokens.weight") || n.equals("lm_head.weight")))
          || (freeze.contains("norms") && n.endsWith("norm.weight") && !n.contains(".self_attn."));
      if (frozen) {
        out.add(n);
      }
    }
    return out;
  }

  private static Linear linear(LlamaModel model, Map<String, NDArray> state, int layer, String projection) {
    String w = name(layer, projection + ".weight");
    String b = name(layer, projection + ".bias");
    return new Linear(model.adopt(w, state.get(w)), state.containsKey(b) ? model.adopt(b, state.get(b)) : null);
  }

  private static String name(int layer, String tail) {
    return "model.layers." + layer + ".self_attn." + tail;
  }

  @Override
  public Map<String, Object> spec() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", TYPE);
    m.put("attention_layers", attentionLayers);
    m.put("state_size", stateSize);
    m.put("chunk_size", chunkSize);
    m.put("freeze", freeze);
    return m;
  }
}
