package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.graft.model.DecoderLayer;
import dev.graft.model.FakeQuant;
import dev.graft.model.Linear;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Quantization-aware weights: the chosen linear projections of every layer compute with their
 * weights fake-quantized ({@link FakeQuant}: symmetric int8 or int4, per output channel or per group
 * of {@code groupSize} input columns), blended from full precision by α with a straight-through
 * gradient ({@link QuantLayer}). One unit per layer. The architecture does not change; the export is
 * the dequantized weights Q(W).
 *
 * @param bits 8 or 4
 * @param granularity per channel (one scale per output row) or per group
 * @param groupSize input columns per scale for {@link Granularity#PER_GROUP}; 0 for per channel
 * @param linears projections to quantize, by their Hugging Face module name ({@code q_proj} ...)
 */
public record QuantRetrofit(int bits, Granularity granularity, int groupSize, List<String> linears)
    implements SameTensorsRetrofit {

  /** The retrofit's {@code type} in specs and run configs. */
  public static final String TYPE = "quant";

  /** The projections a layer has, attention then MLP; all of them are quantized by default. */
  public static final List<String> PROJECTIONS =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  private static final Set<String> ATTENTION = Set.of("q_proj", "k_proj", "v_proj", "o_proj");

  /** Whether one scale covers a whole output row or a group of its input columns. */
  public enum Granularity {
    PER_CHANNEL,
    PER_GROUP;

    /** @throws IllegalArgumentException for a name other than per_channel or per_group */
    public static Granularity parse(String s) {
      for (Granularity g : values()) {
        if (g.name().equalsIgnoreCase(s == null ? "" : s.trim())) {
          return g;
        }
      }
      throw new IllegalArgumentException("granularity '" + s + "' is not known; use per_channel or per_group");
    }

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public QuantRetrofit {
    if (bits != 8 && bits != 4) {
      throw new IllegalArgumentException("quant retrofit: bits (" + bits + ") must be 8 or 4");
    }
    if (granularity == null) {
      throw new IllegalArgumentException("quant retrofit: granularity must be per_channel or per_group");
    }
    if (granularity == Granularity.PER_GROUP && groupSize < 1) {
      throw new IllegalArgumentException("quant retrofit: group_size (" + groupSize + ") must be >= 1 per group");
    }
    if (granularity == Granularity.PER_CHANNEL && groupSize != 0) {
      throw new IllegalArgumentException("quant retrofit: group_size (" + groupSize
          + ") applies only to granularity per_group; use 0 with per_channel");
    }
    if (linears == null || linears.isEmpty()) {
      throw new IllegalArgumentException("quant retrofit: linears must name at least one of " + PROJECTIONS);
    }
    for (String l : linears) {
      if (!PROJECTIONS.contains(l)) {
        throw new IllegalArgumentException("quant retrofit: linear '" + l + "' is not known; use some of "
            + PROJECTIONS);
      }
    }
    if (Set.copyOf(linears).size() != linears.size()) {
      throw new IllegalArgumentException("quant retrofit: linears " + linears + " names one twice");
    }
    linears = List.copyOf(linears);
  }

  /** The fake quantizer of every chosen linear. */
  public FakeQuant quant() {
    return new FakeQuant(bits, groupSize);
  }

  @Override
  public String tag() {
    return "int" + bits + (granularity == Granularity.PER_GROUP ? "g" + groupSize : "c");
  }

  @Override
  public String describe(LlamaConfig teacher) {
    return String.format(Locale.ROOT, "fp32 -> int%d weights (%s%s) of %s", bits, granularity.key(),
        granularity == Granularity.PER_GROUP ? " " + groupSize : "", String.join(",", linears));
  }

  @Override
  public int units(LlamaConfig teacher) {
    return teacher.numHiddenLayers();
  }

  /** The teacher's architecture; throws when a group size does not divide a chosen linear's input width. */
  @Override
  public LlamaConfig targetConfig(LlamaConfig teacher) {
    FakeQuant q = quant();
    for (String l : linears) {
      long in = inputWidth(teacher, l);
      try {
        q.groups(in);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("quant retrofit: group_size (" + groupSize
            + ") does not divide the input width of " + l + " (" + in + ")", e);
      }
    }
    return teacher;
  }

  private static long inputWidth(LlamaConfig t, String linear) {
    return switch (linear) {
      case "o_proj" -> (long) t.numAttentionHeads() * t.headDim();
      case "down_proj" -> t.intermediateSize();
      default -> t.hiddenSize();
    };
  }

  /**
   * Bytes of the weights at the bit width: the quantized weights' codes (int4 two per byte, a row
   * of odd width padded to whole bytes) and fp32 scales, the other tensors in fp32.
   */
  @Override
  public long weightBytes(LlamaConfig teacher) {
    Map<String, List<Long>> shapes = targetConfig(teacher).tensorShapes();
    long bytes = teacher.parameterCount() * Float.BYTES;
    FakeQuant q = quant();
    for (String name : quantizedTensors(teacher)) {
      long out = shapes.get(name).get(0);
      long in = shapes.get(name).get(1);
      bytes -= out * in * Float.BYTES;
      bytes += out * (bits == 8 ? in : (in + 1) / 2) + out * q.groups(in) * Float.BYTES;
    }
    return bytes;
  }

  /** Hugging Face names of the quantized weights, in layer then {@link #linears} order. */
  public List<String> quantizedTensors(LlamaConfig teacher) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      for (String l : linears) {
        names.add(weightName(i, l));
      }
    }
    return names;
  }

  private static String weightName(int layer, String linear) {
    return "model.layers." + layer + (ATTENTION.contains(linear) ? ".self_attn." : ".mlp.") + linear + ".weight";
  }

  @Override
  public RetrofitStudent assemble(LlamaConfig teacher, Map<String, NDArray> state, NDManager manager) {
    LlamaConfig target = targetConfig(teacher);
    StateCheck.require(stateShapes(teacher), state);
    LlamaModel model = LlamaModel.fromTensors(teacher, manager, state);
    FakeQuant q = quant();
    List<InterpolatedMixer> units = new ArrayList<>();
    Map<String, QuantLayer> byWeight = new TreeMap<>(); // quantized weight -> its layer's unit
    for (int i = 0; i < teacher.numHiddenLayers(); i++) {
      DecoderLayer layer = model.layers().get(i);
      QuantLayer unit = new QuantLayer(q);
      for (String l : linears) {
        Module parent = layer.children().get(ATTENTION.contains(l) ? "self_attn" : "mlp");
        if (!(parent.children().get(l) instanceof Linear linear)) {
          throw new IllegalStateException("layer " + i + " has no linear " + l);
        }
        linear.setWeightTransform(unit.transform());
        byWeight.put(weightName(i, l), unit);
      }
      units.add(unit);
    }
    return new RetrofitStudent(this, model, target, units, params -> {
      Map<String, NDArray> out = new TreeMap<>(params);
      byWeight.keySet().forEach(name -> out.put(name, q.apply(params.get(name), manager)));
      return out;
    });
  }

  @Override
  public Map<String, Object> spec() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", TYPE);
    m.put("bits", bits);
    m.put("granularity", granularity.key());
    m.put("group_size", groupSize);
    m.put("linears", linears);
    return m;
  }
}
