package dev.graft.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Writes one {@code .safetensors} file from fp32 tensors, storing every tensor in one {@link
 * Dtype} (F32, F16 or BF16; narrowing rounds to nearest even), plus any tensors given as raw
 * bytes of a one-byte integer type ({@link #addBytes}: I8, U8).
 *
 * <p>The file is laid out as Hugging Face's {@code safetensors} library expects: tensors sorted by
 * name, their data contiguous in that order, {@code __metadata__} holding {@code "format": "pt"}
 * plus any extra strings, and the header padded with spaces so the data starts 8-byte aligned. The
 * file is written beside the target and renamed over it, so it appears complete or not at all.
 *
 * <p>Values are read when {@link #write} runs, not when a tensor is added: arrays must stay open and
 * unchanged until then.
 */
public final class SafetensorsWriter {

  private static final int CHUNK_BYTES = 4 << 20;

  /**
   * Computes a tensor's fp32 values a chunk at a time, so that a tensor can be written without
   * ever being held whole (for generated weights).
   */
  @FunctionalInterface
  public interface ValueSource {
    /**
     * Writes the values at row-major element indices {@code [from, from + count)} into {@code
     * dst[0, count)}. Called with increasing {@code from}, each index once per write.
     */
    void fill(long from, float[] dst, int count);
  }

  /**
   * A tensor waiting to be written: {@code values} yields its fp32 data in row-major order, or,
   * when it is null, {@code source} computes it chunk by chunk, or, when {@code raw} is not null,
   * it is those bytes stored as {@code rawDtype}.
   */
  record Pending(String name, List<Long> shape, long elements, Supplier<FloatBuffer> values,
      ValueSource source, Dtype rawDtype, byte[] raw) {

    Pending(String name, List<Long> shape, long elements, Supplier<FloatBuffer> values, ValueSource source) {
      this(name, shape, elements, values, source, null, null);
    }

    /** The type this tensor is stored as in a file whose float tensors are {@code floatType}. */
    Dtype storedAs(Dtype floatType) {
      return raw != null ? rawDtype : floatType;
    }

    /** Bytes of data in a file whose float tensors are {@code floatType}. */
    long bytes(Dtype floatType) {
      return Math.multiplyExact(elements, storedAs(floatType).byteSize());
    }
  }

  private final Dtype dtype;
  private final Map<String, Pending> tensors = new TreeMap<>();
  private final Map<String, String> metadata = new TreeMap<>();

  /**
   * @throws IllegalArgumentException unless {@code dtype} is F32, F16 or BF16
   */
  public SafetensorsWriter(Dtype dtype) {
    this.dtype = Objects.requireNonNull(dtype, "dtype").requireFloat32Convertible();
  }

  public Dtype dtype() {
    return dtype;
  }

  /**
   * Adds a tensor of the given shape; {@code values} is not copied.
   *
   * @throws IllegalArgumentException if the name is taken or reserved, or the shape does not hold
   *     exactly {@code values.length} elements
   */
  public SafetensorsWriter add(String name, float[] values, long... shape) {
    List<Long> dims = Arrays.stream(shape).boxed().toList();
    if (TensorInfo.elementCount(dims) != values.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': shape " + dims + " holds " + TensorInfo.elementCount(dims)
              + " elements but " + values.length + " values were given");
    }
    return add(new Pending(name, dims, values.length, () -> FloatBuffer.wrap(values), null));
  }

  /**
   * Adds an fp32 array under {@code name}. At write time its memory is read in place; an array that
   * is not contiguous is first copied by the engine into a contiguous array on its manager.
   *
   * @throws IllegalArgumentException if the name is taken or reserved, or the array is not FLOAT32
   */
  public SafetensorsWriter add(String name, NDArray array) {
    if (array.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is " + array.getDataType()
              + "; convert it with toType(DataType.FLOAT32, false) before writing");
    }
    List<Long> dims = Arrays.stream(array.getShape().getShape()).boxed().toList();
    // A direct view of the array's memory where the engine offers one: no copy is made.
    Supplier<FloatBuffer> values =
        () -> array.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
    return add(new Pending(name, dims, array.size(), values, null));
  }

  /**
   * Adds a tensor of the given shape whose values {@code source} computes while the file is
   * written, a chunk at a time.
   *
   * @throws IllegalArgumentException if the name is taken or reserved, or a dimension is negative
   */
  public SafetensorsWriter add(String name, List<Long> shape, ValueSource source) {
    Objects.requireNonNull(source, "source");
    return add(new Pending(name, shape, TensorInfo.elementCount(shape), null, source));
  }

  /**
   * Adds a tensor of one-byte integers (I8 or U8), stored as the given bytes in row-major order;
   * {@code data} is not copied.
   *
   * @throws IllegalArgumentException for another type, a name taken or reserved, or a shape that
   *     does not hold exactly {@code data.length} elements
   */
  public SafetensorsWriter addBytes(String name, Dtype type, List<Long> shape, byte[] data) {
    if (type != Dtype.I8 && type != Dtype.U8) {
      throw new IllegalArgumentException("tensor '" + name + "': raw bytes are stored as I8 or U8, not " + type);
    }
    if (TensorInfo.elementCount(shape) != data.length) {
      throw new IllegalArgumentException("tensor '" + name + "': shape " + shape + " holds "
          + TensorInfo.elementCount(shape) + " elements but " + data.length + " bytes were given");
    }
    return add(new Pending(name, List.copyOf(shape), data.length, null, null, type, data));
  }

  /**
   * Adds a string to {@code __metadata__}.
   *
   * @throws IllegalArgumentException for the reserved key {@code format}
   */
  public SafetensorsWriter putMetadata(String key, String value) {
    if (key.equals("format")) {
      throw new IllegalArgumentException("__metadata__ key 'format' is reserved (always \"pt\")");
    }
    metadata.put(key, Objects.requireNonNull(value, "value"));
    return this;
  }

  /** Bytes the tensors will occupy in the data section. */
  public long dataBytes() {
    return tensors.values().stream().mapToLong(p -> p.bytes(dtype)).sum();
  }

  /** Writes the file, replacing any file at {@code file}. */
  public void write(Path file) throws IOException {
    List<TensorInfo> infos = new ArrayList<>();
    long offset = 0;
    for (Pending p : tensors.values()) {
      long size = p.bytes(dtype);
      infos.add(new TensorInfo(p.name(), p.storedAs(dtype), p.shape(), offset, offset + size));
      offset += size;
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.putAll(metadata);
    byte[] header = new SafetensorsHeader(meta, infos).encode();
    AtomicFiles.write(file, channel -> writeContent(channel, header));
  }

  /** The tensors added so far, in name order. */
  List<Pending> pending() {
    return List.copyOf(tensors.values());
  }

  SafetensorsWriter add(Pending p) {
    String name = p.name();
    if (name == null || name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
      throw new IllegalArgumentException("tensor name '" + name + "' is empty or reserved");
    }
    if (tensors.containsKey(name)) {
      throw new IllegalArgumentException("tensor '" + name + "' was already added");
    }
    tensors.put(name, p);
    return this;
  }

  private void writeContent(FileChannel channel, byte[] header) throws IOException {
    ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    AtomicFiles.writeFully(channel, length.putLong(header.length).flip());
    AtomicFiles.writeFully(channel, ByteBuffer.wrap(header));
    ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    int chunkElements = CHUNK_BYTES / dtype.byteSize();
    for (Pending p : tensors.values()) {
      if (p.raw() != null) {
        AtomicFiles.writeFully(channel, ByteBuffer.wrap(p.raw()));
        continue;
      }
      if (p.source() != null) {
        writeGenerated(channel, p, chunk, chunkElements);
        continue;
      }
      FloatBuffer src = p.values().get();
      if (src.remaining() != p.elements()) {
        throw new IllegalStateException(
            "tensor '" + p.name() + "' yielded " + src.remaining() + " values, expected "
                + p.elements());
      }
      while (src.hasRemaining()) {
        int k = Math.min(chunkElements, src.remaining());
        FloatBuffer part = src.slice(src.position(), k);
        src.position(src.position() + k);
        chunk.clear();
        TensorCodec.encode(part, dtype, chunk);
        AtomicFiles.writeFully(channel, chunk.flip());
      }
    }
  }

  private void writeGenerated(FileChannel channel, Pending p, ByteBuffer chunk, int chunkElements)
      throws IOException {
    float[] values = new float[(int) Math.min(chunkElements, p.elements())];
    for (long from = 0; from < p.elements(); from += values.length) {
      int k = (int) Math.min(values.length, p.elements() - from);
      p.source().fill(from, values, k);
      chunk.clear();
      TensorCodec.encode(FloatBuffer.wrap(values, 0, k), dtype, chunk);
      AtomicFiles.writeFully(channel, chunk.flip());
    }
  }
}
