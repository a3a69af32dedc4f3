package dev.graft.checkpoint;

import static dev.graft.checkpoint.SafetensorsFilesTest.handBuilt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed files are refused with a message naming the file and the tensor at fault. */
class SafetensorsValidationTest {

  @TempDir Path dir;

  private Path file(byte[] bytes) throws IOException {
    Path f = dir.resolve("bad.safetensors");
    Files.write(f, bytes);
    return f;
  }

  private String openFails(Path f) {
    return assertThrows(IllegalArgumentException.class, () -> SafetensorsReader.open(f).close())
        .getMessage();
  }

  private String openFails(String header, int dataBytes) throws IOException {
    return openFails(file(handBuilt(header, new byte[dataBytes])));
  }

  private static String f32(String name, int elements, long begin, long end) {
    return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":["
        + begin + "," + end + "]}";
  }

  @Test
  void open_truncatedFile_namesFileAndTensor() throws IOException {
    Path f = dir.resolve("cut.safetensors");
    new SafetensorsWriter(Dtype.F32).add("a", new float[4], 4).add("b", new float[4], 4).write(f);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 3);
    }
    assertEquals(
        f + ": tensor 'b' data_offsets [16, 32] run past the end of the data section (29 bytes):"
            + " the file is truncated or the offsets are wrong",
        openFails(f));
  }

  @Test
  void open_headerLengthBeyondFile_isRefused() throws IOException {
    byte[] bytes = new byte[40];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
    Path f = file(bytes);
    assertEquals(
        f + ": header length 1000 exceeds the 32 bytes that follow it: the file is truncated or"
            + " not safetensors",
        openFails(f));
  }

  @Test
  void open_headerLengthWithTopBitSet_isRefused() throws IOException {
    byte[] bytes = new byte[16];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(-8);
    assertTrue(openFails(file(bytes)).contains("header length 18446744073709551608 exceeds"));
  }

  @Test
  void open_fileShorterThanLengthPrefix_isRefused() throws IOException {
    Path f = file(new byte[5]);
    assertEquals(f + ": file is 5 bytes, too short to hold a safetensors header", openFails(f));
  }

  @Test
  void open_offsetsBeyondData_namesTensor() throws IOException {
    String msg = openFails("{" + f32("a", 2, 0, 8) + "," + f32("far", 2, 8, 16) + "}", 8);
    assertTrue(msg.endsWith("tensor 'far' data_offsets [8, 16] run past the end of the data"
        + " section (8 bytes): the file is truncated or the offsets are wrong"), msg);
    assertTrue(msg.startsWith(dir.resolve("bad.safetensors").toString()), msg);
  }

  @Test
  void open_overlappingOffsets_namesBothTensors() throws IOException {
    String msg = openFails("{" + f32("a", 2, 0, 8) + "," + f32("b", 2, 4, 12) + "}", 12);
    assertTrue(msg.endsWith("tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]"), msg);
  }

  @Test
  void open_sizeNotMatchingShapeAndDtype_namesTensor() throws IOException {
    String msg = openFails("{" + f32("w", 3, 0, 8) + "}", 8);
    assertTrue(msg.endsWith("tensor 'w': dtype F32 and shape [3] need 12 bytes but data_offsets"
        + " [0, 8] span 8"), msg);
  }

  @Test
  void open_offsetsEndingBeforeBegin_namesTensor() throws IOException {
    String msg = openFails("{" + f32("w", 0, 8, 0) + "}", 8);
    assertTrue(msg.endsWith("tensor 'w': data_offsets [8, 0] end before they begin"), msg);
  }

  @Test
  void open_gapOrTrailingBytes_isRefused() throws IOException {
    assertTrue(openFails("{" + f32("a", 1, 4, 8) + "}", 8)
        .endsWith("tensor 'a' data_offsets [4, 8] leave bytes [0, 4) that belong to no tensor"));
    assertTrue(openFails("{" + f32("a", 1, 0, 4) + "}", 8)
        .endsWith(": 4 bytes after the last tensor belong to no tensor"));
  }

  @Test
  void open_badJson_isRefused() throws IOException {
    assertTrue(openFails("{\"a\": {\"dtype\": ", 0).contains("header is not valid JSON"));
    assertTrue(openFails("[1, 2]", 0).endsWith("header must be a JSON object"));
    assertTrue(openFails("{" + f32("a", 1, 0, 4) + "," + f32("a", 1, 0, 4) + "}", 4)
        .contains("header is not valid JSON: Duplicate field 'a'"));
  }

  @Test
  void open_unknownDtypeOrBadFields_namesTensor() throws IOException {
    String msg = openFails(
        "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assertTrue(msg.contains("tensor 'q': unsupported dtype 'F8_E4M3' (supported: F32, F16, BF16"),
        msg);
    msg = openFails("{\"q\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    assertTrue(msg.contains("tensor 'q': field 'shape' must hold non-negative integers"), msg);
    msg = openFails("{\"__metadata__\":{\"format\":1}}", 0);
    assertTrue(msg.endsWith("__metadata__ value for 'format' must be a string, got 1"), msg);
  }

  @Test
  void bytes_afterClose_isRefused() throws IOException {
    Path f = dir.resolve("ok.safetensors");
    new SafetensorsWriter(Dtype.F32).add("a", new float[1], 1).write(f);
    SafetensorsReader r = SafetensorsReader.open(f);
    ByteBuffer before = r.bytes("a");
    r.close();
    assertEquals(0f, before.getFloat(0), "views taken before close stay readable");
    assertThrows(IllegalStateException.class, () -> r.bytes("a"));
    var e = assertThrows(IllegalArgumentException.class, () -> r.info("nope"));
    assertEquals(f + ": no tensor 'nope'", e.getMessage());
  }
}
