package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads one {@code .safetensors} file through memory maps. Opening reads and fully validates the
 * header (see {@link SafetensorsHeader}); tensor bytes are only touched when asked for.
 *
 * <p>{@link #readNDArray} (the loading path) reads the stored bytes through one reused block of
 * {@value #BLOCK_BYTES} bytes and widens each block straight into the array's own native memory:
 * the only full-size copy of a tensor is the fp32 array, and nothing of the file stays resident in
 * the process (memory-mapped pages that were read count as resident until they are unmapped,
 * which Java leaves to the garbage collector). {@link #bytes} hands out memory-mapped views for
 * raw access: a data section under 2 GiB is mapped once, a larger one tensor by tensor. A single
 * tensor of 2 GiB or more is refused with a message, since a Java buffer cannot address it.
 *
 * <p>Closing releases the file handle and drops the reader's maps. Views handed out earlier stay
 * valid (the JVM unmaps them once they become unreachable), so closing never invalidates memory in
 * use. Not thread-safe.
 */
public final class SafetensorsReader implements Closeable {

  /** Bytes read from the file per step of {@link #readNDArray}; a multiple of every element size. */
  static final int BLOCK_BYTES = 1 << 20;

  private final Path file;
  private final FileChannel channel;
  private final long dataStart;
  private final long dataLength;
  private final Map<String, String> metadata;
  private final Map<String, TensorInfo> tensors;
  private ByteBuffer wholeData; // lazily mapped when the data section fits one buffer
  private ByteBuffer block; // lazily allocated, reused by every readNDArray
  private boolean closed;

  private SafetensorsReader(
      Path file, FileChannel channel, long dataStart, long dataLength, SafetensorsHeader header) {
    this.file = file;
    this.channel = channel;
    this.dataStart = dataStart;
    this.dataLength = dataLength;
    this.metadata = header.metadata();
    Map<String, TensorInfo> byName = new TreeMap<>();
    header.tensors().forEach(t -> byName.put(t.name(), t));
    this.tensors = Collections.unmodifiableMap(byName);
  }

  /**
   * Opens and validates {@code file}.
   *
   * @throws IllegalArgumentException if the file is not a well-formed safetensors file; the message
   *     names the file and, where one is at fault, the tensor
   * @throws IOException if the file cannot be read
   */
  public static SafetensorsReader open(Path file) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      long size = channel.size();
      if (size < 8) {
        throw new IllegalArgumentException(
            file + ": file is " + size + " bytes, too short to hold a safetensors header");
      }
      long headerLength = readHeaderLength(channel);
      if (headerLength < 0 || headerLength > size - 8) {
        throw new IllegalArgumentException(
            file + ": header length " + Long.toUnsignedString(headerLength) + " exceeds the "
                + (size - 8) + " bytes that follow it: the file is truncated or not safetensors");
      }
      if (headerLength > SafetensorsHeader.MAX_HEADER_BYTES || headerLength < 2) {
        throw new IllegalArgumentException(
            file + ": header length " + headerLength + " is outside [2, "
                + SafetensorsHeader.MAX_HEADER_BYTES + "]: not a safetensors file");
      }
      byte[] json = new byte[(int) headerLength];
      readFully(channel, ByteBuffer.wrap(json), 8, file);
      long dataStart = 8 + headerLength;
      SafetensorsHeader header = SafetensorsHeader.parse(json, size - dataStart, file.toString());
      return new SafetensorsReader(file, channel, dataStart, size - dataStart, header);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  public Path file() {
    return file;
  }

  /** The {@code __metadata__} strings, empty if the file has none. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Every tensor, by name, in name order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** Shapes of every tensor, by name, in name order. */
  public Map<String, List<Long>> shapes() {
    Map<String, List<Long>> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> out.put(name, t.shape()));
    return out;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * The tensor's entry.
   *
   * @throws IllegalArgumentException naming the file and the tensor when there is no such tensor
   */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(file + ": no tensor '" + name + "'");
    }
    return t;
  }

  /**
   * A read-only little-endian view of the tensor's stored bytes, positioned at 0.
   *
   * @throws IllegalArgumentException if the tensor spans 2 GiB or more
   * @throws IllegalStateException once the reader is closed
   */
  public ByteBuffer bytes(String name) throws IOException {
    checkOpen();
    TensorInfo t = info(name);
    long length = t.end() - t.begin();
    if (length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          file + ": tensor '" + name + "' holds " + length
              + " bytes; tensors of 2 GiB or more cannot be read into one buffer");
    }
    ByteBuffer view;
    if (dataLength <= Integer.MAX_VALUE) {
      ByteBuffer data = wholeData();
      view = data.slice((int) t.begin(), (int) length);
    } else {
      view = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), length);
    }
    return view.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The tensor's values widened to fp32.
   *
   * @throws IllegalArgumentException if the dtype is not F32, F16 or BF16, or the tensor is too
   *     large for one array
   */
  public float[] readFloats(String name) throws IOException {
    TensorInfo t = requireFloat(name);
    return TensorCodec.decodeToArray(bytes(t.name()), t.dtype());
  }

  /**
   * The tensor as a new fp32 array owned by {@code manager}. The stored bytes are read in blocks of
   * {@value #BLOCK_BYTES} bytes and converted straight into the array's own native memory; the
   * array never aliases the file, and no other full-size copy of the tensor is made.
   *
   * @throws IllegalArgumentException if the dtype is not F32, F16 or BF16, or the fp32 copy would
   *     span 2 GiB or more
   * @throws IOException if the file cannot be read or ends before the tensor does
   */
  public NDArray readNDArray(String name, NDManager manager) throws IOException {
    checkOpen();
    TensorInfo t = requireFloat(name);
    long fp32Bytes = t.elementCount() * 4;
    if (fp32Bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          file + ": tensor '" + name + "' needs " + fp32Bytes
              + " bytes as fp32; tensors of 2 GiB or more cannot be loaded into one buffer");
    }
    NDArray array = manager.create(new Shape(t.shapeArray()), DataType.FLOAT32);
    try {
      if (fp32Bytes > 0) {
        fill(array, t, (int) fp32Bytes, manager);
      }
    } catch (IOException | RuntimeException e) {
      array.close();
      throw e;
    }
    array.setName(name);
    return array;
  }

  private void fill(NDArray array, TensorInfo t, int fp32Bytes, NDManager manager)
      throws IOException {
    // The PyTorch engine hands out a writable direct view of a contiguous tensor's memory, so the
    // values land in the array itself; other engines get theirs through a staging copy and set().
    ByteBuffer view = array.toByteBuffer(true);
    if (view.isDirect() && !view.isReadOnly() && view.capacity() == fp32Bytes) {
      readWidened(t, view);
      return;
    }
    ByteBuffer staging = manager.allocateDirect(fp32Bytes).order(ByteOrder.nativeOrder());
    readWidened(t, staging);
    array.set(staging.rewind());
  }

  /** Reads the tensor's stored bytes block by block, widening each into {@code dst}. */
  private void readWidened(TensorInfo t, ByteBuffer dst) throws IOException {
    if (block == null) {
      block = ByteBuffer.allocateDirect(BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    }
    long at = dataStart + t.begin();
    long end = dataStart + t.end();
    while (at < end) {
      block.clear().limit((int) Math.min(BLOCK_BYTES, end - at));
      readFully(channel, block, at, file);
      at += block.limit();
      TensorCodec.decode(block.flip(), t.dtype(), dst);
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    wholeData = null;
    block = null;
    channel.close();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException(file + ": reader is closed");
    }
  }

  private TensorInfo requireFloat(String name) {
    TensorInfo t = info(name);
    if (!t.dtype().isFloat32Convertible()) {
      throw new IllegalArgumentException(
          file + ": tensor '" + name + "' has dtype " + t.dtype()
              + "; only F32, F16 and BF16 convert to fp32");
    }
    return t;
  }

  private ByteBuffer wholeData() throws IOException {
    if (wholeData == null) {
      wholeData = channel.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLength);
    }
    return wholeData;
  }

  private static long readHeaderLength(FileChannel channel) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, b, 0, null);
    return b.flip().getLong();
  }

  private static void readFully(FileChannel channel, ByteBuffer dst, long position, Path file)
      throws IOException {
    long at = position;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, at);
      if (n < 0) {
        throw new EOFException((file == null ? "" : file + ": ") + "unexpected end of file at byte " + at);
      }
      at += n;
    }
  }
}
