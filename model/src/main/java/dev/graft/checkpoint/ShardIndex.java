package dev.graft.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Hugging Face's {@code model.safetensors.index.json}: which shard file holds each tensor, plus
 * {@code metadata.total_size}, the bytes of tensor data across all shards.
 */
public record ShardIndex(long totalSize, Map<String, String> weightMap) {

  public static final String FILE_NAME = "model.safetensors.index.json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * @throws IllegalArgumentException if a shard name is not a plain file name
   */
  public ShardIndex {
    weightMap = Collections.unmodifiableMap(new TreeMap<>(weightMap));
    weightMap.forEach(ShardIndex::checkShardName);
  }

  /** The shard file names, sorted. */
  public Set<String> shardFiles() {
    return Collections.unmodifiableSet(new TreeSet<>(weightMap.values()));
  }

  /**
   * Reads an index file.
   *
   * @throws IllegalArgumentException naming the file if it is not a valid index
   */
  public static ShardIndex read(Path file) throws IOException {
    try {
      return fromJson(Files.readString(file));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  static ShardIndex fromJson(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("index is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("index must be a JSON object");
    }
    JsonNode map = root.get("weight_map");
    if (map == null || !map.isObject() || map.isEmpty()) {
      throw new IllegalArgumentException("index has no 'weight_map' object naming a shard per tensor");
    }
    Map<String, String> weightMap = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException(
            "weight_map entry for tensor '" + e.getKey() + "' must be a file name, got " + e.getValue());
      }
      weightMap.put(e.getKey(), e.getValue().asText());
    }
    JsonNode total = root.path("metadata").path("total_size");
    long totalSize = total.canConvertToLong() ? total.asLong() : -1;
    return new ShardIndex(totalSize, weightMap);
  }

  /** The index as JSON text, with {@code weight_map} sorted by tensor name. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.putObject("metadata").put("total_size", totalSize);
    ObjectNode map = root.putObject("weight_map");
    weightMap.forEach(map::put);
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode shard index", e);
    }
  }

  /** Writes the index atomically. */
  public void write(Path file) throws IOException {
    AtomicFiles.writeString(file, toJson());
  }

  private static void checkShardName(String tensor, String file) {
    if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.startsWith(".")) {
      throw new IllegalArgumentException(
          "weight_map puts tensor '" + tensor + "' in '" + file
              + "', which is not a plain file name in the checkpoint directory");
    }
  }
}
