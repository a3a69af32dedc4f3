package dev.graft.teacher.store;

import dev.graft.data.TokenBatch;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherScorer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Scores training sequences with a teacher and writes their top-k + tail targets as a target store
 * ({@link TargetStore}). The store is built in {@code DIR.partial/} and renamed to {@code DIR} only
 * when every chunk and the manifest are on disk, so a half-written store is never read as whole.
 * An interrupted write resumes: {@code DIR.partial/manifest.json} lists the finished chunks, and a
 * later write of the same key and sequences keeps those whose checksum still holds.
 */
public final class TargetStoreWriter {

  /** Told after every chunk. */
  public interface Progress {
    void onRows(long done, long total);
  }

  private final StoreKey key;
  private final int[] sequences;
  private final IntFunction<int[]> inputs;
  private final int rowsPerRequest;
  private final int rowsPerChunk;
  private final RowCodec codec;

  /**
   * @param key what the store answers
   * @param sequences the training-sequence indices to store, in store order; distinct, each in
   *     [0, key.sequences())
   * @param inputs the T input tokens of a training sequence, by index
   * @param rowsPerRequest rows per teacher request, &ge; 1
   * @param rowsPerChunk rows per chunk file, &ge; 1 (a chunk must stay under 2 GiB)
   */
  public TargetStoreWriter(StoreKey key, int[] sequences, IntFunction<int[]> inputs, int rowsPerRequest,
      int rowsPerChunk) {
    this.codec = new RowCodec(key.seqLen(), key.k(), key.vocabSize(), key.dtype());
    if (rowsPerRequest < 1 || rowsPerChunk < 1) {
      throw new IllegalArgumentException("rows per request (" + rowsPerRequest + ") and rows per chunk ("
          + rowsPerChunk + ") must be >= 1");
    }
    if ((long) rowsPerChunk * codec.rowBytes() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a chunk of " + rowsPerChunk + " rows of " + codec.rowBytes()
          + " bytes exceeds 2 GiB; use fewer rows per chunk");
    }
    boolean[] seen = new boolean[key.sequences()];
    for (int s : sequences) {
      if (s < 0 || s >= key.sequences() || seen[s]) {
        throw new IllegalArgumentException("stored sequence " + s + " is outside [0, " + key.sequences()
            + ") or repeated");
      }
      seen[s] = true;
    }
    this.key = key;
    this.sequences = sequences.clone();
    this.inputs = inputs;
    this.rowsPerRequest = rowsPerRequest;
    this.rowsPerChunk = rowsPerChunk;
  }

  /** Bytes one stored sequence takes under {@code key}. */
  public static int rowBytes(StoreKey key) {
    return new RowCodec(key.seqLen(), key.k(), key.vocabSize(), key.dtype()).rowBytes();
  }

  /** Bytes per stored token. */
  public double bytesPerToken() {
    return codec.bytesPerToken();
  }

  /**
   * Writes the store to {@code dir}, resuming an unfinished one; does nothing if {@code dir}
   * already holds this store.
   *
   * @return true if it scored anything, false if the store was already complete
   * @throws IllegalArgumentException if {@code dir} holds a store of another key or sequences
   */
  public boolean write(Path dir, TeacherScorer teacher, Progress progress) throws IOException {
    if (Files.isRegularFile(dir.resolve(StoreManifest.FILE))) {
      StoreManifest done = StoreManifest.read(dir.resolve(StoreManifest.FILE));
      List<String> diff = done.key().differences(key);
      if (diff.isEmpty() && Arrays.equals(done.sequences(), sequences)) {
        return false;
      }
      throw new IllegalArgumentException("target store " + dir + " already holds other targets ("
          + (diff.isEmpty() ? "other sequences" : String.join("; ", diff)) + "); write to another directory"
          + " or delete it");
    } else if (Files.exists(dir) && !isEmptyDirectory(dir)) {
      throw new IllegalArgumentException(dir + " exists and is not a target store; write to another directory");
    }
    Files.deleteIfExists(dir); // an empty directory: the finished store is renamed into its place
    Path partial = dir.resolveSibling(dir.getFileName() + ".partial");
    List<StoreManifest.Chunk> chunks = resumable(partial);
    Files.createDirectories(partial);
    int total = sequences.length;
    progress.onRows(Math.min(total, (long) chunks.size() * rowsPerChunk), total);
    for (int c = chunks.size(); (long) c * rowsPerChunk < total; c++) {
      int from = c * rowsPerChunk;
      int to = Math.min(total, from + rowsPerChunk);
      chunks.add(writeChunk(partial, c, from, to, teacher));
      manifest(chunks).write(partial.resolve(StoreManifest.FILE + ".progress"));
      progress.onRows(to, total);
    }
    manifest(chunks).write(partial.resolve(StoreManifest.FILE));
    Files.deleteIfExists(partial.resolve(StoreManifest.FILE + ".progress"));
    Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
    return true;
  }

  private static boolean isEmptyDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.findAny().isEmpty();
    }
  }

  private StoreManifest manifest(List<StoreManifest.Chunk> chunks) {
    return new StoreManifest(StoreManifest.FORMAT, key, rowsPerChunk, codec.rowBytes(), sequences, List.copyOf(chunks));
  }

  /** The finished chunks of an earlier write of this store, checksums verified; clears anything else. */
  private List<StoreManifest.Chunk> resumable(Path partial) throws IOException {
    List<StoreManifest.Chunk> kept = new ArrayList<>();
    Path progress = partial.resolve(StoreManifest.FILE + ".progress");
    if (Files.isRegularFile(progress)) {
      StoreManifest m = StoreManifest.read(progress);
      if (m.key().differences(key).isEmpty() && Arrays.equals(m.sequences(), sequences)
          && m.rowsPerChunk() == rowsPerChunk && m.rowBytes() == codec.rowBytes()) {
        for (StoreManifest.Chunk c : m.chunks()) {
          Path f = partial.resolve(c.file());
          if (!Files.isRegularFile(f) || !TargetStore.crc32c(f).equals(c.crc32c())) {
            break;
          }
          kept.add(c);
        }
      }
    }
    if (Files.isDirectory(partial)) {
      List<String> keep = kept.stream().map(StoreManifest.Chunk::file).toList();
      try (Stream<Path> files = Files.list(partial)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          if (!keep.contains(f.getFileName().toString())) {
            Files.delete(f);
          }
        }
      }
    }
    return kept;
  }

  private StoreManifest.Chunk writeChunk(Path partial, int c, int from, int to, TeacherScorer teacher)
      throws IOException {
    String name = String.format(Locale.ROOT, "chunk-%05d.bin", c);
    Path tmp = partial.resolve(name + ".tmp");
    CRC32C crc = new CRC32C();
    int t = key.seqLen();
    ScoreRequest.TopK request = new ScoreRequest.TopK(key.k(), key.temperature());
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE)) {
      for (int r = from; r < to; r += rowsPerRequest) {
        int b = Math.min(rowsPerRequest, to - r);
        int[] ids = new int[b * t];
        for (int i = 0; i < b; i++) {
          int[] row = inputs.apply(sequences[r + i]);
          if (row.length != t) {
            throw new IllegalArgumentException("sequence " + sequences[r + i] + " has " + row.length
                + " input tokens, the store's seq_len is " + t);
          }
          System.arraycopy(row, 0, ids, i * t, t);
        }
        Scores.TopK s = check(teacher.score(new TokenBatch(b, t, ids), request), b);
        ByteBuffer buf = ByteBuffer.allocate(b * codec.rowBytes());
        for (int i = 0; i < b; i++) {
          codec.encode(s.ids(), s.logProbs(), s.logTail(), i, buf);
        }
        buf.flip();
        crc.update(buf.duplicate());
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
      ch.force(true);
    }
    Files.move(tmp, partial.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    return new StoreManifest.Chunk(name, to - from, Long.toHexString(crc.getValue()));
  }

  private Scores.TopK check(Scores scores, int rows) {
    if (!(scores instanceof Scores.TopK s) || s.batch() != rows || s.length() != key.seqLen() || s.k() != key.k()) {
      throw new IllegalStateException("the teacher answered a top-" + key.k() + " request for (" + rows + ", "
          + key.seqLen() + ") with " + scores);
    }
    for (int id : s.ids()) {
      if (id < 0 || id >= key.vocabSize()) {
        throw new IllegalStateException("the teacher answered top-k id " + id + ", outside its vocabulary [0, "
            + key.vocabSize() + ")");
      }
    }
    return s;
  }
}
