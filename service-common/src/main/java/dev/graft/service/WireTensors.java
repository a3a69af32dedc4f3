package dev.graft.service;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.TensorCodec;
import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * The one codec between Java arrays and {@code graft.v1.Tensor} messages: packed little-endian
 * bytes, row-major, dtype and shape spelled out. Float values are packed by the checkpoint
 * code's {@link TensorCodec}, so the wire and the safetensors files round the same way (to
 * nearest even). Decoding checks that the byte count matches shape and dtype and throws
 * {@link IllegalArgumentException} naming the field otherwise, with the shape bounded by
 * {@link Descriptions#list} (a caller may send thousands of dimensions).
 */
public final class WireTensors {

  private WireTensors() {}

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

  /** {@code count} ids from {@code offset} as a tensor of {@code shape}, in UINT16, INT32 or INT64. */
  public static Tensor ids(int[] ids, int offset, int count, DType dtype, long... shape) {
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

  /** 1-D ids in the compact dtype: UINT16 if every id fits, else INT32. */
  public static Tensor ids(int[] ids) {
    return ids(ids, 0, ids.length, compact(ids, 0, ids.length), ids.length);
  }

  /** A (B, T) token batch in the compact dtype, packed straight from its array. */
  public static Tensor ids(TokenBatch batch) {
    int[] a = batch.ids();
    return ids(a, 0, a.length, compact(a, 0, a.length), batch.batch(), batch.length());
  }

  private static DType compact(int[] ids, int offset, int count) {
    for (int i = offset; i < offset + count; i++) {
      if (ids[i] < 0 || ids[i] > 0xffff) {
        return DType.DTYPE_INT32;
      }
    }
    return DType.DTYPE_UINT16;
  }

  /** The ids of a UINT16, INT32 or INT64 tensor, flat; INT64 values outside int range become -1. */
  public static int[] decodeIds(Tensor tensor, String what) {
    int n = checkedCount(tensor, what);
    ByteBuffer buf = tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int[] out = new int[n];
    switch (tensor.getDtype()) {
      case DTYPE_UINT16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = buf.getShort() & 0xffff;
        }
      }
      case DTYPE_INT32 -> buf.asIntBuffer().get(out);
      case DTYPE_INT64 -> {
        for (int i = 0; i < n; i++) {
          long v = buf.getLong();
          // Out-of-range values map to -1 so the vocabulary check reports them.
          out[i] = v < Integer.MIN_VALUE || v > Integer.MAX_VALUE ? -1 : (int) v;
        }
      }
      default -> throw new IllegalArgumentException(
          what + " must be DTYPE_UINT16, DTYPE_INT32 or DTYPE_INT64, got " + tensor.getDtype());
    }
    return out;
  }

  /** A 2-D id tensor (B, T) with B, T &ge; 1 as a token batch (its one copy on this side). */
  public static TokenBatch decodeTokenBatch(Tensor tensor, String what) {
    if (tensor.getShapeCount() != 2 || tensor.getShape(0) < 1 || tensor.getShape(1) < 1) {
      throw new IllegalArgumentException(what + " must have shape (batch, time) with both >= 1, got "
          + Descriptions.list(tensor.getShapeList()));
    }
    int[] flat = decodeIds(tensor, what);
    return new TokenBatch((int) tensor.getShape(0), (int) tensor.getShape(1), flat);
  }

  /** {@code count} floats from {@code offset} as FLOAT32, FLOAT16 or BFLOAT16 (round to even). */
  public static Tensor values(float[] values, int offset, int count, DType dtype, long... shape) {
    ByteBuffer buf = allocate(count, dtype);
    TensorCodec.encode(FloatBuffer.wrap(values, offset, count), floatType(dtype, "values"), buf);
    return tensor(dtype, buf, shape);
  }

  /** 1-D FLOAT32 values. */
  public static Tensor values(float[] values) {
    return values(values, 0, values.length, DType.DTYPE_FLOAT32, values.length);
  }

  /** The values of a FLOAT32, FLOAT16 or BFLOAT16 tensor, widened exactly to float. */
  public static float[] decodeValues(Tensor tensor, String what) {
    Dtype dtype = floatType(tensor.getDtype(), what);
    float[] out = new float[checkedCount(tensor, what)];
    TensorCodec.decode(tensor.getData().asReadOnlyByteBuffer(), dtype, out, 0);
    return out;
  }

  /**
   * Decodes the values of a FLOAT32, FLOAT16 or BFLOAT16 tensor straight into {@code dst} from
   * {@code offset}, without an intermediate array; returns how many were written.
   *
   * @throws IllegalArgumentException for another dtype, a shape that does not match the data, or
   *     too little room in {@code dst}
   */
  public static int decodeValuesInto(Tensor tensor, String what, float[] dst, int offset) {
    Dtype dtype = floatType(tensor.getDtype(), what);
    int n = checkedCount(tensor, what);
    if (offset < 0 || (long) offset + n > dst.length) {
      throw new IllegalArgumentException(what + " holds " + n + " values but only "
          + Math.max(0, dst.length - offset) + " are expected");
    }
    TensorCodec.decode(tensor.getData().asReadOnlyByteBuffer(), dtype, dst, offset);
    return n;
  }

  /** The values of a tensor that must have one of {@code allowed} float dtypes. */
  public static float[] decodeValues(Tensor tensor, String what, List<DType> allowed) {
    if (!allowed.contains(tensor.getDtype())) {
      throw new IllegalArgumentException(what + " must be " + String.join(" or ",
          allowed.stream().map(DType::name).toList()) + ", got " + tensor.getDtype());
    }
    return decodeValues(tensor, what);
  }

  private static Dtype floatType(DType dtype, String what) {
    return switch (dtype) {
      case DTYPE_FLOAT32 -> Dtype.F32;
      case DTYPE_FLOAT16 -> Dtype.F16;
      case DTYPE_BFLOAT16 -> Dtype.BF16;
      default -> throw new IllegalArgumentException(
          what + " must be DTYPE_FLOAT32, DTYPE_FLOAT16 or DTYPE_BFLOAT16, got " + dtype);
    };
  }

  /** Element count from the shape, after checking it against the data length. */
  private static int checkedCount(Tensor tensor, String what) {
    long n = 1;
    for (long d : tensor.getShapeList()) {
      if (d < 0 || (d > 0 && n > Integer.MAX_VALUE / d)) {
        throw new IllegalArgumentException(what + " has an invalid shape "
            + Descriptions.list(tensor.getShapeList()));
      }
      n *= d;
    }
    long expected = n * size(tensor.getDtype());
    if (tensor.getData().size() != expected) {
      throw new IllegalArgumentException(what + " of shape " + Descriptions.list(tensor.getShapeList())
          + " and dtype " + tensor.getDtype() + " needs " + expected + " bytes of data, got "
          + tensor.getData().size());
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
