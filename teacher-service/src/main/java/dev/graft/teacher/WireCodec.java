package dev.graft.teacher;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.graft.checkpoint.HalfFloats;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Packs Java arrays into {@link Tensor} messages and back: little-endian, row-major, with the
 * dtype and shape spelled out. Decoding checks that the byte count matches the shape and dtype
 * and throws {@link IllegalArgumentException} naming both otherwise.
 */
public final class WireCodec {

  private WireCodec() {}

  /** Bytes per element of {@code dtype}. */
  public static int size(DType dtype) {
    return switch (dtype) {
      case DTYPE_FLOAT32, DTYPE_INT32 -> 4;
      case DTYPE_FLOAT16, DTYPE_BFLOAT16, DTYPE_UINT16 -> 2;
      case DTYPE_INT64 -> 8;
      case DTYPE_UINT8 -> 1;
      default -> throw new IllegalArgumentException("tensor dtype " + dtype + " is not supported");
    };
  }

  /** The compact id dtype for a vocabulary: UINT16 when every id fits, else INT32. */
  public static DType idType(int vocab) {
    return vocab <= 65_536 ? DType.DTYPE_UINT16 : DType.DTYPE_INT32;
  }

  /** {@code count} ids from {@code offset} as a tensor of {@code shape}, in UINT16 or INT32. */
  public static Tensor encodeIds(int[] ids, int offset, int count, DType dtype, long... shape) {
    ByteBuffer buf = allocate(count, dtype);
    for (int i = offset; i < offset + count; i++) {
      switch (dtype) {
        case DTYPE_UINT16 -> {
          if (ids[i] < 0 || ids[i] > 0xffff) {
            throw new IllegalArgumentException("id " + ids[i] + " does not fit in UINT16; use INT32");
          }
          buf.putShort((short) ids[i]);
        }
        case DTYPE_INT32 -> buf.putInt(ids[i]);
        case DTYPE_INT64 -> buf.putLong(ids[i]);
        default -> throw new IllegalArgumentException("ids must be UINT16, INT32 or INT64, not " + dtype);
      }
    }
    return tensor(dtype, buf, shape);
  }

  /** A (rows, T) id matrix as one tensor: UINT16 if every id fits, else INT32. */
  public static Tensor encodeIdMatrix(int[][] rows) {
    int t = rows.length == 0 ? 0 : rows[0].length;
    int[] flat = new int[rows.length * t];
    boolean small = true;
    for (int r = 0; r < rows.length; r++) {
      if (rows[r].length != t) {
        throw new IllegalArgumentException("row " + r + " has " + rows[r].length
            + " tokens but row 0 has " + t + "; all rows must have the same length");
      }
      for (int i = 0; i < t; i++) {
        flat[r * t + i] = rows[r][i];
        small &= rows[r][i] >= 0 && rows[r][i] <= 0xffff;
      }
    }
    DType dtype = small ? DType.DTYPE_UINT16 : DType.DTYPE_INT32;
    return encodeIds(flat, 0, flat.length, dtype, rows.length, t);
  }

  /** The ids of a UINT16, INT32 or INT64 tensor, flat. */
  public static int[] decodeIds(Tensor tensor, String what) {
    int n = checkedCount(tensor, what);
    ByteBuffer buf = tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = switch (tensor.getDtype()) {
        case DTYPE_UINT16 -> buf.getShort() & 0xffff;
        case DTYPE_INT32 -> buf.getInt();
        case DTYPE_INT64 -> {
          long v = buf.getLong();
          // Out-of-range values map to -1 so the vocabulary check reports them.
          yield v < Integer.MIN_VALUE || v > Integer.MAX_VALUE ? -1 : (int) v;
        }
        default -> throw new IllegalArgumentException(
            what + " must be DTYPE_UINT16, DTYPE_INT32 or DTYPE_INT64, got " + tensor.getDtype());
      };
    }
    return out;
  }

  /** A 2-D id tensor (B, T) with B, T &ge; 1 as B rows. */
  public static int[][] decodeIdMatrix(Tensor tensor, String what) {
    if (tensor.getShapeCount() != 2 || tensor.getShape(0) < 1 || tensor.getShape(1) < 1) {
      throw new IllegalArgumentException(what + " must have shape (batch, time) with both >= 1, got "
          + tensor.getShapeList());
    }
    int[] flat = decodeIds(tensor, what);
    int b = (int) tensor.getShape(0);
    int t = (int) tensor.getShape(1);
    int[][] rows = new int[b][];
    for (int r = 0; r < b; r++) {
      rows[r] = java.util.Arrays.copyOfRange(flat, r * t, (r + 1) * t);
    }
    return rows;
  }

  /** {@code count} floats from {@code offset} as FLOAT32, FLOAT16 or BFLOAT16 (round to even). */
  public static Tensor encodeValues(float[] values, int offset, int count, DType dtype,
      long... shape) {
    ByteBuffer buf = allocate(count, dtype);
    if (dtype == DType.DTYPE_FLOAT32) {
      buf.asFloatBuffer().put(values, offset, count);
      return tensor(dtype, buf, shape);
    }
    for (int i = offset; i < offset + count; i++) {
      switch (dtype) {
        case DTYPE_FLOAT16 -> buf.putShort(HalfFloats.floatToHalf(values[i]));
        case DTYPE_BFLOAT16 -> buf.putShort(HalfFloats.floatToBf16(values[i]));
        default -> throw new IllegalArgumentException(
            "values must be FLOAT32, FLOAT16 or BFLOAT16, not " + dtype);
      }
    }
    return tensor(dtype, buf, shape);
  }

  /** The values of a FLOAT32, FLOAT16 or BFLOAT16 tensor, widened exactly to float. */
  public static float[] decodeValues(Tensor tensor, String what) {
    int n = checkedCount(tensor, what);
    ByteBuffer buf = tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[n];
    switch (tensor.getDtype()) {
      case DTYPE_FLOAT32 -> buf.asFloatBuffer().get(out);
      case DTYPE_FLOAT16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.halfToFloat(buf.getShort());
        }
      }
      case DTYPE_BFLOAT16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.bf16ToFloat(buf.getShort());
        }
      }
      default -> throw new IllegalArgumentException(
          what + " must be DTYPE_FLOAT32, DTYPE_FLOAT16 or DTYPE_BFLOAT16, got " + tensor.getDtype());
    }
    return out;
  }

  /** Element count from the shape, after checking it against the data length. */
  private static int checkedCount(Tensor tensor, String what) {
    long n = 1;
    for (long d : tensor.getShapeList()) {
      if (d < 0 || (d > 0 && n > Integer.MAX_VALUE / d)) {
        throw new IllegalArgumentException(what + " has an invalid shape " + tensor.getShapeList());
      }
      n *= d;
    }
    long expected = n * size(tensor.getDtype());
    if (tensor.getData().size() != expected) {
      throw new IllegalArgumentException(what + " of shape " + tensor.getShapeList() + " and dtype "
          + tensor.getDtype() + " needs " + expected + " bytes of data, got " + tensor.getData().size());
    }
    return (int) n;
  }

  private static ByteBuffer allocate(int count, DType dtype) {
    return ByteBuffer.allocate(count * size(dtype)).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static Tensor tensor(DType dtype, ByteBuffer buf, long... shape) {
    ByteString data = UnsafeByteOperations.unsafeWrap(buf.array());
    Tensor.Builder b = Tensor.newBuilder().setDtype(dtype).setData(data);
    for (long d : shape) {
      b.addShape(d);
    }
    return b.build();
  }
}
