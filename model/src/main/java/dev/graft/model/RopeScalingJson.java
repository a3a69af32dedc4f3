package dev.graft.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code rope_scaling} object of a {@code config.json}, to and from {@link RopeScaling}. The
 * kind is named by {@code rope_type} (or the older {@code type}, as Hugging Face accepts); a kind
 * Graft does not implement, a missing parameter and a key the kind does not use are refused by
 * name.
 */
final class RopeScalingJson {

  private static final Map<String, Set<String>> KEYS = Map.of(
      "default", Set.of(),
      "linear", Set.of("factor"),
      "dynamic", Set.of("factor"),
      "llama3", Set.of("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"));

  private RopeScalingJson() {}

  /** The scaling {@code node} describes; null or absent is none. */
  static RopeScaling parse(JsonNode node) {
    if (node == null || node.isNull()) {
      return RopeScaling.NONE;
    }
    if (!node.isObject()) {
      throw new IllegalArgumentException("config.json field 'rope_scaling' must be an object or null, got " + node);
    }
    String type = type(node);
    Set<String> keys = KEYS.get(type);
    if (keys == null) {
      throw new IllegalArgumentException("unsupported rope_scaling type '" + type + "' in config.json: Graft"
          + " implements default, linear, dynamic and llama3");
    }
    Set<String> unknown = new TreeSet<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!keys.contains(key) && !key.equals("rope_type") && !key.equals("type")) {
        unknown.add(key);
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("rope_scaling of type '" + type + "' has unsupported key(s) " + unknown
          + " (it takes " + new TreeSet<>(keys) + ")");
    }
    return switch (type) {
      case "linear" -> new RopeScaling.Linear(number(node, "factor"));
      case "dynamic" -> new RopeScaling.Dynamic(number(node, "factor"));
      case "llama3" -> new RopeScaling.Llama3(number(node, "factor"), number(node, "low_freq_factor"),
          number(node, "high_freq_factor"), integer(node, "original_max_position_embeddings"));
      default -> RopeScaling.NONE;
    };
  }

  /** Puts {@code rope_scaling} into {@code config}: null for none. */
  static void write(ObjectNode config, RopeScaling scaling) {
    if (scaling instanceof RopeScaling.None) {
      config.putNull("rope_scaling");
      return;
    }
    ObjectNode n = config.putObject("rope_scaling");
    n.put("rope_type", scaling.type());
    if (scaling instanceof RopeScaling.Linear l) {
      n.put("factor", l.factor());
    } else if (scaling instanceof RopeScaling.Dynamic d) {
      n.put("factor", d.factor());
    } else if (scaling instanceof RopeScaling.Llama3 l) {
      n.put("factor", l.factor());
      n.put("low_freq_factor", l.lowFreqFactor());
      n.put("high_freq_factor", l.highFreqFactor());
      n.put("original_max_position_embeddings", l.originalMaxPositionEmbeddings());
    }
  }

  private static String type(JsonNode node) {
    JsonNode ropeType = node.get("rope_type");
    JsonNode legacy = node.get("type");
    if (ropeType == null && legacy == null) {
      throw new IllegalArgumentException("config.json field 'rope_scaling' = " + node + " names no rope_type");
    }
    if (ropeType != null && legacy != null && !ropeType.equals(legacy)) {
      throw new IllegalArgumentException("config.json field 'rope_scaling' names two types: rope_type "
          + ropeType + " and type " + legacy);
    }
    JsonNode t = ropeType != null ? ropeType : legacy;
    if (!t.isTextual()) {
      throw new IllegalArgumentException("rope_scaling.rope_type must be a string, got " + t);
    }
    return t.asText();
  }

  private static double number(JsonNode node, String key) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("rope_scaling of type '" + type(node) + "' is missing '" + key + "'");
    }
    if (!v.isNumber()) {
      throw new IllegalArgumentException("rope_scaling." + key + " must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static int integer(JsonNode node, String key) {
    double v = number(node, key);
    if (v != Math.rint(v) || v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
      throw new IllegalArgumentException("rope_scaling." + key + " must be an integer, got " + node.get(key));
    }
    return (int) v;
  }
}
