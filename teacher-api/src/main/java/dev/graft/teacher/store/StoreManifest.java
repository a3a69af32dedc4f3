package dev.graft.teacher.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * {@code manifest.json} of a target store: the key, which training sequence each stored row is,
 * and the chunk files with their CRC32C. A store directory is whole exactly when it has this file.
 *
 * @param format the layout version, {@value #FORMAT}
 * @param key what the store answers
 * @param rowsPerChunk rows in every chunk but the last
 * @param rowBytes bytes per stored row ({@link RowCodec})
 * @param sequences the training-sequence index of each stored row, in store order
 * @param chunks the chunk files, in order
 */
record StoreManifest(int format, StoreKey key, int rowsPerChunk, int rowBytes, int[] sequences,
    List<Chunk> chunks) {

  static final int FORMAT = 1;
  static final String FILE = "manifest.json";

  /**
   * One chunk file.
   *
   * @param file the file name inside the store directory
   * @param rows rows it holds
   * @param crc32c CRC32C of its bytes, as unsigned hex
   */
  record Chunk(String file, int rows, String crc32c) {}

  static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  static StoreManifest read(Path file) throws IOException {
    StoreManifest m;
    try {
      m = JSON.readValue(file.toFile(), StoreManifest.class);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the target store manifest " + file + ": " + e.getMessage(), e);
    }
    if (m.format() != FORMAT || m.key() == null || m.sequences() == null || m.chunks() == null) {
      throw new IllegalArgumentException("target store manifest " + file + " has format " + m.format()
          + " or misses fields; this Graft reads format " + FORMAT);
    }
    return m;
  }

  /** Writes to a temporary file and renames it, so a reader never sees half a manifest. */
  void write(Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, JSON.writeValueAsBytes(this));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
