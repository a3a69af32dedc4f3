package dev.graft.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file: string metadata plus one {@link TensorInfo} per tensor.
 * Parsing validates the whole layout, so that a reader can trust every offset it maps.
 */
record SafetensorsHeader(Map<String, String> metadata, List<TensorInfo> tensors) {

  /** Same limit as the reference implementation; guards against absurd lengths. */
  static final long MAX_HEADER_BYTES = 100_000_000L;

  static final String METADATA_KEY = "__metadata__";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  SafetensorsHeader {
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    tensors = List.copyOf(tensors);
  }

  /**
   * Parses header bytes and checks every tensor against a data section of {@code dataLength}
   * bytes: sizes agree with dtype and shape, and the tensors tile the section exactly, without
   * overlap, gap, or running past its end.
   *
   * @param where names the file in messages
   * @throws IllegalArgumentException naming the file and the tensor at fault
   */
  static SafetensorsHeader parse(byte[] json, long dataLength, String where) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + ": header is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": header is unreadable: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(where + ": header must be a JSON object");
    }
    Map<String, String> metadata = Map.of();
    List<TensorInfo> tensors = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(METADATA_KEY)) {
        metadata = parseMetadata(e.getValue(), where);
      } else {
        tensors.add(parseTensor(e.getKey(), e.getValue(), where));
      }
    }
    checkTiling(tensors, dataLength, where);
    return new SafetensorsHeader(metadata, tensors);
  }

  /**
   * The header as written to disk: compact JSON with {@code __metadata__} first and the tensors in
   * the given order, padded with spaces so that the data section starts 8-byte aligned.
   */
  byte[] encode() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode meta = root.putObject(METADATA_KEY);
    metadata.forEach(meta::put);
    for (TensorInfo t : tensors) {
      ObjectNode node = root.putObject(t.name());
      node.put("dtype", t.dtype().name());
      ArrayNode shape = node.putArray("shape");
      t.shape().forEach(shape::add);
      node.putArray("data_offsets").add(t.begin()).add(t.end());
    }
    byte[] raw;
    try {
      raw = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode safetensors header", e);
    }
    byte[] padded = Arrays.copyOf(raw, (raw.length + 7) & ~7);
    Arrays.fill(padded, raw.length, padded.length, (byte) ' ');
    return padded;
  }

  private static Map<String, String> parseMetadata(JsonNode node, String where) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(where + ": __metadata__ must be an object of strings");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException(
            where + ": __metadata__ value for '" + e.getKey() + "' must be a string, got "
                + e.getValue());
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  private static TensorInfo parseTensor(String name, JsonNode node, String where) {
    String at = where + ": tensor '" + name + "'";
    if (!node.isObject()) {
      throw new IllegalArgumentException(at + ": entry must be an object, got " + node);
    }
    JsonNode dtype = node.get("dtype");
    if (dtype == null || !dtype.isTextual()) {
      throw new IllegalArgumentException(at + ": missing string field 'dtype'");
    }
    Dtype type;
    try {
      type = Dtype.parse(dtype.asText());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + e.getMessage());
    }
    List<Long> shape = longs(node.get("shape"), -1, at + ": field 'shape'");
    List<Long> offsets = longs(node.get("data_offsets"), 2, at + ": field 'data_offsets'");
    long begin = offsets.get(0);
    long end = offsets.get(1);
    if (begin > end) {
      throw new IllegalArgumentException(at + ": data_offsets " + offsets + " end before they begin");
    }
    TensorInfo t = new TensorInfo(name, type, shape, begin, end);
    long expected;
    try {
      expected = t.byteSize();
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(at + ": shape " + shape + " is too large");
    }
    if (expected != end - begin) {
      throw new IllegalArgumentException(
          at + ": dtype " + type + " and shape " + shape + " need " + expected
              + " bytes but data_offsets " + offsets + " span " + (end - begin));
    }
    return t;
  }

  /** A JSON array of non-negative integers, of length {@code size} unless that is negative. */
  private static List<Long> longs(JsonNode node, int size, String what) {
    if (node == null || !node.isArray() || (size >= 0 && node.size() != size)) {
      throw new IllegalArgumentException(
          what + " must be an array of " + (size >= 0 ? size + " " : "") + "non-negative integers, got "
              + node);
    }
    List<Long> out = new ArrayList<>(node.size());
    for (JsonNode v : node) {
      if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
        throw new IllegalArgumentException(what + " must hold non-negative integers, got " + node);
      }
      out.add(v.asLong());
    }
    return out;
  }

  private static void checkTiling(List<TensorInfo> tensors, long dataLength, String where) {
    List<TensorInfo> byOffset = new ArrayList<>(tensors);
    byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long cursor = 0;
    TensorInfo previous = null;
    for (TensorInfo t : byOffset) {
      String at = where + ": tensor '" + t.name() + "' data_offsets [" + t.begin() + ", " + t.end() + "]";
      if (t.end() > dataLength) {
        throw new IllegalArgumentException(
            at + " run past the end of the data section (" + dataLength
                + " bytes): the file is truncated or the offsets are wrong");
      }
      if (t.begin() < cursor) {
        throw new IllegalArgumentException(
            at + " overlap tensor '" + previous.name() + "' [" + previous.begin() + ", "
                + previous.end() + "]");
      }
      if (t.begin() > cursor) {
        throw new IllegalArgumentException(
            at + " leave bytes [" + cursor + ", " + t.begin() + ") that belong to no tensor");
      }
      cursor = t.end();
      previous = t;
    }
    if (cursor != dataLength) {
      throw new IllegalArgumentException(
          where + ": " + (dataLength - cursor) + " bytes after the last tensor belong to no tensor");
    }
  }
}
