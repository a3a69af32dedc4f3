package dev.graft.teacher.store;

import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.TensorCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The bytes of one stored row (T positions of top-k + tail): the T·k ids bit-packed at
 * {@link #idBits} bits each (16 for a vocabulary of at most 65,536), then the T·k log-probs, then
 * the T log tail masses, both little-endian in the store's dtype. At k = 64 in bf16 a position
 * takes 64·2 + 64·2 + 2 = 258 bytes with 16-bit ids, 266 bytes at a 128k vocabulary (17-bit ids).
 */
final class RowCodec {

  private final int length;
  private final int k;
  private final Dtype dtype;
  private final int idBits;
  private final int idBytes;

  RowCodec(int length, int k, int vocab, Dtype dtype) {
    this.length = length;
    this.k = k;
    this.dtype = dtype.requireFloat32Convertible();
    this.idBits = idBits(vocab);
    this.idBytes = (int) (((long) length * k * idBits + 7) / 8);
  }

  /** Bits per stored id: 16 when the vocabulary fits, else just enough for {@code vocab - 1}. */
  static int idBits(int vocab) {
    return vocab <= 65_536 ? 16 : 32 - Integer.numberOfLeadingZeros(vocab - 1);
  }

  /** Bytes one row takes. */
  int rowBytes() {
    return idBytes + (length * k + length) * dtype.byteSize();
  }

  /** Bytes per position, averaged over a row. */
  double bytesPerToken() {
    return rowBytes() / (double) length;
  }

  /** Writes row {@code row} of {@code ids}/{@code logProbs}/{@code logTail} at {@code dst}'s position. */
  void encode(int[] ids, float[] logProbs, float[] logTail, int row, ByteBuffer dst) {
    ByteBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN);
    int n = length * k;
    int base = row * n;
    long acc = 0;
    int held = 0;
    for (int i = 0; i < n; i++) {
      acc |= (ids[base + i] & 0xffffffffL) << held;
      held += idBits;
      while (held >= 8) {
        out.put((byte) acc);
        acc >>>= 8;
        held -= 8;
      }
    }
    if (held > 0) {
      out.put((byte) acc);
    }
    TensorCodec.encode(FloatBuffer.wrap(logProbs, base, n), dtype, out);
    TensorCodec.encode(FloatBuffer.wrap(logTail, row * length, length), dtype, out);
  }

  /** Reads one row from {@code src} (exactly {@link #rowBytes} bytes) into row {@code row} of the arrays. */
  void decode(ByteBuffer src, int[] ids, float[] logProbs, float[] logTail, int row) {
    ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int n = length * k;
    int base = row * n;
    long mask = (1L << idBits) - 1;
    long acc = 0;
    int held = 0;
    int p = in.position();
    for (int i = 0; i < n; i++) {
      while (held < idBits) {
        acc |= (in.get(p++) & 0xffL) << held;
        held += 8;
      }
      ids[base + i] = (int) (acc & mask);
      acc >>>= idBits;
      held -= idBits;
    }
    int valuesAt = in.position() + idBytes;
    int vb = dtype.byteSize();
    TensorCodec.decode(in.duplicate().position(valuesAt).limit(valuesAt + n * vb), dtype, logProbs, base);
    int tailAt = valuesAt + n * vb;
    TensorCodec.decode(in.duplicate().position(tailAt).limit(tailAt + length * vb), dtype, logTail,
        row * length);
  }
}
