package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.checkpoint.ShardedWriter;
import dev.graft.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The exported checkpoint of a finished hybrid student. A Llama {@code config.json} cannot
 * describe gated-linear-attention layers, so the directory holds:
 * <ul>
 *   <li>{@code config.json}: the teacher's Llama config — right for the embeddings, the norms,
 *       the MLPs and the layers that keep attention;</li>
 *   <li>the weights ({@code model.safetensors}, or shards and an index), fp32, under the Hugging
 *       Face names of {@link HybridRetrofit#studentShapes}: in a converted layer
 *       {@code self_attn.q_proj} is C (H·N rows), {@code k_proj} B (KV·N rows), {@code v_proj} x,
 *       {@code o_proj} the output, and {@code a_proj} (weight (H, D), bias (H)) the decay;</li>
 *   <li>{@value #DESCRIPTION_FILE}: which layers are which, N, head_dim, and the recurrence.</li>
 * </ul>
 * A Llama loader refuses these weights (the converted layers' shapes and {@code a_proj} are not
 * Llama's); the retrofit spec in the description rebuilds the student with {@link Retrofits}.
 */
public final class HybridExport {

  public static final String DESCRIPTION_FILE = "hybrid.json";
  static final String FORMAT = "graft-hybrid-v1";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private HybridExport() {}

  /**
   * Writes the finished student into {@code dir}.
   *
   * @throws IllegalStateException if some unit has not reached α = 1
   */
  public static void write(Path dir, HybridRetrofit retrofit, RetrofitStudent student) throws IOException {
    if (Arrays.stream(student.alphas()).anyMatch(a -> a != 1)) {
      throw new IllegalStateException("cannot export the student: alphas " + Arrays.toString(student.alphas())
          + " have not all reached 1");
    }
    LlamaConfig teacher = student.teacherConfig();
    Map<String, List<Long>> shapes = retrofit.studentShapes(teacher);
    Map<String, NDArray> state = student.state();
    ShardedWriter writer = new ShardedWriter(Dtype.F32, ShardedWriter.DEFAULT_MAX_SHARD_BYTES);
    for (String name : new TreeMap<>(shapes).keySet()) {
      writer.add(name, state.get(name));
    }
    writer.write(dir);
    teacher.write(dir.resolve(HfCheckpoint.CONFIG_FILE));
    Files.writeString(dir.resolve(DESCRIPTION_FILE), JSON.writeValueAsString(describe(retrofit, teacher)));
  }

  static ObjectNode describe(HybridRetrofit retrofit, LlamaConfig teacher) {
    GatedLinearAttention g = retrofit.mixerShape(teacher);
    ObjectNode d = JSON.createObjectNode();
    d.put("format", FORMAT);
    d.set("retrofit", JSON.valueToTree(retrofit.spec()));
    d.set("attention_layers", JSON.valueToTree(retrofit.attentionLayerIndices(teacher)));
    d.set("gated_linear_attention_layers", JSON.valueToTree(retrofit.convertedLayers(teacher)));
    d.put("heads", g.heads());
    d.put("kv_heads", g.kvHeads());
    d.put("state_size", g.stateSize());
    d.put("head_dim", g.headDim());
    d.put("parameters", retrofit.parameterCount(teacher));
    d.put("recurrence", "per query head h: C = [q_proj(x)[h] / sqrt(head_dim), 1] (state_size + 1),"
        + " B = [k_proj(x)[h's kv head], 1] (state_size + 1), v = v_proj(x)[h's kv head] (head_dim),"
        + " a = exp(-softplus(a_proj(x)[h])); S = a * S + B v^T; z = a * z + 1; y = C^T S / z;"
        + " out = o_proj(concat_h y); S and z start at 0; no rotary embedding");
    return d;
  }
}
