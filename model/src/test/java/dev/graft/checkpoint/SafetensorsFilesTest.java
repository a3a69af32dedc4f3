package dev.graft.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Single-file reading and writing, without the tensor engine. */
class SafetensorsFilesTest {

  @TempDir Path dir;

  /** Random values that the dtype represents exactly, including signed zeros, subnormals, inf. */
  static float[] representable(Dtype dtype, int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      short s = (short) rnd.nextInt(1 << 16);
      v[i] = switch (dtype) {
        case F16 -> HalfFloats.halfToFloat(s);
        case BF16 -> HalfFloats.bf16ToFloat(s);
        default -> Float.intBitsToFloat(rnd.nextInt());
      };
    }
    v[0] = -0f;
    v[1] = Float.POSITIVE_INFINITY;
    return v;
  }

  private void assertRoundTripBitExact(Dtype dtype) throws IOException {
    float[] a = representable(dtype, 3 * 5, 1);
    float[] b = representable(dtype, 7, 2);
    Path file = dir.resolve("t.safetensors");
    new SafetensorsWriter(dtype).add("b", b, 7).add("a", a, 3, 5).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(List.of(3L, 5L), r.info("a").shape());
      assertEquals(dtype, r.info("a").dtype());
      assertArrayEquals(bits(a), bits(r.readFloats("a")));
      assertArrayEquals(bits(b), bits(r.readFloats("b")));
    }
  }

  static int[] bits(float[] v) {
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Float.floatToRawIntBits(v[i]);
    }
    return out;
  }

  @Test
  void roundTrip_f32_isBitExact() throws IOException {
    assertRoundTripBitExact(Dtype.F32);
  }

  @Test
  void roundTrip_f16_isBitExact() throws IOException {
    assertRoundTripBitExact(Dtype.F16);
  }

  @Test
  void roundTrip_bf16_isBitExact() throws IOException {
    assertRoundTripBitExact(Dtype.BF16);
  }

  @Test
  void write_bf16_storesRoundedLittleEndianBits() throws IOException {
    Path file = dir.resolve("r.safetensors");
    float[] v = {1f, Float.intBitsToFloat(0x3f818000), -2f};
    new SafetensorsWriter(Dtype.BF16).add("x", v, 3).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      ByteBuffer raw = r.bytes("x");
      assertEquals(6, raw.remaining());
      assertEquals(ByteOrder.LITTLE_ENDIAN, raw.order());
      assertTrue(raw.isReadOnly());
      assertEquals((short) 0x3f80, raw.getShort(0));
      assertEquals((short) 0x3f82, raw.getShort(2));
      assertEquals((byte) 0x00, raw.get(4)); // -2.0 is 0xc000, low byte first
      assertEquals((byte) 0xc0, raw.get(5));
    }
  }

  @Test
  void write_header_isAlignedWithFormatPtAndSortedKeys() throws IOException {
    Path file = dir.resolve("h.safetensors");
    new SafetensorsWriter(Dtype.F16)
        .add("zeta", new float[3], 3)
        .add("alpha", new float[1], 1)
        .add("Mid.weight", new float[4], 2, 2)
        .putMetadata("step", "12")
        .write(file);
    byte[] bytes = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, (8 + n) % 8, "data section must start 8-byte aligned");
    String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\",\"step\":\"12\"}"), header);
    String json = header.stripTrailing();
    assertTrue(json.endsWith("}"));
    assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '), "pads with spaces");
    JsonNode root = new ObjectMapper().readTree(header);
    List<String> keys = new ArrayList<>();
    root.fieldNames().forEachRemaining(keys::add);
    assertEquals(List.of("__metadata__", "Mid.weight", "alpha", "zeta"), keys);
    assertEquals("[0,8]", root.get("Mid.weight").get("data_offsets").toString());
    assertEquals("[8,10]", root.get("alpha").get("data_offsets").toString());
    assertEquals("[10,16]", root.get("zeta").get("data_offsets").toString());
    assertEquals(8 + n + 16, bytes.length);
  }

  @Test
  void write_existingFile_isReplacedAndLeavesNoTemporaryFiles() throws IOException {
    Path file = dir.resolve("w.safetensors");
    new SafetensorsWriter(Dtype.F32).add("x", new float[] {1, 2}, 2).write(file);
    new SafetensorsWriter(Dtype.F32).add("y", new float[] {3}, 1).write(file);
    try (SafetensorsReader r = SafetensorsReader.open(file);
        Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of("y"), List.copyOf(r.tensors().keySet()));
      assertEquals(List.of(file), files.toList());
    }
  }

  @Test
  void add_shapeNotMatchingValues_isRejected() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new SafetensorsWriter(Dtype.F32).add("w", new float[5], 2, 3));
    assertEquals("tensor 'w': shape [2, 3] holds 6 elements but 5 values were given", e.getMessage());
  }

  /** Builds a file byte for byte, as Python's safetensors lays it out. */
  static byte[] handBuilt(String headerJson, byte[] data) {
    byte[] json = headerJson.getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer out = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(padded).put(json);
    for (int i = json.length; i < padded; i++) {
      out.put((byte) ' ');
    }
    return out.put(data).array();
  }

  static byte[] littleEndian(Object... values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object v : values) {
      ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      if (v instanceof Float f) {
        b.putFloat(f);
      } else if (v instanceof Short s) {
        b.putShort(s);
      } else {
        b.putLong((Long) v);
      }
      out.write(b.array(), 0, b.position());
    }
    return out.toByteArray();
  }

  @Test
  void read_handBuiltFile_givesNamesDtypesShapesMetadataAndValues() throws IOException {
    // Data laid out I64 first, then F32, then BF16, out of name order, as Python may do.
    String header = "{\"__metadata__\":{\"format\":\"pt\",\"source\":\"hand\"},"
        + "\"w\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[16,20]},"
        + "\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
        + "\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[20,22]}}";
    byte[] data = littleEndian(42L, 1.5f, -2f, (short) 0x3f80, (short) 0xc040, (short) 0x3c00);
    Path file = dir.resolve("py.safetensors");
    Files.write(file, handBuilt(header, data));
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(Map.of("format", "pt", "source", "hand"), r.metadata());
      assertEquals(List.of("b", "ids", "s", "w"), List.copyOf(r.tensors().keySet()));
      assertEquals(new TensorInfo("w", Dtype.BF16, List.of(2L, 1L), 16, 20), r.info("w"));
      assertArrayEquals(new float[] {1.5f, -2f}, r.readFloats("b"));
      assertArrayEquals(new float[] {1f, -3f}, r.readFloats("w"));
      assertArrayEquals(new float[] {1f}, r.readFloats("s"));
      assertEquals(List.of(), r.info("s").shape());
      assertEquals(42L, r.bytes("ids").getLong(0));
      var e = assertThrows(IllegalArgumentException.class, () -> r.readFloats("ids"));
      assertEquals(file + ": tensor 'ids' has dtype I64; only F32, F16 and BF16 convert to fp32",
          e.getMessage());
    }
  }

  @Test
  void read_unpaddedHeader_readsUnalignedData() throws IOException {
    // Some writers (DJL's NDList encoder among them) do not pad the header.
    byte[] json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        .getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + json.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(json.length).put(json).putFloat(0.25f).putFloat(-7f);
    Path file = dir.resolve("odd.safetensors");
    Files.write(file, b.array());
    assertTrue((8 + json.length) % 4 != 0, "data must start unaligned for this test");
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertEquals(Map.of(), r.metadata());
      assertArrayEquals(new float[] {0.25f, -7f}, r.readFloats("x"));
    }
  }

  @Test
  void read_fileOver2GiB_mapsTensorsPastTheLimitAndRefusesHugeOnes() throws IOException {
    long big = (1L << 31) + 16; // a U8 tensor larger than one buffer can address
    String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0,"
        + big + "]},\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + ","
        + (big + 8) + "]}}";
    byte[] head = handBuilt(header, new byte[0]);
    Path file = dir.resolve("big.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.write(head); // the file stays sparse: only the header and the tail occupy disk
      raf.seek(head.length + big);
      raf.write(littleEndian(3.5f, -1f));
    }
    try (SafetensorsReader r = SafetensorsReader.open(file)) {
      assertArrayEquals(new float[] {3.5f, -1f}, r.readFloats("tail"));
      var e = assertThrows(IllegalArgumentException.class, () -> r.bytes("big"));
      assertEquals(file + ": tensor 'big' holds 2147483664 bytes; tensors of 2 GiB or more cannot"
          + " be read into one buffer", e.getMessage());
    }
  }
}
