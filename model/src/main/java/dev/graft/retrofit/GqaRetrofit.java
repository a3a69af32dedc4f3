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
 * or keep-one per group, or random), MQA → GQA (duplicate). One interpolation unit per layer.
 */
public record GqaRetrofit(int kvHeads, KvInit init, long seed) implements Retrofit {

  public GqaRetrofit {
    if (kvHeads <= 0) {
      throw new IllegalArgumentException("kv_heads (" + kvHeads + ") must be > 0");
    }
  }

  @Override
  public String describe(LlamaConfig t) {
    return String.format(Locale.ROOT, "%s(%d) -> GQA(%d), kv init %s", kind(t.numKeyValueHeads(), t),
        t.numKeyValueHeads(), kvHeads, init.name().toLowerCase(Locale.ROOT));
  }

  private static String kind(int kv, LlamaConfig t) {
    return kv == t.numAttentionHeads() ? "MHA" : kv == 1 ? "MQA" : "GQA";
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
    LlamaConfig target = targetConfig(teacher);
    Map<String, NDArray> copies = new LinkedHashMap<>();
    teacherTensors.forEach((n, t) -> copies.put(n, t.duplicate()));
    LlamaModel model = LlamaModel.fromTensors(teacher, manager, copies);
    Random rng = new Random(seed);
    List<InterpolatedMixer> units = new ArrayList<>();
    int tKv = teacher.numKeyValueHeads();
    int hd = teacher.headDim();
    for (DecoderLayer layer : model.layers()) {
      Attention a = (Attention) layer.mixer();
      NDArray tk = a.k().weight();
      NDArray tv = a.v().weight();
      NDArray sk = init.apply(tk, tKv, kvHeads, hd, model.manager(), rng);
      NDArray sv = init.apply(tv, tKv, kvHeads, hd, model.manager(), rng);
      GqaMixer mixer = new GqaMixer(a.core(), tKv, tk, tv, a.q(), new Linear(sk), new Linear(sv), a.o(), kvHeads);
      layer.replaceMixer(mixer);
      units.add(mixer);
    }
    return new RetrofitStudent(model, target, units);
  }
}
