package dev.graft.retrofit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.SafetensorsReader;
import dev.graft.checkpoint.SafetensorsWriter;
import dev.graft.model.FakeQuant;
import dev.graft.model.LlamaConfig;
import dev.graft.model.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The integers and scales of a {@link QuantRetrofit}'s weights, written beside the dequantized
 * Hugging Face checkpoint: {@value #TENSORS_FILE} holds, per quantized weight {@code W} of shape
 * (out, in), {@code W.qweight} and {@code W.scales} (F32, (out, groups)); {@value #DESCRIPTION_FILE}
 * says how to read them. int8 codes are I8 of shape (out, in); int4 codes are U8 of shape
 * (out, ceil(in / 2)), two per byte in two's complement: column 2j in the low nibble, column 2j + 1
 * in the high nibble (0 when {@code in} is odd). Codes lie in [−(2^(b−1) − 1), 2^(b−1) − 1];
 * element (r, c) dequantizes to {@code code(r, c) · scales(r, c / group)} in fp32, which is exactly
 * the checkpoint's weight.
 */
public final class QuantExport {

  public static final String TENSORS_FILE = "quantized.safetensors";
  public static final String DESCRIPTION_FILE = "quantization.json";
  static final String FORMAT = "graft-quant-v1";

  private static final ObjectMapper JSON = new ObjectMapper();

  private QuantExport() {}

  /** Quantizes {@code weights}' chosen tensors (full precision, as trained) and writes both files into {@code dir}. */
  public static void write(Path dir, QuantRetrofit retrofit, LlamaConfig config, Map<String, NDArray> weights)
      throws IOException {
    FakeQuant quant = retrofit.quant();
    SafetensorsWriter writer = new SafetensorsWriter(Dtype.F32);
    ObjectNode desc = JSON.createObjectNode();
    desc.put("format", FORMAT);
    desc.put("bits", retrofit.bits());
    desc.put("granularity", retrofit.granularity().key());
    desc.put("group_size", retrofit.groupSize());
    desc.put("symmetric", true);
    desc.putArray("code_range").add(-quant.maxCode()).add(quant.maxCode());
    desc.put("codes_dtype", retrofit.bits() == 8 ? "I8" : "U8");
    desc.put("packing", retrofit.bits() == 8 ? "one code per byte"
        : "two codes per byte along the input dimension: column 2j low nibble, 2j+1 high nibble,"
            + " 4-bit two's complement");
    desc.put("dequantize", "w[r][c] = code[r][c] * scales[r][c / group], fp32");
    ObjectNode tensors = desc.putObject("tensors");
    for (String name : retrofit.quantizedTensors(config)) {
      NDArray w = weights.get(name);
      if (w == null) {
        throw new IllegalArgumentException("no tensor '" + name + "' to quantize");
      }
      long out = w.getShape().get(0);
      long in = w.getShape().get(1);
      float[] codes;
      float[] scales;
      try (NDManager scratch = w.getManager().newSubManager()) { // one weight's intermediates at a time
        FakeQuant.Quantized q = quant.quantize(Tensors.viewOn(w, scratch).stopGradient());
        codes = q.codes().toFloatArray();
        scales = q.scales().toFloatArray();
      }
      List<Long> codeShape = retrofit.bits() == 8 ? List.of(out, in) : List.of(out, (in + 1) / 2);
      writer.addBytes(name + ".qweight", retrofit.bits() == 8 ? Dtype.I8 : Dtype.U8, codeShape,
          retrofit.bits() == 8 ? bytes(codes) : packInt4(codes, out, in));
      writer.add(name + ".scales", scales, out, scales.length / out);
      ObjectNode t = tensors.putObject(name);
      t.putArray("shape").add(out).add(in);
      t.put("qweight", name + ".qweight");
      t.put("scales", name + ".scales");
    }
    writer.putMetadata("quantization", FORMAT);
    Files.createDirectories(dir);
    writer.write(dir.resolve(TENSORS_FILE));
    Files.write(dir.resolve(DESCRIPTION_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(desc));
  }

  /** A dequantized weight read back from the side files: its shape and row-major fp32 values. */
  public record Weight(long out, long in, float[] values) {}

  /**
   * Reads the side files in {@code dir} and dequantizes every weight they describe.
   *
   * @throws IOException when a file is missing, unreadable or inconsistent with its description
   */
  public static Map<String, Weight> read(Path dir) throws IOException {
    JsonNode desc = JSON.readTree(Files.readString(dir.resolve(DESCRIPTION_FILE), StandardCharsets.UTF_8));
    if (!FORMAT.equals(desc.path("format").asText())) {
      throw new IOException(dir.resolve(DESCRIPTION_FILE) + ": format is not " + FORMAT);
    }
    int bits = desc.path("bits").asInt();
    int groupSize = desc.path("group_size").asInt();
    Map<String, Weight> out = new LinkedHashMap<>();
    try (SafetensorsReader reader = SafetensorsReader.open(dir.resolve(TENSORS_FILE))) {
      var it = desc.path("tensors").fields();
      while (it.hasNext()) {
        var e = it.next();
        ArrayNode shape = (ArrayNode) e.getValue().path("shape");
        long rows = shape.get(0).asLong();
        long cols = shape.get(1).asLong();
        ByteBuffer codes = reader.bytes(e.getValue().path("qweight").asText());
        float[] scales = reader.readFloats(e.getValue().path("scales").asText());
        long group = groupSize == 0 ? cols : groupSize;
        long groups = cols / group;
        if (scales.length != rows * groups) {
          throw new IOException(e.getKey() + ": " + scales.length + " scales for " + rows + " rows of "
              + groups + " groups");
        }
        float[] w = new float[Math.toIntExact(rows * cols)];
        long rowBytes = bits == 8 ? cols : (cols + 1) / 2;
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            int code;
            if (bits == 8) {
              code = codes.get((int) (r * rowBytes + c));
            } else {
              int b = codes.get((int) (r * rowBytes + c / 2));
              int nibble = (c % 2 == 0 ? b : b >> 4) & 0xF;
              code = nibble >= 8 ? nibble - 16 : nibble;
            }
            w[(int) (r * cols + c)] = code * scales[(int) (r * groups + c / group)];
          }
        }
        out.put(e.getKey(), new Weight(rows, cols, w));
      }
    }
    return out;
  }

  private static byte[] bytes(float[] codes) {
    byte[] b = new byte[codes.length];
    for (int i = 0; i < codes.length; i++) {
      b[i] = (byte) codes[i];
    }
    return b;
  }

  /** Codes in [−7, 7], row by row, two per byte: even column low nibble, odd column high nibble. */
  static byte[] packInt4(float[] codes, long rows, long cols) {
    long rowBytes = (cols + 1) / 2;
    byte[] b = new byte[Math.toIntExact(rows * rowBytes)];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int nibble = ((int) codes[(int) (r * cols + c)]) & 0xF;
        int at = (int) (r * rowBytes + c / 2);
        b[at] = (byte) (b[at] | (c % 2 == 0 ? nibble : nibble << 4));
      }
    }
    return b;
  }
}
