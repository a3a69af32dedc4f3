package dev.graft.teacher.store;

import dev.graft.teacher.Scores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A teacher's top-k + tail targets for training sequences, scored once by {@code graft score}
 * ({@link TargetStoreWriter}) and read by any number of runs instead of asking a teacher.
 *
 * <p>A store is a directory: {@code manifest.json} ({@link StoreKey}, the training-sequence index
 * of every stored row, the chunk files with their CRC32C) and {@code chunk-NNNNN.bin} files of
 * fixed-size rows ({@link RowCodec}), memory-mapped when opened. Each chunk's checksum is verified
 * the first time a row of it is read; a corrupt chunk is an error naming the file. Thread-safe.
 */
public final class TargetStore {

  private final Path dir;
  private final StoreManifest manifest;
  private final RowCodec codec;
  private final MappedByteBuffer[] chunks;
  private final boolean[] verified;
  private final int[] rowOf; // training sequence -> stored row, -1 when not stored

  private TargetStore(Path dir, StoreManifest manifest, MappedByteBuffer[] chunks) {
    this.dir = dir;
    this.manifest = manifest;
    StoreKey key = manifest.key();
    this.codec = new RowCodec(key.seqLen(), key.k(), key.vocabSize(), key.dtype());
    this.chunks = chunks;
    this.verified = new boolean[chunks.length];
    this.rowOf = new int[key.sequences()];
    Arrays.fill(rowOf, -1);
    int[] seqs = manifest.sequences();
    for (int r = 0; r < seqs.length; r++) {
      if (seqs[r] < 0 || seqs[r] >= rowOf.length || rowOf[seqs[r]] != -1) {
        throw new IllegalArgumentException("target store manifest " + dir.resolve(StoreManifest.FILE)
            + " lists sequence " + seqs[r] + " outside [0, " + rowOf.length + ") or twice");
      }
      rowOf[seqs[r]] = r;
    }
  }

  /**
   * Opens the store in {@code dir}: reads the manifest and maps every chunk.
   *
   * @throws IllegalArgumentException when {@code dir} holds no finished store, or a chunk file is
   *     missing or of the wrong size (naming it)
   */
  public static TargetStore open(Path dir) throws IOException {
    Path file = dir.resolve(StoreManifest.FILE);
    if (!Files.isRegularFile(file)) {
      Path partial = dir.resolveSibling(dir.getFileName() + ".partial");
      if (dir.getFileName().toString().endsWith(".partial") || Files.isDirectory(partial)) {
        throw new IllegalArgumentException("target store " + dir + " is unfinished (its write stopped"
            + " before the end); run `graft score` again with the same settings to finish it");
      }
      throw new IllegalArgumentException("no target store at " + dir + " (no " + StoreManifest.FILE
          + "); write one with `graft score`");
    }
    StoreManifest m = StoreManifest.read(file);
    RowCodec codec = new RowCodec(m.key().seqLen(), m.key().k(), m.key().vocabSize(), m.key().dtype());
    if (m.rowBytes() != codec.rowBytes()) {
      throw new IllegalArgumentException("target store " + file + " says " + m.rowBytes()
          + " bytes per row but its key gives " + codec.rowBytes());
    }
    int rows = m.chunks().stream().mapToInt(StoreManifest.Chunk::rows).sum();
    if (rows != m.sequences().length) {
      throw new IllegalArgumentException("target store " + file + " lists " + m.sequences().length
          + " sequences but its chunks hold " + rows + " rows");
    }
    MappedByteBuffer[] maps = new MappedByteBuffer[m.chunks().size()];
    for (int c = 0; c < maps.length; c++) {
      StoreManifest.Chunk chunk = m.chunks().get(c);
      Path f = dir.resolve(chunk.file());
      long want = (long) chunk.rows() * m.rowBytes();
      if (!Files.isRegularFile(f) || Files.size(f) != want) {
        throw new IllegalArgumentException("target store chunk " + f + (Files.isRegularFile(f)
            ? " holds " + Files.size(f) + " bytes, expected " + want : " is missing") + "; score the store again");
      }
      if (c < maps.length - 1 && chunk.rows() != m.rowsPerChunk()) {
        throw new IllegalArgumentException("target store chunk " + f + " holds " + chunk.rows()
            + " rows, expected " + m.rowsPerChunk());
      }
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        maps[c] = ch.map(FileChannel.MapMode.READ_ONLY, 0, want);
      }
    }
    return new TargetStore(dir, m, maps);
  }

  public Path dir() {
    return dir;
  }

  public StoreKey key() {
    return manifest.key();
  }

  /** How many training sequences the store holds. */
  public int storedSequences() {
    return manifest.sequences().length;
  }

  /** Whether the store holds exactly training sequences {@code sequences}, in this order. */
  public boolean holdsExactly(int[] sequences) {
    return Arrays.equals(manifest.sequences(), sequences);
  }

  /** Bytes per stored token. */
  public double bytesPerToken() {
    return codec.bytesPerToken();
  }

  /**
   * Refuses a store that does not answer what a run needs.
   *
   * @throws IllegalArgumentException naming every differing field
   */
  public void requireKey(StoreKey run) {
    List<String> diff = key().differences(run);
    if (!diff.isEmpty()) {
      throw new IllegalArgumentException("target store " + dir + " does not fit this run: "
          + String.join("; ", diff));
    }
  }

  /**
   * The stored targets of training sequences {@code sequences}, as the teacher would have answered
   * a top-k request for those rows.
   *
   * @throws IllegalArgumentException for a sequence the store does not hold
   * @throws IllegalStateException for a chunk whose bytes do not match its checksum (naming the file)
   */
  public Scores.TopK rows(int[] sequences) {
    int t = key().seqLen();
    int k = key().k();
    int b = sequences.length;
    int[] ids = new int[b * t * k];
    float[] logProbs = new float[b * t * k];
    float[] logTail = new float[b * t];
    for (int i = 0; i < b; i++) {
      int s = sequences[i];
      int row = s < 0 || s >= rowOf.length ? -1 : rowOf[s];
      if (row < 0) {
        throw new IllegalArgumentException("target store " + dir + " does not hold training sequence " + s
            + " (it holds " + storedSequences() + " of " + rowOf.length + "); score it with more sequences");
      }
      int c = row / manifest.rowsPerChunk();
      verify(c);
      int at = (row % manifest.rowsPerChunk()) * codec.rowBytes();
      codec.decode(chunks[c].duplicate().position(at).limit(at + codec.rowBytes()), ids, logProbs, logTail, i);
    }
    return new Scores.TopK(b, t, k, ids, logProbs, logTail);
  }

  private void verify(int c) {
    synchronized (verified) {
      if (verified[c]) {
        return;
      }
    }
    StoreManifest.Chunk chunk = manifest.chunks().get(c);
    CRC32C crc = new CRC32C();
    crc.update(chunks[c].duplicate().position(0));
    String got = Long.toHexString(crc.getValue());
    if (!got.equals(chunk.crc32c())) {
      throw new IllegalStateException("target store chunk " + dir.resolve(chunk.file()) + " is corrupt: CRC32C "
          + got + ", the manifest says " + chunk.crc32c() + "; score the store again");
    }
    synchronized (verified) {
      verified[c] = true;
    }
  }

  /** CRC32C of a file, as unsigned hex. */
  static String crc32c(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      CRC32C crc = new CRC32C();
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      while (ch.read(buf) > 0) {
        crc.update(buf.flip());
        buf.clear();
      }
      return Long.toHexString(crc.getValue());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
