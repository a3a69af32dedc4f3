package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import java.util.Random;

/**
 * Retrofit to grouped-query attention with {@code kvHeads} key/value heads: MHA → GQA (mean-pool
 * or keep-one per group, or random), MQA → GQA (duplicate). Key/value biases, where the teacher
 * has them, are pooled like the rows of their weights (zero for random). One interpolation unit
 * per layer.
 */
public record GqaRetrofit(int kvHeads, KvInit init, long seed) implements Retrofit {

  /** The retrofit's {@code type} in specs and run configs. */
  public static final String TYPE = "gqa";

  public GqaRetrofit {
    if (kvHeads <= 0) {
      throw new IllegalArgumentException("kv_heads (" + kvHeads + ") must be > 0");
    }
    if (init == null) {
      throw new IllegalArgumentException("a GQA retrofit needs a kv-head init");
    }
  }

  @Override
  public String tag() {
    return TYPE + kvHeads;
  }

  @Override
  public String describe(LlamaConfig t) {
    return String.format(Locale.ROOT, "%s(%d) -> GQA(%d), kv init %s", kind(t.numKeyValueHeads(), t),
        t.numKeyValueHeads(), kvHeads, init.name().toLowerCase(Locale.ROOT));
  }

  private static String kind(int kv, LlamaConfig t) {
    return kv == t.numAttentionHeads() ? "MHA" : kv == 1 ? "MQA" : "GQA";
  }

  /** One unit per layer. */
  @Override
  public int units(LlamaConfig teacher) {
    return teacher.numHiddenLayers();
  }

  @Override
  public LlamaConfig targetConfig(LlamaConfig teacher) {
    LlamaConfig target;
    try {
      target = teacher.withNumKeyValueHeads(kvHeads);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("GQA retrofit: kv_heads (" + kvHeads
          + ") must divide the teacher's num_attention_heads (" + teacher.numAttentionHeads() + ")", e);
    }
    init.check(teacher.numKeyValueHeads(), kvHeads);
    return target;
  }

  @Override
  public RetrofitStudent build(LlamaConfig teacher, Map<String, NDArray> teacherTensors, NDManager manager) {
    targetConfig(teacher);
    Random rng = new Random(seed);
    int tKv = teacher.numKeyValueHeads();
    Map<String, NDArray> state = new LinkedHashMap<>();
    teacherTensors.forEach((n, t) -> state.put(n, t.duplicate()));
    int hd = teacher.headDim();
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      String k = projection(i, "k");
      String v = projection(i, "v");
      NDArray sk = init.apply(teacherTensors.get(k), tKv, kvHeads, hd, manager, rng);
      NDArray sv = init.apply(teacherTensors.get(v), tKv, kvHeads, hd, manager, rng);
      state.put(buffer(i, GqaMixer.TEACHER_K), state.remove(k));
      state.put(buffer(i, GqaMixer.TEACHER_V), state.remove(v));
      state.put(k, sk);
      state.put(v, sv);
      if (teacher.attentionBias()) { // biases pooled like the rows of their weights
        String kb = bias(i, "k");
        String vb = bias(i, "v");
        NDArray skb = init.applyBias(teacherTensors.get(kb), tKv, kvHeads, hd, manager);
        NDArray svb = init.applyBias(teacherTensors.get(vb), tKv, kvHeads, hd, manager);
        state.put(buffer(i, GqaMixer.TEACHER_K_BIAS), state.remove(kb));
        state.put(buffer(i, GqaMixer.TEACHER_V_BIAS), state.remove(vb));
        state.put(kb, skb);
        state.put(vb, svb);
      }
    }
    return assemble(teacher, state, manager);
  }

  @Override
  public Map<String, List<Long>> stateShapes(LlamaConfig teacher) {
    Map<String, List<Long>> shapes = new LinkedHashMap<>(targetConfig(teacher).tensorShapes());
    Map<String, List<Long>> teacherShapes = teacher.tensorShapes();
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      shapes.put(buffer(i, GqaMixer.TEACHER_K), teacherShapes.get(projection(i, "k")));
      shapes.put(buffer(i, GqaMixer.TEACHER_V), teacherShapes.get(projection(i, "v")));
      if (teacher.attentionBias()) {
        shapes.put(buffer(i, GqaMixer.TEACHER_K_BIAS), teacherShapes.get(bias(i, "k")));
        shapes.put(buffer(i, GqaMixer.TEACHER_V_BIAS), teacherShapes.get(bias(i, "v")));
      }
    }
    return shapes;
  }

  @Override
  public RetrofitStudent assemble(LlamaConfig teacher, Map<String, NDArray> state, NDManager manager) {
    LlamaConfig target = targetConfig(teacher);
    StateCheck.require(stateShapes(teacher), state);
    Map<String, NDArray> base = new LinkedHashMap<>();
    for (String name : teacher.tensorShapes().keySet()) {
      base.put(name, state.get(name));
    }
    boolean biased = teacher.attentionBias();
    List<NDArray[]> student = new ArrayList<>(); // k, v, k bias, v bias (null without biases)
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      student.add(new NDArray[] {state.get(projection(i, "k")), state.get(projection(i, "v")),
          state.get(bias(i, "k")), state.get(bias(i, "v"))});
      base.put(projection(i, "k"), state.get(buffer(i, GqaMixer.TEACHER_K)));
      base.put(projection(i, "v"), state.get(buffer(i, GqaMixer.TEACHER_V)));
      if (biased) {
        base.put(bias(i, "k"), state.get(buffer(i, GqaMixer.TEACHER_K_BIAS)));
        base.put(bias(i, "v"), state.get(buffer(i, GqaMixer.TEACHER_V_BIAS)));
      }
    }
    LlamaModel model = LlamaModel.fromTensors(teacher, manager, base);
    List<InterpolatedMixer> units = new ArrayList<>();
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      DecoderLayer layer = model.layers().get(i);
      Attention a = (Attention) layer.mixer();
      NDArray[] s = student.get(i);
      Linear sk = new Linear(model.adopt(projection(i, "k"), s[0]),
          biased ? model.adopt(bias(i, "k"), s[2]) : null);
      Linear sv = new Linear(model.adopt(projection(i, "v"), s[1]),
          biased ? model.adopt(bias(i, "v"), s[3]) : null);
      GqaMixer mixer = new GqaMixer(a.core(), teacher.numKeyValueHeads(), a.k(), a.v(), a.q(), sk, sv,
          a.o(), kvHeads);
      layer.replaceMixer(mixer);
      units.add(mixer);
    }
    return new RetrofitStudent(this, model, target, units);
  }

  @Override
  public Map<String, Object> spec() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", TYPE);
    m.put("kv_heads", kvHeads);
    m.put("init", init.name().toLowerCase(Locale.ROOT));
    m.put("seed", seed);
    return m;
  }

  private static String projection(int layer, String kv) {
    return "model.layers." + layer + ".self_attn." + kv + "_proj.weight";
  }

  private static String bias(int layer, String kv) {
    return "model.layers." + layer + ".self_attn." + kv + "_proj.bias";
  }

  private static String buffer(int layer, String name) {
    return "model.layers." + layer + ".self_attn." + name;
  }
}
