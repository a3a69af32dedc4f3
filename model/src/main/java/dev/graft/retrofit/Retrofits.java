package dev.graft.retrofit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Reads retrofits back from their specs ({@link Retrofit#spec()}), as maps or JSON. */
public final class Retrofits {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Retrofits() {}

  /**
   * The retrofit a spec describes.
   *
   * @throws IllegalArgumentException for an unknown type, a missing or unknown key, or a bad value
   */
  public static Retrofit fromSpec(Map<String, ?> spec) {
    Object type = spec.get("type");
    if (!(type instanceof String t)) {
      throw new IllegalArgumentException("a retrofit spec needs a string 'type', got " + spec);
    }
    if (t.equals(QuantRetrofit.TYPE)) {
      requireKeys(spec, Set.of("type", "bits", "granularity", "group_size", "linears"));
      return new QuantRetrofit(integer(spec, "bits"), QuantRetrofit.Granularity.parse(string(spec, "granularity")),
          integer(spec, "group_size"), strings(spec, "linears"));
    }
    if (t.equals(WindowRetrofit.TYPE)) {
      requireKeys(spec, Set.of("type", "window", "sinks", "layers"));
      return new WindowRetrofit(integer(spec, "window"), integer(spec, "sinks"), windowLayers(spec.get("layers")));
    }
    if (t.equals(HybridRetrofit.TYPE)) {
      requireKeys(spec, Set.of("type", "attention_layers", "state_size", "chunk_size", "freeze"));
      return new HybridRetrofit(string(spec, "attention_layers"), integer(spec, "state_size"),
          integer(spec, "chunk_size"), strings(spec, "freeze"));
    }
    if (!t.equals(GqaRetrofit.TYPE)) {
      throw new IllegalArgumentException("unknown retrofit type '" + t + "'; known: " + GqaRetrofit.TYPE
          + ", " + QuantRetrofit.TYPE + ", " + WindowRetrofit.TYPE + ", " + HybridRetrofit.TYPE);
    }
    requireKeys(spec, Set.of("type", "kv_heads", "init", "seed"));
    return new GqaRetrofit(integer(spec, "kv_heads"), KvInit.parse(string(spec, "init")), longValue(spec, "seed"));
  }

  public static String toJson(Retrofit retrofit) {
    try {
      return JSON.writeValueAsString(retrofit.spec());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the retrofit spec", e);
    }
  }

  /** @throws IllegalArgumentException for text that is not a JSON object or not a valid spec */
  @SuppressWarnings("unchecked")
  public static Retrofit fromJson(String json) {
    Map<String, Object> spec;
    try {
      spec = JSON.readValue(json, LinkedHashMap.class);
    } catch (JsonProcessingException | ClassCastException e) {
      throw new IllegalArgumentException("retrofit spec is not a JSON object: " + json, e);
    }
    if (spec == null) {
      throw new IllegalArgumentException("retrofit spec is not a JSON object: " + json);
    }
    return fromSpec(spec);
  }

  private static void requireKeys(Map<String, ?> spec, Set<String> keys) {
    Set<String> missing = new TreeSet<>(keys);
    missing.removeAll(spec.keySet());
    Set<String> extra = new TreeSet<>(spec.keySet());
    extra.removeAll(keys);
    if (!missing.isEmpty() || !extra.isEmpty()) {
      throw new IllegalArgumentException("retrofit spec " + spec + " must have exactly the keys "
          + new TreeSet<>(keys) + (missing.isEmpty() ? "" : "; missing " + missing)
          + (extra.isEmpty() ? "" : "; unknown " + extra));
    }
  }

  private static int integer(Map<String, ?> spec, String key) {
    long v = longValue(spec, key);
    if (v != (int) v) {
      throw new IllegalArgumentException("retrofit spec key '" + key + "' (" + v + ") is out of range");
    }
    return (int) v;
  }

  private static long longValue(Map<String, ?> spec, String key) {
    if (spec.get(key) instanceof Number n && (n instanceof Integer || n instanceof Long)) {
      return n.longValue();
    }
    throw new IllegalArgumentException("retrofit spec key '" + key + "' must be an integer, got "
        + spec.get(key));
  }

  private static List<String> strings(Map<String, ?> spec, String key) {
    if (spec.get(key) instanceof List<?> list && list.stream().allMatch(String.class::isInstance)) {
      return list.stream().map(String.class::cast).toList();
    }
    throw new IllegalArgumentException("retrofit spec key '" + key + "' must be a list of strings, got "
        + spec.get(key));
  }

  /** "all" or a list of integer layer indices. */
  private static List<Integer> windowLayers(Object value) {
    if ("all".equals(value)) {
      return List.of();
    }
    if (value instanceof List<?> list && !list.isEmpty()) {
      List<Integer> out = new ArrayList<>();
      for (Object o : list) {
        if (!(o instanceof Integer i)) {
          throw new IllegalArgumentException("retrofit spec key 'layers' must be \"all\" or a non-empty list of"
              + " layer indices, got " + value);
        }
        out.add(i);
      }
      return out;
    }
    throw new IllegalArgumentException("retrofit spec key 'layers' must be \"all\" or a non-empty list of"
        + " layer indices, got " + value);
  }

  private static String string(Map<String, ?> spec, String key) {
    if (spec.get(key) instanceof String s) {
      return s;
    }
    throw new IllegalArgumentException("retrofit spec key '" + key + "' must be a string, got " + spec.get(key));
  }
}
